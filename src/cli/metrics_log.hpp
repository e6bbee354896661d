#pragma once
// `--metrics FILE`: one JSON object per line, appended: every --log-every steps
// {"event":"step","step":..,"epoch":..,"loss":..,"lr":..,"seconds":..,"samples_per_second":..} and at
// each epoch's end {"event":"epoch","epoch":..,"mean_loss":..,"step":..,"seconds":..}.

#include <cstdint>
#include <fstream>
#include <string>

#include "json.hpp"
#include "simile/train/callbacks.hpp"

namespace simile::cli {

class JsonLinesLog : public Callback<float> {
 public:
  JsonLinesLog(const std::string& path, std::int64_t every) : out_(path, std::ios::app), every_(every) {
    check<IoError>(out_.good(), "--metrics: cannot open '", path, "' for writing");
  }
  bool on_step_end(const StepInfo& s) override {
    if (s.step % every_ == 0 || s.step == s.total_steps)
      write(Json{{"event", "step"}, {"step", s.step}, {"epoch", s.epoch}, {"loss", number(s.loss)}, {"lr", number(s.lr)},
                 {"seconds", number(s.seconds)}, {"samples_per_second", number(s.samples_per_second)}});
    return false;
  }
  bool on_epoch_end(const EpochInfo& e) override {
    write(Json{{"event", "epoch"}, {"epoch", e.epoch}, {"mean_loss", number(e.mean_loss)}, {"step", e.step},
               {"seconds", number(e.seconds)}});
    out_.flush();
    return false;
  }
  void on_train_end(const StepInfo&) override { out_.flush(); }

 private:
  void write(const Json& j) {
    out_ << j.dump() << '\n';
    check<IoError>(out_.good(), "--metrics: writing failed");
  }
  std::ofstream out_;
  std::int64_t every_;
};

}  // namespace simile::cli
