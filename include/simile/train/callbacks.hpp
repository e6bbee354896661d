#pragma once
/// \file
/// Trainer callbacks: optional hooks at the begin and end of training, of each epoch and of each step;
/// `on_step_end` returning true stops training after that step. Provided here: a progress display
/// (a live line on a terminal, plain lines otherwise), a JSON-lines metrics log, early stopping on the
/// epoch loss, and gradient-norm clipping (through the `on_before_step` hook, between backward and the
/// optimizer's step). The NaN/inf guard is built into the trainer: it is not optional.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/io/detail/json.hpp"

namespace simile {

/// What the trainer reports after each step.
struct StepInfo {
  std::int64_t step = 0;         ///< steps done, this one included
  std::int64_t total_steps = 0;  ///< steps planned (the schedule's horizon)
  std::int64_t epoch = 0;        ///< 0-based epoch of this step
  Index batch = 0;               ///< 0-based batch within the epoch
  Index batches_per_epoch = 0;   ///< batches in one epoch (global batches, when data-parallel)
  double loss = 0;               ///< the step's loss (the recipe's total, before backward)
  double lr = 0;                  ///< learning rate of group 0 for this step
  double seconds = 0;             ///< wall-clock time since training began (this run)
  double samples_per_second = 0;  ///< over this run so far (a sample is one image, its views count once)
  std::int64_t samples = 0;       ///< samples seen in this run
};

/// What the trainer reports at the end of an epoch.
struct EpochInfo {
  std::int64_t epoch = 0;  ///< 0-based epoch that ended
  double mean_loss = 0;    ///< mean step loss over the epoch's steps taken in this run (0 if none)
  std::int64_t step = 0;   ///< steps done at the end of the epoch
  double seconds = 0;      ///< wall-clock time of the epoch (in this run)
};

/// A trainer hook: override the events of interest (each does nothing by default). The trainer calls its
/// callbacks in the order they were added; a true from `on_step_end` or `on_epoch_end` stops training.
template <Real T>
class Callback {
 public:
  virtual ~Callback() = default;
  /// Once, before the first step of `Trainer::fit`, with the steps planned (the schedule's horizon).
  virtual void on_train_begin(std::int64_t total_steps) { (void)total_steps; }
  /// At the start of each epoch (0-based), including an epoch resumed in the middle.
  virtual void on_epoch_begin(std::int64_t epoch) { (void)epoch; }
  /// Between backward and the optimizer's step, with the trainable parameters.
  virtual void on_before_step(const std::vector<Var<T>>& params) { (void)params; }
  /// After a step; true stops training.
  virtual bool on_step_end(const StepInfo& info) {
    (void)info;
    return false;
  }
  /// After an epoch; true stops training.
  virtual bool on_epoch_end(const EpochInfo& info) {
    (void)info;
    return false;
  }
  /// Once, when training stops for any reason but an exception, with the last step's report.
  virtual void on_train_end(const StepInfo& last) { (void)last; }
};

/// Progress on stderr: on a terminal one live line (step, epoch, loss, samples/s, time left) redrawn
/// in place; otherwise a plain line every `every` steps and at each epoch end.
template <Real T>
class ProgressBar : public Callback<T> {
 public:
  /// Writes to `out`; `every` is the step interval of the plain lines when `out` is not a terminal.
  explicit ProgressBar(std::int64_t every = 50, std::FILE* out = stderr)
      : every_(every), out_(out), tty_(::isatty(::fileno(out)) != 0) {}
  bool on_step_end(const StepInfo& s) override {
    double left = s.samples_per_second > 0 && s.step > 0
                      ? s.seconds / double(s.step) * double(std::max<std::int64_t>(0, s.total_steps - s.step))
                      : 0;
    if (tty_) {
      std::fprintf(out_, "\rstep %lld/%lld  epoch %lld  batch %lld/%lld  loss %.4f  lr %.3g  %.0f samples/s  %.0fs left   ",
                   (long long)s.step, (long long)s.total_steps, (long long)s.epoch + 1, (long long)s.batch + 1,
                   (long long)s.batches_per_epoch, s.loss, s.lr, s.samples_per_second, left);
      std::fflush(out_);
    } else if (s.step % every_ == 0 || s.step == s.total_steps) {
      std::fprintf(out_, "step %lld/%lld epoch %lld loss %.4f lr %.3g %.0f samples/s %.0fs elapsed %.0fs left\n",
                   (long long)s.step, (long long)s.total_steps, (long long)s.epoch + 1, s.loss, s.lr,
                   s.samples_per_second, s.seconds, left);
    }
    return false;
  }
  bool on_epoch_end(const EpochInfo& e) override {
    std::fprintf(out_, "%sepoch %lld done: mean loss %.4f, %.1fs\n", tty_ ? "\n" : "", (long long)e.epoch + 1,
                 e.mean_loss, e.seconds);
    return false;
  }

 private:
  std::int64_t every_;
  std::FILE* out_;
  bool tty_;
};

/// One JSON object per line: every `every` steps {"event":"step",...} and each epoch {"event":"epoch",...}.
template <Real T>
class MetricsLog : public Callback<T> {
 public:
  /// Appends to the file at `path` (a resumed run continues its log); `every` is the step interval.
  /// Throws IoError when the file cannot be opened for writing.
  MetricsLog(const std::string& path, std::int64_t every = 10) : out_(path, std::ios::app), every_(every) {
    check<IoError>(out_.good(), "MetricsLog: cannot open '", path, "' for writing");
  }
  bool on_step_end(const StepInfo& s) override {
    if (s.step % every_ == 0 || s.step == s.total_steps)
      out_ << "{\"event\":\"step\",\"step\":" << s.step << ",\"epoch\":" << s.epoch
           << ",\"loss\":" << detail::json_number(s.loss) << ",\"lr\":" << detail::json_number(s.lr)
           << ",\"seconds\":" << detail::json_number(s.seconds)
           << ",\"samples_per_second\":" << detail::json_number(s.samples_per_second) << "}\n";
    return false;
  }
  bool on_epoch_end(const EpochInfo& e) override {
    out_ << "{\"event\":\"epoch\",\"epoch\":" << e.epoch << ",\"mean_loss\":" << detail::json_number(e.mean_loss)
         << ",\"step\":" << e.step << ",\"seconds\":" << detail::json_number(e.seconds) << "}\n";
    out_.flush();
    return false;
  }
  /// Flushes the file.
  void on_train_end(const StepInfo&) override { out_.flush(); }

 private:
  std::ofstream out_;
  std::int64_t every_;
};

/// Stops when the epoch's mean loss has not improved by `min_delta` for `patience` epochs.
template <Real T>
class EarlyStop : public Callback<T> {
 public:
  /// Throws ValueError unless `patience` >= 1.
  explicit EarlyStop(int patience = 3, double min_delta = 0.0) : patience_(patience), min_delta_(min_delta) {
    check(patience >= 1, "EarlyStop: patience ", patience, " must be at least 1");
  }
  bool on_epoch_end(const EpochInfo& e) override {
    if (e.mean_loss < best_ - min_delta_) {
      best_ = e.mean_loss;
      waited_ = 0;
      return false;
    }
    return ++waited_ >= patience_;
  }

 private:
  int patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  int waited_ = 0;
};

/// Scales all gradients so that their global L2 norm is at most `max_norm` (PyTorch's clip_grad_norm_).
template <Real T>
class GradClip : public Callback<T> {
 public:
  /// Throws ValueError unless `max_norm` > 0.
  explicit GradClip(double max_norm) : max_norm_(max_norm) {
    check(max_norm > 0, "GradClip: max_norm ", max_norm, " must be positive");
  }
  void on_before_step(const std::vector<Var<T>>& params) override {
    double sq = 0;
    for (const Var<T>& p : params)
      if (p.has_grad()) sq += p.grad().array().template cast<double>().square().sum();
    last_norm_ = std::sqrt(sq);
    if (last_norm_ > max_norm_) {
      T f = static_cast<T>(max_norm_ / (last_norm_ + 1e-6));
      for (const Var<T>& p : params)
        if (p.has_grad()) p.grad().array() *= f;
    }
  }
  /// The global gradient norm before clipping at the last step.
  double last_norm() const { return last_norm_; }

 private:
  double max_norm_;
  double last_norm_ = 0;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_CALLBACKS(P, T) \
  P template class ProgressBar<T>; \
  P template class MetricsLog<T>; \
  P template class EarlyStop<T>; \
  P template class GradClip<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_CALLBACKS)

}  // namespace simile
