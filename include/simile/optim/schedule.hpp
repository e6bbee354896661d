#pragma once
/// \file
/// Schedules: values as functions of the step, kept outside the optimizer (PyTorch's LambdaLR idea).
/// A schedule is any callable `double(std::int64_t step)`, steps counted from 0. Used for learning
/// rates through `LrScheduler` (each group's lr = its base lr x the schedule's value, so the ratios
/// between groups stay fixed), and directly for other scheduled values such as BYOL's EMA momentum
/// (`WarmupCosineSchedule{.total_steps = K, .peak = 0.996, .final_value = 1}`).

#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <numbers>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/optim/optimizer.hpp"

namespace simile::optim {

/// A value as a function of the step.
template <class S>
concept Schedule = requires(const S& s, std::int64_t step) {
  { s(step) } -> std::convertible_to<double>;
};

/// The same value at every step.
struct ConstantSchedule {
  double value = 1;  ///< the value at every step
  /// `value`, whatever the step.
  double operator()(std::int64_t step) const {
    check(step >= 0, "ConstantSchedule: negative step ", step);
    return value;
  }
};

/// Step decay: initial * gamma^floor(step / step_size) (PyTorch's StepLR).
struct StepSchedule {
  double initial = 1;          ///< value from step 0 to step_size - 1
  std::int64_t step_size = 1;  ///< steps between decays (> 0)
  double gamma = 0.1;          ///< factor applied at each decay
  /// The value at `step`. Throws ValueError for a negative step or a step_size <= 0.
  double operator()(std::int64_t step) const {
    check(step >= 0, "StepSchedule: negative step ", step);
    check(step_size > 0, "StepSchedule: step_size ", step_size, " must be positive");
    return initial * std::pow(gamma, static_cast<double>(step / step_size));
  }
};

/// Linear warmup, then half-cosine decay: the schedule of SimCLR and BYOL (Goyal et al. 2017 for the
/// warmup, Loshchilov and Hutter 2017 for the cosine).
///   step <= warmup:          start + (peak - start) * step / warmup
///   warmup <= step <= total: final + (peak - final) * (1 + cos(pi (step - warmup) / (total - warmup))) / 2
///   step >= total:           final
/// So the value is `peak` at step `warmup_steps` and `final_value` at step `total_steps`; a run of n
/// steps (0 .. n-1) that should end on the final value passes total_steps = n - 1.
/// Requires 0 <= warmup_steps < total_steps.
struct WarmupCosineSchedule {
  std::int64_t warmup_steps = 0;  ///< steps of linear warmup, in [0, total_steps)
  std::int64_t total_steps = 1;   ///< the step at which the decay reaches `final_value`
  double peak = 1;                ///< value at the end of the warmup
  double start = 0;        ///< value at step 0 when there is a warmup
  double final_value = 0;  ///< value at total_steps and after

  /// The value at `step` (formula above). Throws ValueError for a negative step or when the
  /// requirement on warmup_steps and total_steps does not hold.
  double operator()(std::int64_t step) const {
    check(step >= 0, "WarmupCosineSchedule: negative step ", step);
    return at(static_cast<double>(step));
  }
  /// The same at a fractional step (a run whose horizon moved, `train/horizon.hpp`); equal to
  /// `(*this)(step)` at whole steps.
  double at(double step) const {
    check(step >= 0, "WarmupCosineSchedule: negative step ", step);
    check(warmup_steps >= 0 && warmup_steps < total_steps, "WarmupCosineSchedule: warmup_steps ", warmup_steps,
          " and total_steps ", total_steps, " must satisfy 0 <= warmup_steps < total_steps");
    const double warmup = static_cast<double>(warmup_steps), total = static_cast<double>(total_steps);
    if (step < warmup) return start + (peak - start) * step / warmup;
    if (step >= total) return final_value;
    double progress = (step - warmup) / (total - warmup);
    return final_value + (peak - final_value) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
  }
};

/// Sets lr of group g to base_lrs[g] * factor for every group of `opt`.
template <Real T>
void scale_lrs(Optimizer<T>& opt, const std::vector<double>& base_lrs, double factor) {
  check(base_lrs.size() == opt.num_groups(), "scale_lrs: ", base_lrs.size(), " base learning rates for ",
        opt.num_groups(), " groups");
  check(std::isfinite(factor) && factor >= 0, "scale_lrs: factor ", factor, " must be finite and >= 0");
  for (std::size_t g = 0; g < base_lrs.size(); ++g) opt.set_lr(g, base_lrs[g] * factor);
}

/// Drives an optimizer's learning rates from a schedule: `apply(step)` sets each group's lr to its base
/// lr times schedule(step). The base lrs are the groups' lrs when the scheduler is made (make it before
/// `load_state` when resuming, or pass the base lrs explicitly). Holds a reference to the optimizer,
/// which must outlive it.
template <Real T>
class LrScheduler {
 public:
  /// Scales the learning rates `opt` has now (one base per group) by `schedule`.
  template <Schedule S>
  LrScheduler(Optimizer<T>& opt, S schedule) : opt_(&opt), schedule_(std::move(schedule)) {
    for (std::size_t g = 0; g < opt.num_groups(); ++g) base_.push_back(opt.lr(g));
  }
  /// Scales the given base learning rates (one per group of `opt`, else ValueError) by `schedule`:
  /// what a resumed run passes, since `opt`'s rates are then already scaled.
  template <Schedule S>
  LrScheduler(Optimizer<T>& opt, S schedule, std::vector<double> base_lrs)
      : opt_(&opt), schedule_(std::move(schedule)), base_(std::move(base_lrs)) {
    check(base_.size() == opt.num_groups(), "LrScheduler: ", base_.size(), " base learning rates for ",
          opt.num_groups(), " groups");
  }

  /// Sets the learning rates for `step` and returns the schedule's value there.
  double apply(std::int64_t step) {
    double factor = schedule_(step);
    scale_lrs(*opt_, base_, factor);
    return factor;
  }
  /// The unscaled learning rate of each group, which `apply` multiplies by the schedule's value.
  const std::vector<double>& base_lrs() const { return base_; }

 private:
  Optimizer<T>* opt_;
  std::function<double(std::int64_t)> schedule_;
  std::vector<double> base_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_SCHEDULE(P, T) \
  P template void scale_lrs<T>(Optimizer<T>& opt, const std::vector<double>& base_lrs, double factor); \
  P template class LrScheduler<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SCHEDULE)

}  // namespace simile::optim
