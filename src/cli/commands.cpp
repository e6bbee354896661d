// train, eval and embed: what each command does with the parts setup.cpp builds.

#include "commands.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "json.hpp"
#include "metrics_log.hpp"
#include "setup.hpp"

namespace simile::cli {
namespace {

// SIGINT and SIGTERM ask the trainer to stop after the current step; it then writes its checkpoint as at
// any other end, and `train` exits with 128 + the signal's number. A second signal ends the process at
// once (the handler restores the default action).
std::atomic<bool> stop_requested{false};
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void request_stop(int sig) {
  stop_signal = sig;
  stop_requested.store(true);
  std::signal(sig, SIG_DFL);
}

// A note on stderr, unless --quiet.
template <class... Args>
void note(const Options& o, const char* format, Args... args) {
  if (!o.quiet) std::fprintf(stderr, format, args...);
}

}  // namespace

Outcome train(Options o) {
  // --resume given: the metrics log keeps only the steps the run continues from (none when it starts over),
  // so that a run killed before its first checkpoint does not log its first steps twice.
  const bool resuming = !o.resume.empty();
  if (!o.resume.empty() && !std::filesystem::exists(o.resume)) {
    note(o, "no checkpoint at %s yet: starting from the beginning\n", o.resume.c_str());
    o.resume.clear();
  }
  TensorDict resume_from;
  if (!o.resume.empty()) {
    resume_from = load_safetensors(o.resume);
    o = resume_options(o, o.resume, resume_from.metadata);
  }
  o.stop_requested = &stop_requested;
  std::unique_ptr<Run> run = make_run(o);
  std::string no_eval_why;
  const bool evaluate_after = !o.no_eval && can_evaluate(o, run->data, &no_eval_why);
  if (evaluate_after) check_evaluation_options(o, run->data);
  Trainer<float>& trainer = *run->trainer;
  // Under mpirun every rank trains; rank 0 alone reports, logs, exports and evaluates.
  const bool lead = !o.comm || o.comm->rank() == 0;
  const int world_size = o.comm ? o.comm->size() : 1;
  if (lead && !o.quiet) trainer.add_callback(std::make_shared<ProgressBar<float>>(o.log_every));
  if (!o.resume.empty()) {
    trainer.load_checkpoint(resume_from, o.resume);
    if (lead)
      note(o, "resumed from %s at step %lld (epoch %lld)\n", o.resume.c_str(), (long long)trainer.step(),
                   (long long)trainer.epoch() + 1);
  }
  if (lead && world_size > 1)
    note(o, "data-parallel over %d ranks (%s): global batch %lld, %lld a rank\n", world_size,
                 o.comm->backend().c_str(), (long long)o.batch, (long long)(o.batch / world_size));
  std::shared_ptr<JsonLinesLog> log;
  if (lead && !o.metrics.empty()) {
    log = std::make_shared<JsonLinesLog>(o.metrics, o.log_every, o.checkpoint.empty() ? 0 : o.checkpoint_every,
                                         resuming ? trainer.step() : -1, health_probe(o, *run), o.health_every);
    trainer.add_callback(log);
  }
  // The handlers in place before come back afterwards (an embedding interpreter's, in the Python module).
  stop_requested.store(false);
  auto previous_int = std::signal(SIGINT, request_stop);
  auto previous_term = std::signal(SIGTERM, request_stop);
  TrainResult r;
  try {
    r = trainer.fit();
  } catch (...) {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    throw;
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  // The blocks cached for training's activations fit no shape of the evaluation (batches of 512 in eval
  // mode, then the probes' matrices): returned to the system, they do not add to the run's peak memory.
  CachingAllocator::instance().empty_cache();
  if (!lead) return {r.stop_reason == "interrupted" ? 128 + static_cast<int>(stop_signal) : 0, nullptr};
  note(o, "trained %lld steps in %.1fs (%.0f samples/s), stopped by %s\n", (long long)r.steps_this_run,
               r.seconds, r.samples_per_second, r.stop_reason.c_str());
  if (r.stop_reason == "interrupted") {
    int sig = static_cast<int>(stop_signal);
    if (o.checkpoint.empty())
      std::fprintf(stderr, "simile train: interrupted by signal %d at step %lld; no --checkpoint, nothing saved\n", sig,
                   (long long)r.steps);
    else
      std::fprintf(stderr,
                   "simile train: interrupted by signal %d; saved step %lld to %s (continue with --resume %s)\n", sig,
                   (long long)r.steps, o.checkpoint.c_str(), o.checkpoint.c_str());
    return {128 + sig, nullptr};
  }
  if (o.profile)
    std::fprintf(stderr, "time per step over %lld steps (forward: time until the op's output existed):\n%s",
                 (long long)trainer.profiled_steps(), trainer.profile().format(trainer.profiled_steps()).c_str());
  if (!o.export_embeddings.empty()) {
    ThreadScope threads(o.threads);
    write_npy(o.export_embeddings, export_embeddings(o, run->model, run->data));
    const bool test_set = o.modality == "image" || run->data.text.kind == "wordnet";
    note(o, "wrote %s representations to %s\n", test_set ? "test-set" : "the data's",
                 o.export_embeddings.c_str());
  }
  Json j{{"method", o.method},
         {"encoder", o.encoder},
         {"epochs", number(double(r.steps) / double(run->source->num_batches()))},
         {"steps", r.steps},
         {"seconds", number(r.seconds)},
         {"samples_per_second", number(r.samples_per_second)},
         {"final_loss", number(r.final_loss)},
         {"threads", o.threads},
         {"precision", o.precision},
         {"conv_algorithm", std::string(to_string(trainer.options().conv_algorithm))},  // as the run applied it
         {"world_size", world_size},
         // The share of the step spent in collectives (gradients, gathered embeddings, batch-norm
         // statistics; waiting for other ranks included), and this rank's bytes sent + received a step.
         {"communication_share", number(r.seconds > 0 ? r.communication_seconds / r.seconds : 0.0)},
         {"communication_bytes_per_step",
          number(r.steps_this_run > 0 ? double(r.communication_bytes) / double(r.steps_this_run) : 0.0)},
         {"batch", o.batch},
         {"seed", o.seed}};
  describe_data(o, *run, j);
  if (evaluate_after) {
    ThreadScope threads(o.threads);
    auto t0 = std::chrono::steady_clock::now();
    Evaluation e = evaluate(o, run->model, run->data);
    note(o, "evaluated in %.1fs\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    j.update(e.fields);
    if (log) {
      Json line{{"event", "evaluation"}, {"step", r.steps}, {"dim", e.dim}};
      line.update(e.fields);
      log->append(line);
    }
  } else if (!o.no_eval) {
    note(o, "no evaluation: %s\n", no_eval_why.c_str());
  }
  return {0, std::move(j)};
}

Outcome eval(Options o) {
  // A checkpoint says what it is (its modality and architecture), so it is read before the data.
  std::optional<Model> m;
  if (!o.checkpoint.empty()) {
    m = load_checkpoint_model(o, o.checkpoint);
    check_data(o);
  }
  Data data = load_data(o);
  std::string why;
  if (!can_evaluate(o, data, &why)) throw BadArgument("--data: nothing to evaluate: " + why);
  check_evaluation_options(o, data);
  ThreadScope threads(o.threads);
  Evaluation e;
  std::string what;
  if (o.baseline == "raw") {
    e = evaluate_raw(o, data, what);
  } else if (!o.feature_files.empty()) {
    e = evaluate_feature_files(o, data);
    what = o.feature_files[0] + ", " + o.feature_files[1];
  } else {
    if (!m) m = model_for(o, data);
    e = evaluate(o, *m, data);
    what = o.checkpoint.empty() ? "untrained " + o.encoder : o.checkpoint;
  }
  Json j{{"evaluated", what}, {"dim", e.dim}};
  j.update(e.fields);
  return {0, std::move(j)};
}

Tensor<float> embeddings(Options o, std::vector<std::int64_t>* labels, std::vector<std::string>* classes) {
  Model m = load_checkpoint_model(o, o.checkpoint);
  check_data(o);
  if (o.modality != "image" && !o.data_given)
    throw BadArgument(detail::str("--data: give the ", o.modality == "text" ? "file of lines" : "CSV",
                                  " to embed (the checkpoint is a ", o.modality, " model)"));
  ThreadScope threads(o.threads);
  return embed_data(o, m, labels, classes);
}

Outcome embed(Options o) {
  std::vector<std::int64_t> labels;
  Tensor<float> h = embeddings(o, o.labels_out.empty() ? nullptr : &labels);
  if (!o.labels_out.empty() && labels.empty())
    throw BadArgument(detail::str("--labels-out: the ", h.dim(0),
                                  " samples embedded have no labels (lines of text, a table read without "
                                  "--label-column, or an image folder without class folders)"));
  write_npy(o.out, h);
  note(o, "wrote %lld x %lld representations to %s\n", (long long)h.dim(0), (long long)h.dim(1),
               o.out.c_str());
  if (!o.labels_out.empty()) {
    write_npy(o.labels_out, Tensor<std::int64_t>::from(labels, {static_cast<Index>(labels.size())}));
    note(o, "wrote %lld labels to %s\n", (long long)labels.size(), o.labels_out.c_str());
  }
  return {0, nullptr};
}

}  // namespace simile::cli
