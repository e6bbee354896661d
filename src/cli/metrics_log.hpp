#pragma once
// `--metrics FILE`: one JSON object per line, appended: every --log-every steps
// {"event":"step","step":..,"epoch":..,"loss":..,"lr":..,"seconds":..,"samples_per_second":..}, at
// each epoch's end {"event":"epoch","epoch":..,"mean_loss":..,"step":..,"seconds":..}, every --health-every
// steps and at the last {"event":"representation","step":..,"epoch":..,"alignment":..,"uniformity":..} (image
// runs: see `health_probe` in setup.hpp), and after training's evaluation {"event":"evaluation","step":..,
// <the fields of the final line's evaluation>}. `simile plot` and `simile report` read them (figures.hpp).
//
// The file is rewritten atomically (AtomicFile: a temporary file renamed over it), never appended to in
// place, so a run killed mid-write leaves whole lines: at every checkpoint (so the log never lags behind
// what a resume continues from), at each epoch's end, at the end and at least every 10 seconds. A resumed
// run first drops the lines of steps after its checkpoint, which it trains again: each step is logged once.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "json.hpp"
#include "simile/core/atomic_file.hpp"
#include "simile/train/callbacks.hpp"

namespace simile::cli {

class JsonLinesLog : public Callback<float> {
 public:
  /// Measures the representation now: a JSON object of its fields ("alignment", "uniformity").
  using Probe = std::function<Json()>;

  /// Keeps the lines already in `path`; with `resumed_step` >= 0, only those of steps up to it.
  /// `checkpoint_every` > 0: the steps at which the file is rewritten at the latest. With a `probe` and
  /// `probe_every` > 0, a "representation" line every `probe_every` steps and at the last step.
  JsonLinesLog(std::string path, std::int64_t every, std::int64_t checkpoint_every, std::int64_t resumed_step = -1,
               Probe probe = {}, std::int64_t probe_every = 0)
      : path_(std::move(path)),
        every_(every),
        checkpoint_every_(checkpoint_every),
        probe_(std::move(probe)),
        probe_every_(probe_every),
        resumed_step_(resumed_step) {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) continue;  // a torn line of a killed writer
      if (resumed_step >= 0 && j.value("step", std::int64_t{0}) > resumed_step) continue;
      text_ += line + '\n';
    }
    save();  // fails now, not after an hour of training, when the file cannot be written
  }
  bool on_step_end(const StepInfo& s) override {
    if (s.step % every_ == 0 || s.step == s.total_steps)
      add(Json{{"event", "step"},
               {"step", s.step},
               {"epoch", s.epoch},
               {"loss", number(s.loss)},
               {"lr", number(s.lr)},
               {"seconds", number(s.seconds)},
               {"samples_per_second", number(s.samples_per_second)}});
    if (probe_ && probe_every_ > 0 && s.step % probe_every_ == 0) measure(s);
    // Runs before the trainer writes a checkpoint at this step: the log is then on disk up to it.
    const bool checkpoint = checkpoint_every_ > 0 && s.step % checkpoint_every_ == 0;
    if (dirty_ && (checkpoint || std::chrono::steady_clock::now() - saved_ > std::chrono::seconds(10))) save();
    return false;
  }
  bool on_epoch_end(const EpochInfo& e) override {
    add(Json{{"event", "epoch"},
             {"epoch", e.epoch},
             {"mean_loss", number(e.mean_loss)},
             {"step", e.step},
             {"seconds", number(e.seconds)}});
    save();
    return false;
  }
  void on_train_end(const StepInfo& s) override {
    // Not when this run trained nothing (a resumed run that had already ended): its line is in the file.
    if (probe_ && probe_every_ > 0 && s.step > std::max<std::int64_t>(resumed_step_, 0) && s.step != probed_step_)
      measure(s);
    if (dirty_) save();
  }

  /// Appends `line` (an object with its "event") and rewrites the file now.
  void append(const Json& line) {
    add(line);
    save();
  }

 private:
  void measure(const StepInfo& s) {
    Json j{{"event", "representation"}, {"step", s.step}, {"epoch", s.epoch}};
    j.update(probe_());
    add(j);
    probed_step_ = s.step;
  }
  void add(const Json& j) {
    text_ += j.dump();
    text_ += '\n';
    dirty_ = true;
  }
  void save() {
    AtomicFile f(path_, "--metrics");
    f.write(text_.data(), text_.size());
    f.commit();
    dirty_ = false;
    saved_ = std::chrono::steady_clock::now();
  }
  std::string path_, text_;
  std::int64_t every_, checkpoint_every_;
  Probe probe_;
  std::int64_t probe_every_ = 0, resumed_step_ = -1, probed_step_ = -1;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point saved_ = std::chrono::steady_clock::now();
};

}  // namespace simile::cli
