#pragma once
/// \file
/// `Trainer`: runs a recipe over a loader of images for a number of epochs, a step budget or a
/// wall-clock budget, with an explicit thread count and seed. Each step: the loader makes the batch's
/// views, the schedule sets the learning rate, the recipe computes the loss, backward, the NaN/inf
/// guard, the callbacks' `on_before_step` (clipping), the optimizer's step, the recipe's `after_step`
/// (EMA targets), then the callbacks and periodic checkpoints.
///
/// Checkpoints hold the model, the optimizer, the recipe's state, and the position (step, epoch, next
/// batch, the schedule's horizon). Since views depend only on (seed, epoch, sample, view) and the batch
/// order only on (seed, epoch), a run resumed from a checkpoint continues exactly where it stopped:
/// n steps in one go and k steps + resume + n - k steps give the same weights, bit for bit, at the
/// same thread count.
///
/// With a wall-clock budget the schedule needs a horizon before the run ends: the trainer measures the
/// pace from step 6 (past the warm-up) until at least 20 more steps and 5 % of the budget have passed,
/// estimates how many steps fit the budget and fixes the horizon to that (never beyond the epochs asked
/// for); the run stops at that horizon or at the first step that crosses the budget, whichever comes
/// first. (Measuring over 5 % of the budget rather than a fixed 20 steps keeps a slow start, such as a
/// burst of load on a shared machine, from cutting a run to half its budget.)

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

#include "simile/augment/multiview.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/loader.hpp"
#include "simile/optim/optimizer.hpp"
#include "simile/train/callbacks.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/recipe.hpp"

namespace simile {

struct TrainerOptions {
  std::int64_t epochs = 1;      ///< epochs to train (the upper bound when a budget is set)
  std::int64_t max_steps = 0;   ///< stop after this many steps in all (0: no limit)
  double budget_seconds = 0;    ///< stop at the first step that crosses this wall-clock time (0: none)
  int threads = 0;              ///< thread count for the run (0: the machine's cores)
  /// Learning-rate factor at `step` of `total` (each group's lr = its base lr x factor); empty: constant.
  std::function<double(std::int64_t step, std::int64_t total)> lr_schedule;
  std::string checkpoint_path;       ///< where checkpoints go (empty: none)
  std::int64_t checkpoint_every = 0; ///< steps between checkpoints (0: only at the end)
  bool check_gradients = true;       ///< NaN/inf guard on every gradient, not only on the loss
  std::map<std::string, std::string> metadata;  ///< extra checkpoint metadata (architecture, options)
  bool profile = false;  ///< time each op and phase from the second step on (see `Trainer::profile()`)
};

struct TrainResult {
  std::int64_t steps = 0;           ///< steps done in all (resumed runs included)
  std::int64_t steps_this_run = 0;
  std::int64_t epochs_completed = 0;
  double seconds = 0;               ///< wall-clock time of this run
  double samples_per_second = 0;    ///< images per second in this run (two views of an image count once)
  double final_loss = 0;            ///< mean loss over the last epoch's steps (or the last 50 steps)
  std::string stop_reason;          ///< "epochs", "max_steps", "budget" or "callback"
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

template <Real T>
class Trainer {
 public:
  Trainer(Recipe<T>& recipe, Loader<ImageDataset>& loader, MultiView views, optim::Optimizer<T>& optimizer,
          TrainerOptions options = {})
      : recipe_(recipe), loader_(loader), views_(std::move(views)), opt_(optimizer), options_(std::move(options)) {
    check(options_.epochs >= 1, "Trainer: epochs ", options_.epochs, " must be at least 1");
    check(options_.max_steps >= 0 && options_.budget_seconds >= 0 && options_.checkpoint_every >= 0 &&
              options_.threads >= 0,
          "Trainer: max_steps ", options_.max_steps, ", budget_seconds ", options_.budget_seconds,
          ", checkpoint_every ", options_.checkpoint_every, " and threads ", options_.threads, " must be >= 0");
    check(views_.count() == recipe_.num_views(), "Trainer: the recipe ", recipe_.name(), " needs ",
          recipe_.num_views(), " views, the pipeline makes ", views_.count());
    check(!recipe_.needs_labels() || loader_.dataset().has_labels(), "Trainer: the recipe ", recipe_.name(),
          " needs labels and the dataset has none");
    for (std::size_t g = 0; g < opt_.num_groups(); ++g) base_lrs_.push_back(opt_.lr(g));
  }

  void add_callback(std::shared_ptr<Callback<T>> cb) { callbacks_.push_back(std::move(cb)); }

  std::int64_t step() const { return step_; }
  /// Time per op and phase, when `TrainerOptions::profile` is on, and the steps it covers.
  const ProfileTable& profile() const { return profile_; }
  std::int64_t profiled_steps() const { return profiled_steps_; }
  std::int64_t epoch() const { return epoch_; }
  const TrainerOptions& options() const { return options_; }

  /// Trains until the epochs, the step limit or the budget run out, or a callback says stop.
  TrainResult fit() {
    ThreadScope threads(options_.threads > 0 ? options_.threads : hardware_threads());
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
    loader_.set_epoch(static_cast<std::uint64_t>(epoch_));
    const Index per_epoch = loader_.num_batches();
    check(per_epoch > 0, "Trainer::fit: the loader yields no batch (dataset of ", loader_.dataset().size(),
          " samples, batch size ", loader_.options().batch_size, ")");
    if (total_steps_ == 0) {
      total_steps_ = options_.epochs * per_epoch;
      if (options_.max_steps > 0) total_steps_ = std::min(total_steps_, options_.max_steps);
    }
    for (auto& cb : callbacks_) cb->on_train_begin(total_steps_);
    recipe_.model().train();
    const std::vector<Var<T>> params = recipe_.model().parameters();
    const auto named = recipe_.model().named_parameters();

    TrainResult r;
    std::int64_t samples = 0;
    const std::int64_t first_step = step_;
    bool horizon_fixed = options_.budget_seconds <= 0;
    std::vector<double> recent;
    StepInfo info;
    std::optional<Profiler> profiler;
    StepInfo pace_start;
    for (; epoch_ < options_.epochs && r.stop_reason.empty(); ++epoch_, batch_ = 0) {
      loader_.set_epoch(static_cast<std::uint64_t>(epoch_));
      for (auto& cb : callbacks_) cb->on_epoch_begin(epoch_);
      double epoch_loss = 0;
      Index epoch_steps = 0;
      const double epoch_start = elapsed();
      for (; batch_ < per_epoch; ++batch_) {
        if (step_ >= total_steps_) {
          r.stop_reason = options_.max_steps > 0 && step_ >= options_.max_steps ? "max_steps" : "budget";
          break;
        }
        if (options_.profile && !profiler && step_ > first_step) profiler.emplace(profile_);
        ViewBatch vb;
        {
          ProfileScope scope("views (augmentation)");
          vb = loader_.views(batch_, views_);
        }
        double lr_factor = options_.lr_schedule ? options_.lr_schedule(step_, total_steps_) : 1.0;
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) opt_.set_lr(g, base_lrs_[g] * lr_factor);

        std::vector<Tensor<T>> views;
        for (auto& v : vb.views) {
          if constexpr (std::is_same_v<T, float>) views.push_back(v);
          else views.push_back(v.template to<T>());
        }
        Var<T> loss = recipe_.loss(views, vb.labels);
        const double value = static_cast<double>(loss.item());
        if (!std::isfinite(value))
          throw NumericError(simile::detail::str("Trainer: step ", step_ + 1, " (epoch ", epoch_ + 1, ", batch ",
                                                 batch_ + 1, "): the ", recipe_.name(), " loss is ", value,
                                                 "; the first non-finite value came from ", detail::first_non_finite(loss)));
        opt_.zero_grad();
        loss.backward();
        {
          ProfileScope scope("optimizer step and checks");
          if (options_.check_gradients) check_gradients(named);
          for (auto& cb : callbacks_) cb->on_before_step(params);
          opt_.step();
        }
        {
          ProfileScope scope("recipe after_step (EMA, queue)");
          recipe_.after_step(step_, total_steps_);
        }
        ++step_;
        if (profiler) ++profiled_steps_;
        samples += static_cast<std::int64_t>(vb.indices.size());
        epoch_loss += value;
        ++epoch_steps;
        recent.push_back(value);
        if (recent.size() > 50) recent.erase(recent.begin());

        info = StepInfo{step_, total_steps_, epoch_, batch_, per_epoch, value, opt_.lr(0), elapsed(), 0, samples};
        info.samples_per_second = info.seconds > 0 ? double(samples) / info.seconds : 0;
        if (!horizon_fixed && step_ - first_step == 5) pace_start = info;
        if (!horizon_fixed && step_ - first_step >= 25 && info.seconds >= 0.05 * options_.budget_seconds) {
          // The steps since the 6th measure the pace (the first ones include warm-up: primitive creation,
          // first page faults); the horizon is fixed once, then the run ends where it falls.
          double per_step = (info.seconds - pace_start.seconds) / double(step_ - pace_start.step);
          auto fit_steps = step_ + static_cast<std::int64_t>((options_.budget_seconds - info.seconds) / per_step);
          total_steps_ = std::max(step_ + 1, std::min(total_steps_, fit_steps));
          info.total_steps = total_steps_;
          horizon_fixed = true;
        }
        bool stop = false;
        for (auto& cb : callbacks_) stop = cb->on_step_end(info) || stop;
        if (!options_.checkpoint_path.empty() && options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) {
          ++batch_;  // the checkpoint resumes at the next batch
          save_checkpoint(options_.checkpoint_path);
          --batch_;
        }
        if (stop) r.stop_reason = "callback";
        else if (options_.max_steps > 0 && step_ >= options_.max_steps) r.stop_reason = "max_steps";
        else if (options_.budget_seconds > 0 && info.seconds >= options_.budget_seconds) r.stop_reason = "budget";
        if (!r.stop_reason.empty()) {
          ++batch_;
          break;
        }
      }
      if (batch_ >= per_epoch) {
        ++r.epochs_completed;
        EpochInfo e{epoch_, epoch_steps ? epoch_loss / double(epoch_steps) : 0.0, step_, elapsed() - epoch_start};
        bool stop = false;
        for (auto& cb : callbacks_) stop = cb->on_epoch_end(e) || stop;
        if (stop && r.stop_reason.empty()) r.stop_reason = "callback";
        if (epoch_steps > 0) r.final_loss = e.mean_loss;
      }
      if (!r.stop_reason.empty() && batch_ < per_epoch) break;  // keep epoch_ and batch_ for resuming
    }
    if (r.stop_reason.empty()) r.stop_reason = "epochs";
    r.steps = step_;
    r.steps_this_run = step_ - first_step;
    r.seconds = elapsed();
    r.samples_per_second = r.seconds > 0 ? double(samples) / r.seconds : 0;
    if (r.epochs_completed == 0 && !recent.empty()) {
      double s = 0;
      for (double v : recent) s += v;
      r.final_loss = s / double(recent.size());
    }
    if (!options_.checkpoint_path.empty()) save_checkpoint(options_.checkpoint_path);
    for (auto& cb : callbacks_) cb->on_train_end(info);
    return r;
  }

  /// Writes the model, optimizer, recipe state and position to `path` (atomically).
  void save_checkpoint(const std::string& path) const {
    TensorDict d;
    save_module(d, recipe_.model());
    save_optimizer(d, opt_);
    d.set("train.step", Tensor<std::int64_t>::scalar(step_));
    d.set("train.epoch", Tensor<std::int64_t>::scalar(epoch_));
    d.set("train.batch", Tensor<std::int64_t>::scalar(batch_));
    d.set("train.total_steps", Tensor<std::int64_t>::scalar(total_steps_));
    d.set("train.seed", Tensor<std::int64_t>::scalar(static_cast<std::int64_t>(loader_.options().seed)));
    recipe_.save_state(d, "train.recipe.");
    d.metadata = options_.metadata;
    d.metadata["recipe"] = recipe_.name();
    d.metadata["seed"] = std::to_string(loader_.options().seed);
    d.metadata["simile_version"] = simile_version;
    save_safetensors(path, d);
  }

  /// Restores what `save_checkpoint` wrote. The recipe, optimizer and data must be set up as in the
  /// saved run (same architecture, parameter groups, seed); a mismatch is an Error and changes nothing
  /// in the model.
  void load_checkpoint(const std::string& path) {
    TensorDict d = load_safetensors(path);
    auto meta = d.metadata.find("recipe");
    check<IoError>(meta != d.metadata.end() && meta->second == recipe_.name(), "Trainer::load_checkpoint: '", path,
                   "' was written by recipe '", meta == d.metadata.end() ? std::string("?") : meta->second,
                   "', this trainer runs '", recipe_.name(), "'");
    auto seed = d.get<std::int64_t>("train.seed").item();
    check(static_cast<std::uint64_t>(seed) == loader_.options().seed, "Trainer::load_checkpoint: '", path,
          "' was trained with seed ", seed, ", the loader has seed ", loader_.options().seed);
    load_module(d, recipe_.model());
    load_optimizer(d, opt_);
    recipe_.load_state(d, "train.recipe.");
    step_ = d.get<std::int64_t>("train.step").item();
    epoch_ = d.get<std::int64_t>("train.epoch").item();
    batch_ = static_cast<Index>(d.get<std::int64_t>("train.batch").item());
    std::int64_t saved_total = d.get<std::int64_t>("train.total_steps").item();
    // Resuming toward the same horizon keeps the schedule; asking for more epochs extends it.
    loader_.set_epoch(static_cast<std::uint64_t>(epoch_));
    std::int64_t planned = options_.epochs * loader_.num_batches();
    if (options_.max_steps > 0) planned = std::min(planned, options_.max_steps);
    total_steps_ = options_.budget_seconds > 0 ? saved_total : std::max(saved_total, planned);
    if (batch_ >= loader_.num_batches()) ++epoch_, batch_ = 0;
  }

 private:
  void check_gradients(const std::vector<std::pair<std::string, Var<T>>>& named) const {
    for (const auto& [name, p] : named) {
      if (!p.has_grad()) continue;
      if (!p.grad().array().isFinite().all())
        throw NumericError(simile::detail::str("Trainer: step ", step_ + 1, " (epoch ", epoch_ + 1, ", batch ",
                                               batch_ + 1, "): the gradient of ", name,
                                               " holds a NaN or infinity (the loss was finite)"));
    }
  }

  Recipe<T>& recipe_;
  Loader<ImageDataset>& loader_;
  MultiView views_;
  optim::Optimizer<T>& opt_;
  TrainerOptions options_;
  std::vector<double> base_lrs_;
  std::vector<std::shared_ptr<Callback<T>>> callbacks_;
  std::int64_t step_ = 0, epoch_ = 0, total_steps_ = 0, profiled_steps_ = 0;
  ProfileTable profile_;
  Index batch_ = 0;
};

}  // namespace simile
