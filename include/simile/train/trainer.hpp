#pragma once
/// \file
/// `Trainer`: runs a recipe over a `ViewSource` (images, feature vectors, token sequences: anything
/// that makes the stacked views of batch b of epoch e) for a number of epochs, a step budget or a
/// wall-clock budget, with an explicit thread count and seed. Each step: the source makes the batch's
/// views, the schedule sets the learning rate, the recipe computes the loss, backward, the
/// NaN/inf guard (loss, gradients), the callbacks' `on_before_step` (clipping), the optimizer's step and
/// the guard on the parameters it wrote, the recipe's `after_step` (EMA targets), then the callbacks and
/// periodic checkpoints.
///
/// Checkpoints hold the model, the optimizer, the recipe's state, and the position (step, epoch, next
/// batch, the schedule's horizon). They are written atomically (a failed or killed write leaves the
/// previous checkpoint), never with a NaN or infinity in them (a diverged run stops with a NumericError
/// and leaves the last good checkpoint), and checked on loading before anything changes: every tensor
/// present with its shape, dtype and finite values, the position consistent. Since views depend only on (seed, epoch, sample, view) and the batch
/// order only on (seed, epoch), a run resumed from a checkpoint continues exactly where it stopped:
/// n steps in one go and k steps + resume + n - k steps give the same weights, bit for bit, at the
/// same thread count.
///
/// With a wall-clock budget the schedule needs a horizon before the run ends, and the pace that sets it
/// may change on the way (`train/horizon.hpp`): the trainer estimates how many steps fit the budget once
/// 25 steps and 5 % of it have passed (from the pace since step 6, past the warm-up), then again every
/// 10 % of the budget from the pace since the last estimate, and moves the horizon there (never beyond
/// the epochs asked for). A moved horizon does not restart the schedule: what remains of it is spread
/// over the steps that remain, so the learning rate stays continuous and reaches its end at the budget.
/// The run stops at the horizon or at the first step that crosses the budget, whichever comes first.
///
/// Data-parallel (`TrainerOptions::comm` with more than one rank, `train/data_parallel.hpp`): every rank
/// runs this loop on its shard of each batch; between backward and the optimizer's step the gradients are
/// summed over the ranks, and after each step the ranks agree on the clock (rank 0's) and on stopping, so
/// that the budget's horizon and the end are the same everywhere. docs/DISTRIBUTED.md has the rest.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/view_source.hpp"
#include "simile/ops/conv_algorithm.hpp"
#include "simile/ops/precision.hpp"
#include "simile/optim/optimizer.hpp"
#include "simile/optim/schedule.hpp"
#include "simile/train/callbacks.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/data_parallel.hpp"
#include "simile/train/horizon.hpp"
#include "simile/train/recipe.hpp"

namespace simile {

/// How a `Trainer` runs: its length (epochs, steps, a time budget), threads, the learning-rate factor,
/// checkpoints, the guards, data parallelism.
struct TrainerOptions {
  std::int64_t epochs = 1;      ///< epochs to train (the upper bound when a budget is set)
  std::int64_t max_steps = 0;   ///< stop after this many steps in all (0: no limit)
  double budget_seconds = 0;    ///< stop at the first step that crosses this wall-clock time (0: none)
  int threads = 0;              ///< thread count for the run (0: the machine's cores)
  /// The precision of convolutions during `fit` (`ops/precision.hpp`): bf16 computes them in bfloat16
  /// with float accumulation where `bf16_available()`; weights, optimizer and checkpoints stay T.
  Precision precision = Precision::f32;
  /// The algorithm of the oneDNN backend's convolutions during `fit` (`ops/conv_algorithm.hpp`).
  ConvAlgorithm conv_algorithm = ConvAlgorithm::automatic;
  /// The learning rate of each group is its base lr x a factor: 1 at every step, or with `cosine_lr` a
  /// linear warmup from 0 then a cosine to 0 at the run's horizon (`optim::WarmupCosineSchedule` read
  /// through the run's `ScheduleClock`, so a budget that moves the horizon squeezes or stretches it).
  bool cosine_lr = false;
  std::int64_t warmup_epochs = 0;  ///< with cosine_lr: warmup over total * warmup_epochs / epochs steps
  std::string checkpoint_path;       ///< where checkpoints go (empty: none)
  std::int64_t checkpoint_every = 0; ///< steps between checkpoints (0: only at the end)
  bool checkpoint_each_epoch = false;  ///< also a checkpoint at the end of every epoch
  bool check_gradients = true;       ///< NaN/inf guard on every gradient, not only on the loss
  std::map<std::string, std::string> metadata;  ///< extra checkpoint metadata (architecture, options)
  bool profile = false;  ///< time each op and phase from the second step on (see `Trainer::profile()`)
  /// When set, checked after every step: once it holds true the run stops (stop reason "interrupted"),
  /// writing its checkpoint as at any other end. A signal handler may set it (a lock-free atomic).
  const std::atomic<bool>* stop_requested = nullptr;
  /// Data-parallel training (`train/data_parallel.hpp`): with a communicator of more than one rank,
  /// each rank trains on its shard of every batch (the source's batch size is the global batch B, which
  /// the ranks must divide), the recipe computes the global batch's loss, gradients are summed over
  /// the ranks, and the state starts from rank 0's. Only rank 0 writes checkpoints; every rank reads
  /// them (a path all ranks see), and a checkpoint resumes on any number of ranks. Every rank must run
  /// the same program with the same options. Null or one rank: one process.
  std::shared_ptr<Communicator> comm;
  /// With more than one rank: batch norms over the global batch (N ranks learn what one process with
  /// the global batch learns); off, each rank normalizes by its own shard.
  bool sync_batch_norm = true;
  /// Seconds on a monotonic clock, read for the budget, the pace and the reports (null: the steady
  /// clock). Tests of budget runs pass a clock they advance themselves.
  std::function<double()> clock;
};

/// What `Trainer::fit` returns: how far training got, how fast, and why it stopped.
struct TrainResult {
  std::int64_t steps = 0;           ///< steps done in all (resumed runs included)
  std::int64_t steps_this_run = 0;  ///< steps done by this `fit()` call
  std::int64_t epochs_completed = 0;  ///< epochs finished by this `fit()` call
  double seconds = 0;               ///< wall-clock time of this run
  double samples_per_second = 0;    ///< samples per second in this run (the views of a sample count once)
  double final_loss = 0;            ///< mean loss over the last epoch's steps (or the last 50 steps)
  std::string stop_reason;          ///< "epochs", "max_steps", "budget", "callback" or "interrupted"
  int world_size = 1;               ///< ranks that trained (samples_per_second counts all of them)
  double communication_seconds = 0; ///< time this rank spent in collectives (waiting included)
  std::uint64_t communication_bytes = 0;  ///< bytes this rank sent and received
};

namespace detail {
/// The earliest op (by creation) in `loss`'s recorded graph whose output holds a NaN or infinity.
template <Real T>
std::string first_non_finite(const Var<T>& loss) {
  std::vector<Node<T>*> stack{loss.node()}, all;
  std::unordered_set<Node<T>*> seen{loss.node()};
  while (!stack.empty()) {
    Node<T>* n = stack.back();
    stack.pop_back();
    all.push_back(n);
    for (auto& in : n->inputs)
      if (seen.insert(in.get()).second) stack.push_back(in.get());
  }
  auto finite = [](const Node<T>* n) { return n->value.array().isFinite().all(); };
  Node<T>* first = nullptr;  // the earliest op, not leaf, whose output is non-finite
  for (Node<T>* n : all)
    if (!n->is_leaf() && !finite(n) && (!first || n->id < first->id)) first = n;
  if (!first) return "no recorded op (the loss itself)";
  std::string s = simile::detail::str("op '", first->op, "' with output shape ", first->value.shape());
  for (std::size_t i = 0; i < first->inputs.size(); ++i)
    if (!finite(first->inputs[i].get()))
      s += simile::detail::str(" (its input ", i, ", ", first->inputs[i]->is_leaf() ? "a leaf" : first->inputs[i]->op,
                               ", already held a NaN or infinity)");
  return s;
}
}  // namespace detail

/// The training loop (see the file comment): one `fit()` trains a recipe on a view source with an
/// optimizer until the epochs, the step limit or the budget run out, a callback stops it, or an
/// interruption is requested; it can resume from its checkpoint bit for bit.
template <Real T>
class Trainer {
 public:
  /// Trains `recipe` on the batches of `source` with `optimizer`; all three must outlive the trainer.
  /// The source must make the views the recipe needs, and labels if the recipe needs them.
  Trainer(Recipe<T>& recipe, ViewSource& source, optim::Optimizer<T>& optimizer, TrainerOptions options = {})
      : recipe_(recipe), source_(source), opt_(optimizer), options_(std::move(options)),
        base_lrs_(optimizer.num_groups()) {
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) base_lrs_[g] = optimizer.lr(g);
    if (!options_.clock)
      options_.clock = [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
      };
    check(options_.epochs >= 1, "Trainer: epochs ", options_.epochs, " must be at least 1");
    check(options_.max_steps >= 0 && options_.budget_seconds >= 0 && options_.checkpoint_every >= 0 &&
              options_.threads >= 0 && options_.warmup_epochs >= 0,
          "Trainer: max_steps ", options_.max_steps, ", budget_seconds ", options_.budget_seconds,
          ", checkpoint_every ", options_.checkpoint_every, ", threads ", options_.threads, " and warmup_epochs ",
          options_.warmup_epochs, " must be >= 0");
    check(options_.precision != Precision::bf16 || bf16_available(), "Trainer: precision bf16 is not available: ",
          bf16_unavailable_reason());
    check(source_.num_views() == recipe_.num_views(), "Trainer: the recipe ", recipe_.name(), " needs ",
          recipe_.num_views(), " views, the view source makes ", source_.num_views());
    check(!recipe_.needs_labels() || source_.has_labels(), "Trainer: the recipe ", recipe_.name(),
          " needs labels and the data has none");
    if (is_distributed(options_.comm.get())) {
      comm_ = std::make_shared<MeteredCommunicator>(options_.comm);
      recipe_.distribute(comm_, options_.sync_batch_norm);
      source_.set_shard(comm_->rank(), comm_->size());
    }
  }

  /// Adds `cb` after the callbacks already added (they run in that order).
  void add_callback(std::shared_ptr<Callback<T>> cb) { callbacks_.push_back(std::move(cb)); }

  /// Steps done in all (restored by `load_checkpoint`).
  std::int64_t step() const { return step_; }
  /// Time per op and phase, when `TrainerOptions::profile` is on, and the steps it covers.
  const ProfileTable& profile() const { return profile_; }
  /// The steps `profile()` covers (every step but the first of each run, when profiling).
  std::int64_t profiled_steps() const { return profiled_steps_; }
  /// The 0-based epoch of the next batch: after `fit()`, where a resumed run continues (`options().epochs`
  /// when every epoch ran).
  std::int64_t epoch() const { return epoch_; }
  /// The options the trainer was built with.
  const TrainerOptions& options() const { return options_; }

  /// Trains until the epochs, the step limit or the budget run out, or a callback says stop.
  TrainResult fit();

  /// Writes the model, optimizer, recipe state and position to `path` (atomically). A NaN or infinity
  /// in any of them is a NumericError, and `path` is then left as it was. Data-parallel: rank 0 writes,
  /// the other ranks only check.
  void save_checkpoint(const std::string& path) const;

  /// Restores what `save_checkpoint` wrote. The recipe, optimizer and data must be set up as in the
  /// saved run (same architecture, parameter groups, seed); a mismatch, a missing or non-finite tensor
  /// or an inconsistent position is an Error naming `path`, and changes nothing in the model.
  void load_checkpoint(const std::string& path);
  /// The same from a checkpoint already read from `path` (which then only names it in errors), for a
  /// caller that looked at its metadata first.
  void load_checkpoint(const TensorDict& d, const std::string& path);

 private:
  /// The state of one `fit()` call.
  struct Run {
    const std::function<double()>& clock;
    const double start = clock();
    std::int64_t first_step = 0, samples = 0;
    Index per_epoch = 0;
    std::vector<Var<T>> params;
    std::vector<std::pair<std::string, Var<T>>> named;
    std::optional<Profiler> profiler;
    std::optional<BudgetPace> pace;  ///< a budget run's estimates of its horizon
    StepInfo last;                   ///< the last step
    std::vector<double> recent;  ///< the last 50 losses
    double epoch_loss = 0, epoch_start = 0;
    double comm_seconds = 0;  ///< the communicator's counters when the run began
    std::uint64_t comm_bytes = 0;
    Index epoch_steps = 0;
    TrainResult result;

    double elapsed() const { return clock() - start; }
  };

  void begin_run(Run& run);

  void begin_epoch(Run& run);

  /// One optimizer step on batch `batch_`, then its report, the budget's horizon, a checkpoint when one
  /// is due, and whether to stop. Leaves `batch_` at the next batch.
  void train_step(Run& run);

  /// Reports a completed epoch to the callbacks. False when the run stopped inside the epoch.
  bool end_epoch(Run& run);

  TrainResult end_run(Run& run);

  /// Why the run stops, or "" to go on. Before a step only the horizon counts (reached: the step limit
  /// or the budget's horizon); after one, a callback's request, the step limit and the budget.
  std::string stop_reason(bool callback, double seconds, bool at_horizon) const;

  /// Steps planned for `per_epoch` batches an epoch: the epochs asked for, within the step limit.
  std::int64_t planned_steps(Index per_epoch) const;

  /// Lays the schedules out over `total` steps, the run's horizon.
  void set_horizon(std::int64_t total);
  /// The learning rates of step `step_` (the base lrs times the schedule at the step's position).
  void apply_lr();

  /// With a wall-clock budget, moves the horizon where `BudgetPace` estimates the budget ends.
  void move_budget_horizon(Run& run, StepInfo& info);

  /// The position in checkpoints: step, epoch, next batch, the horizon and the data's seed.
  struct Position {
    std::int64_t step, epoch, batch, total_steps;
    std::optional<ScheduleClock> clock;  ///< when the checkpoint records where the horizon moved
  };
  void save_position(TensorDict& d) const;
  /// Reads and checks the position (counts >= 0, epochs and batches consistent with the steps and
  /// the data); `apply_position` then moves the trainer there.
  Position read_position(const TensorDict& d) const;
  void apply_position(const Position& p);

  void check_gradients(const std::vector<std::pair<std::string, Var<T>>>& named) const;
  /// After the optimizer's step: a parameter it made non-finite (a learning rate far too high) stops
  /// the run before anything uses or saves it.
  void check_parameters(const std::vector<std::pair<std::string, Var<T>>>& named) const;

  /// Data-parallel: the model, optimizer and recipe state from rank 0 to every rank.
  void broadcast_state();
  /// Data-parallel: every rank takes the same decisions (the budget's horizon, when to stop): rank 0's
  /// clock for `seconds`; each flag set when it is set on any rank.
  void agree_on_clock(double& seconds) const;
  void agree_on_stop(bool& stop, bool& interrupt) const;

  Recipe<T>& recipe_;
  ViewSource& source_;
  std::shared_ptr<MeteredCommunicator> comm_;  ///< data-parallel only
  optim::Optimizer<T>& opt_;
  TrainerOptions options_;
  std::vector<double> base_lrs_;  ///< the groups' learning rates when the trainer was made
  ScheduleClock clock_{0, 0, 0, 0.0};  ///< the horizon and the schedules' position (total 0: not laid out)
  std::optional<optim::WarmupCosineSchedule> cosine_;  ///< with cosine_lr, over clock_.schedule_total
  std::vector<std::shared_ptr<Callback<T>>> callbacks_;
  std::int64_t step_ = 0, epoch_ = 0, profiled_steps_ = 0;
  ProfileTable profile_;
  Index batch_ = 0;
  std::optional<GradientAllReduce<T>> reduce_;
};

template <Real T>
TrainResult Trainer<T>::fit() {
  ThreadScope threads(options_.threads > 0 ? options_.threads : hardware_threads());
  PrecisionScope precision(options_.precision);
  ConvAlgorithmScope algorithm(options_.conv_algorithm);
  Run run{options_.clock};
  begin_run(run);
  for (; epoch_ < options_.epochs && run.result.stop_reason.empty(); ++epoch_, batch_ = 0) {
    begin_epoch(run);
    while (batch_ < run.per_epoch && run.result.stop_reason.empty()) {
      if (step_ >= clock_.total) run.result.stop_reason = stop_reason(false, 0, true);
      else train_step(run);
    }
    if (!end_epoch(run)) break;  // stopped inside the epoch: epoch_ and batch_ are where to resume
  }
  return end_run(run);
}

template <Real T>
void Trainer<T>::save_checkpoint(const std::string& path) const {
  TensorDict d;
  save_module(d, recipe_.model());
  save_optimizer(d, opt_);
  save_position(d);
  recipe_.save_state(d, "train.recipe.");
  save_random_streams(d, recipe_.model());
  for (const auto& [name, any] : d.items())
    if (const auto* t = std::get_if<Tensor<T>>(&any); t && detail::first_non_finite(*t) >= 0)
      throw NumericError(simile::detail::str("Trainer::save_checkpoint: after step ", step_, " '", name,
                                             "' holds a NaN or infinity (the run diverged); '", path,
                                             "' was left as it was"));
  if (comm_ && comm_->rank() != 0) return;  // the ranks hold the same state: rank 0 writes it
  d.metadata = options_.metadata;
  d.metadata["recipe"] = recipe_.name();
  d.metadata["seed"] = std::to_string(source_.seed());
  d.metadata["simile_version"] = simile_version;
  save_safetensors(path, d);
}

template <Real T>
void Trainer<T>::load_checkpoint(const std::string& path) {
  load_checkpoint(load_safetensors(path), path);
}

template <Real T>
void Trainer<T>::load_checkpoint(const TensorDict& d, const std::string& path) {
  // A file that fails a check part-way (the model loaded, the optimizer's state refused) must change
  // nothing: the state before is kept aside and put back.
  nn::NamedTensors<T> model_before = recipe_.model().state_dict();
  for (auto& [name, t] : model_before) t = t.clone();
  const optim::OptimizerState<T> opt_before = opt_.state();
  TensorDict recipe_before;
  recipe_.save_state(recipe_before, "");
  save_random_streams(recipe_before, recipe_.model());
  try {
    auto meta = d.metadata.find("recipe");
    check<IoError>(meta != d.metadata.end() && meta->second == recipe_.name(), "was written by recipe '",
                   meta == d.metadata.end() ? std::string("?") : meta->second, "', this trainer runs '",
                   recipe_.name(), "'");
    auto seed = d.get<std::int64_t>("train.seed").item();
    check(static_cast<std::uint64_t>(seed) == source_.seed(), "was trained with seed ", seed,
          ", the view source has seed ", source_.seed());
    const Position pos = read_position(d);
    load_module(d, recipe_.model());
    load_optimizer(d, opt_);
    recipe_.load_state(d, "train.recipe.");
    load_random_streams(d, recipe_.model());
    apply_position(pos);
  } catch (const Error&) {
    recipe_.model().load_state_dict(model_before);
    opt_.load_state(opt_before);
    recipe_.load_state(recipe_before, "");
    load_random_streams(recipe_before, recipe_.model());
    simile::detail::rethrow_with_context("Trainer::load_checkpoint: '" + path + "': ");
  }
}

template <Real T>
void Trainer<T>::begin_run(Run& run) {
  source_.set_epoch(static_cast<std::uint64_t>(epoch_));
  run.per_epoch = source_.num_batches();
  check(run.per_epoch > 0, "Trainer::fit: the view source yields no batch (", source_.describe(), ")");
  if (clock_.total == 0) set_horizon(planned_steps(run.per_epoch));
  run.first_step = step_;
  if (options_.budget_seconds > 0) run.pace.emplace(options_.budget_seconds, step_);
  for (auto& cb : callbacks_) cb->on_train_begin(clock_.total);
  recipe_.model().train();
  run.params = recipe_.model().parameters();
  run.named = recipe_.model().named_parameters();
  if (comm_) broadcast_state();
  run.comm_seconds = comm_ ? comm_->seconds() : 0;
  run.comm_bytes = comm_ ? comm_->bytes() : 0;
}

template <Real T>
void Trainer<T>::broadcast_state() {
  TensorDict d;
  save_module(d, recipe_.model());
  save_optimizer(d, opt_);
  recipe_.save_state(d, "train.recipe.");
  broadcast_tensors(*comm_, d, "Trainer::fit");
  load_module(d, recipe_.model());
  load_optimizer(d, opt_);
  recipe_.load_state(d, "train.recipe.");
}

template <Real T>
void Trainer<T>::agree_on_clock(double& seconds) const {
  if (comm_) seconds = all_reduce_sum(*comm_, comm_->rank() == 0 ? seconds : 0.0);
}

template <Real T>
void Trainer<T>::agree_on_stop(bool& stop, bool& interrupt) const {
  if (!comm_) return;
  std::int32_t v[2] = {stop ? 1 : 0, interrupt ? 1 : 0};
  all_reduce_sum(*comm_, std::span<std::int32_t>(v));
  stop = v[0] > 0;
  interrupt = v[1] > 0;
}

template <Real T>
void Trainer<T>::begin_epoch(Run& run) {
  source_.set_epoch(static_cast<std::uint64_t>(epoch_));
  for (auto& cb : callbacks_) cb->on_epoch_begin(epoch_);
  run.epoch_loss = 0;
  run.epoch_steps = 0;
  run.epoch_start = run.elapsed();
}

template <Real T>
void Trainer<T>::train_step(Run& run) {
  if (options_.profile && !run.profiler && step_ > run.first_step) run.profiler.emplace(profile_);
  ViewBatch batch;
  {
    ProfileScope scope("views (augmentation)");
    batch = source_.batch(batch_);
  }
  apply_lr();
  Var<T> loss = recipe_.loss(batch.views.template to<T>(), batch.labels);
  const double value = static_cast<double>(loss.item());
  if (!std::isfinite(value))
    throw NumericError(simile::detail::str("Trainer: step ", step_ + 1, " (epoch ", epoch_ + 1, ", batch ",
                                           batch_ + 1, "): the ", recipe_.name(), " loss is ", value,
                                           "; the first non-finite value came from ", detail::first_non_finite(loss)));
  opt_.zero_grad();
  loss.backward();
  if (comm_) {
    ProfileScope scope("gradient all-reduce");
    if (!reduce_) reduce_.emplace(*comm_);
    (*reduce_)(run.params);
  }
  {
    ProfileScope scope("optimizer step and checks");
    if (options_.check_gradients) check_gradients(run.named);
    for (auto& cb : callbacks_) cb->on_before_step(run.params);
    opt_.step();
    if (options_.check_gradients) check_parameters(run.named);
  }
  {
    ProfileScope scope("recipe after_step (EMA, queue)");
    // On the schedule's own scale, so that BYOL's momentum follows a moved horizon as the lr does.
    recipe_.after_step(std::llround(clock_.position(step_)), clock_.schedule_total);
  }
  ++step_;
  if (run.profiler) ++profiled_steps_;
  // Every rank's shard: the global batch (equal shards).
  run.samples += static_cast<std::int64_t>(batch.indices.size()) * (comm_ ? comm_->size() : 1);
  run.epoch_loss += value;
  ++run.epoch_steps;
  run.recent.push_back(value);
  if (run.recent.size() > 50) run.recent.erase(run.recent.begin());

  StepInfo info{step_, clock_.total, epoch_, batch_, run.per_epoch, value, opt_.lr(0), run.elapsed(), 0, run.samples};
  agree_on_clock(info.seconds);
  info.samples_per_second = info.seconds > 0 ? double(run.samples) / info.seconds : 0;
  move_budget_horizon(run, info);
  bool stop = false;
  for (auto& cb : callbacks_) stop = cb->on_step_end(info) || stop;
  bool interrupt = options_.stop_requested && options_.stop_requested->load();
  agree_on_stop(stop, interrupt);
  ++batch_;  // from here on, the position to resume from
  if (!options_.checkpoint_path.empty() && options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0)
    save_checkpoint(options_.checkpoint_path);
  run.result.stop_reason = stop_reason(stop, info.seconds, false);
  if (run.result.stop_reason.empty() && interrupt) run.result.stop_reason = "interrupted";
  run.last = info;
}

template <Real T>
bool Trainer<T>::end_epoch(Run& run) {
  if (batch_ < run.per_epoch) return run.result.stop_reason.empty();
  ++run.result.epochs_completed;
  EpochInfo e{epoch_, run.epoch_steps ? run.epoch_loss / double(run.epoch_steps) : 0.0, step_,
              run.elapsed() - run.epoch_start};
  bool stop = false;
  for (auto& cb : callbacks_) stop = cb->on_epoch_end(e) || stop;
  if (stop && run.result.stop_reason.empty()) run.result.stop_reason = "callback";
  // After the callbacks, so that what they record of the epoch is never behind the checkpoint.
  if (!options_.checkpoint_path.empty() && options_.checkpoint_each_epoch) save_checkpoint(options_.checkpoint_path);
  if (run.epoch_steps > 0) run.result.final_loss = e.mean_loss;
  return true;
}

template <Real T>
TrainResult Trainer<T>::end_run(Run& run) {
  TrainResult& r = run.result;
  if (r.stop_reason.empty()) r.stop_reason = "epochs";
  r.steps = step_;
  r.steps_this_run = step_ - run.first_step;
  r.seconds = run.elapsed();
  r.samples_per_second = r.seconds > 0 ? double(run.samples) / r.seconds : 0;
  if (comm_) {
    r.world_size = comm_->size();
    r.communication_seconds = comm_->seconds() - run.comm_seconds;
    r.communication_bytes = comm_->bytes() - run.comm_bytes;
  }
  if (r.epochs_completed == 0 && !run.recent.empty()) {
    double s = 0;
    for (double v : run.recent) s += v;
    r.final_loss = s / double(run.recent.size());
  }
  if (!options_.checkpoint_path.empty()) save_checkpoint(options_.checkpoint_path);
  for (auto& cb : callbacks_) cb->on_train_end(run.last);
  return r;
}

template <Real T>
std::string Trainer<T>::stop_reason(bool callback, double seconds, bool at_horizon) const {
  const bool step_limit = options_.max_steps > 0 && step_ >= options_.max_steps;
  if (at_horizon) return step_limit ? "max_steps" : "budget";
  if (callback) return "callback";
  if (step_limit) return "max_steps";
  if (options_.budget_seconds > 0 && seconds >= options_.budget_seconds) return "budget";
  return "";
}

template <Real T>
std::int64_t Trainer<T>::planned_steps(Index per_epoch) const {
  std::int64_t planned = options_.epochs * per_epoch;
  return options_.max_steps > 0 ? std::min(planned, options_.max_steps) : planned;
}

template <Real T>
void Trainer<T>::set_horizon(std::int64_t total) {
  clock_ = ScheduleClock::fixed(std::max<std::int64_t>(total, 1));
  cosine_.reset();
  if (!options_.cosine_lr) return;
  const std::int64_t n = clock_.schedule_total;
  std::int64_t warmup = std::min(n * options_.warmup_epochs / options_.epochs, n - 1);
  cosine_ = optim::WarmupCosineSchedule{.warmup_steps = std::max<std::int64_t>(warmup, 0), .total_steps = n,
                                        .peak = 1.0, .start = 0.0, .final_value = 0.0};
}

template <Real T>
void Trainer<T>::apply_lr() {
  optim::scale_lrs(opt_, base_lrs_, cosine_ ? cosine_->at(clock_.position(step_)) : 1.0);
}

template <Real T>
void Trainer<T>::move_budget_horizon(Run& run, StepInfo& info) {
  if (!run.pace) return;
  std::optional<std::int64_t> fit = run.pace->observe(step_, info.seconds);
  if (!fit) return;
  const std::int64_t horizon = std::max(step_ + 1, std::min(planned_steps(run.per_epoch), *fit));
  if (horizon != clock_.total) clock_.retarget(step_, horizon);
  info.total_steps = clock_.total;
}

template <Real T>
void Trainer<T>::save_position(TensorDict& d) const {
  d.set("train.step", Tensor<std::int64_t>::scalar(step_));
  d.set("train.epoch", Tensor<std::int64_t>::scalar(epoch_));
  d.set("train.batch", Tensor<std::int64_t>::scalar(batch_));
  d.set("train.total_steps", Tensor<std::int64_t>::scalar(clock_.total));
  d.set("train.schedule_total", Tensor<std::int64_t>::scalar(clock_.schedule_total));
  d.set("train.schedule_anchor_step", Tensor<std::int64_t>::scalar(clock_.anchor_step));
  d.set("train.schedule_anchor_position", Tensor<double>::scalar(clock_.anchor_position));
  d.set("train.seed", Tensor<std::int64_t>::scalar(static_cast<std::int64_t>(source_.seed())));
}

template <Real T>
typename Trainer<T>::Position Trainer<T>::read_position(const TensorDict& d) const {
  Position p{d.get<std::int64_t>("train.step").item(), d.get<std::int64_t>("train.epoch").item(),
             d.get<std::int64_t>("train.batch").item(), d.get<std::int64_t>("train.total_steps").item()};
  const Index per_epoch = source_.num_batches();
  // Every finished epoch took at least one step; the next batch lies within an epoch of this data.
  check<IoError>(p.step >= 0 && p.epoch >= 0 && p.batch >= 0 && p.epoch <= p.step && p.batch <= per_epoch &&
                     p.step <= p.total_steps && p.total_steps <= (std::int64_t{1} << 50),
                 "inconsistent position: step ", p.step, ", epoch ", p.epoch, ", batch ", p.batch, ", total_steps ",
                 p.total_steps, " (with ", per_epoch, " batches an epoch)");
  // Where a moved horizon left the schedule (older checkpoints do not say: it never moved).
  if (d.contains("train.schedule_total")) {
    ScheduleClock c{p.total_steps, d.get<std::int64_t>("train.schedule_total").item(),
                    d.get<std::int64_t>("train.schedule_anchor_step").item(),
                    d.get<double>("train.schedule_anchor_position").item()};
    check<IoError>(c.valid() && c.anchor_step <= p.step && c.schedule_total <= (std::int64_t{1} << 50),
                   "inconsistent schedule: total_steps ", c.total, ", schedule_total ", c.schedule_total,
                   ", anchor at step ", c.anchor_step, " (of ", p.step, ") and position ", c.anchor_position);
    p.clock = c;
  }
  return p;
}

template <Real T>
void Trainer<T>::apply_position(const Position& p) {
  step_ = p.step;
  epoch_ = p.epoch;
  batch_ = static_cast<Index>(p.batch);
  // Resuming toward the same horizon keeps the schedule where it was; asking for more epochs spreads what
  // remains of it over the longer run (a checkpoint without the schedule's clock: lays it out again).
  source_.set_epoch(static_cast<std::uint64_t>(epoch_));
  const std::int64_t total = options_.budget_seconds > 0
                                 ? p.total_steps
                                 : std::max(p.total_steps, planned_steps(source_.num_batches()));
  set_horizon(p.clock ? p.clock->schedule_total : total);
  if (p.clock) {
    clock_ = *p.clock;
    if (total != clock_.total) clock_.retarget(step_, total);
  }
  if (batch_ >= source_.num_batches()) ++epoch_, batch_ = 0;
}

template <Real T>
void Trainer<T>::check_gradients(const std::vector<std::pair<std::string, Var<T>>>& named) const {
  for (const auto& [name, p] : named) {
    if (!p.has_grad()) continue;
    if (!p.grad().array().isFinite().all())
      throw NumericError(simile::detail::str("Trainer: step ", step_ + 1, " (epoch ", epoch_ + 1, ", batch ",
                                             batch_ + 1, "): the gradient of ", name,
                                             " holds a NaN or infinity (the loss was finite)"));
  }
}

template <Real T>
void Trainer<T>::check_parameters(const std::vector<std::pair<std::string, Var<T>>>& named) const {
  for (const auto& [name, p] : named)
    if (!p.value().array().isFinite().all())
      throw NumericError(simile::detail::str("Trainer: step ", step_ + 1, " (epoch ", epoch_ + 1, ", batch ",
                                             batch_ + 1, "): the optimizer's step left a NaN or infinity in ", name,
                                             " (learning rate ", opt_.lr(0), ": too high?)"));
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_TRAINER(P, T) \
  P template class Trainer<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_TRAINER)

}  // namespace simile
