#pragma once
/// \file
/// A run's horizon and where each step lies on its schedule, and how a wall-clock budget sets the horizon.
///
/// The schedules of a run (the learning rate's warmup and cosine, BYOL's momentum) are laid out over
/// `ScheduleClock::schedule_total` steps. When the horizon moves during the run (a budget re-estimated
/// as the pace changes) the schedule is not restarted: from the step where it moves, what remains of the
/// schedule is stretched or squeezed onto the steps that remain, so the values stay continuous and the
/// schedule ends exactly at the new horizon. `BudgetPace` says when and where to move it.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "simile/core/error.hpp"

namespace simile {

/// The map from a run's steps to positions on its schedule, piecewise linear:
///   position(s) = anchor_position + (s - anchor_step) (schedule_total - anchor_position) / (total - anchor_step)
/// for anchor_step <= s < total, and schedule_total from `total` on. A run whose horizon never moved has
/// anchor 0 and schedule_total = total: position(s) = s exactly.
struct ScheduleClock {
  std::int64_t total = 1;           ///< the run's horizon, in steps
  std::int64_t schedule_total = 1;  ///< the schedules' length, in their own steps
  std::int64_t anchor_step = 0;     ///< the step where the horizon last moved
  double anchor_position = 0;       ///< the schedule's position at that step

  /// A clock whose schedule and horizon are both `total` steps.
  static ScheduleClock fixed(std::int64_t total) {
    check(total >= 1, "ScheduleClock: total ", total, " must be at least 1");
    return {total, total, 0, 0.0};
  }

  /// Where `step` lies on the schedule, in [0, schedule_total].
  double position(std::int64_t step) const {
    if (step >= total) return static_cast<double>(schedule_total);
    if (step <= anchor_step) return anchor_position;
    return anchor_position + static_cast<double>(step - anchor_step) *
                                 (static_cast<double>(schedule_total) - anchor_position) /
                                 static_cast<double>(total - anchor_step);
  }

  /// Moves the horizon to `new_total` at `step`: the position at `step` stays, the rest of the schedule
  /// is spread over steps `step` .. `new_total`. Requires anchor_step <= step < new_total.
  void retarget(std::int64_t step, std::int64_t new_total) {
    check(step >= anchor_step && step < new_total, "ScheduleClock::retarget: step ", step,
          " must lie in [anchor ", anchor_step, ", new total ", new_total, ")");
    anchor_position = position(step);
    anchor_step = step;
    total = new_total;
  }

  /// The invariants a clock read from a checkpoint must hold: 0 <= anchor_step <= total,
  /// 1 <= schedule_total, 0 <= anchor_position <= schedule_total (finite).
  bool valid() const {
    return total >= 1 && schedule_total >= 1 && anchor_step >= 0 && anchor_step <= total &&
           std::isfinite(anchor_position) && anchor_position >= 0 &&
           anchor_position <= static_cast<double>(schedule_total);
  }
};

/// How many steps fit a wall-clock budget, re-estimated as the run goes. Fed every step's count and
/// time; it answers with a horizon when one is due:
/// - the first once 25 steps and 5 % of the budget have passed, from the pace since the 5th step (the
///   first steps include warm-up: primitive creation, first page faults);
/// - then every 10 % of the budget (15 %, 25 %, ... 95 %), from the pace since the previous estimate, so a
///   pace that changes (a shared machine's load coming or going) moves the horizon with it.
/// The estimate is the step now plus the remaining seconds over the seconds a step: the run then ends at
/// the budget with its schedule finished, within the last estimate's error.
class BudgetPace {
 public:
  /// For a run of `budget_seconds` (> 0) starting at step `first_step`.
  BudgetPace(double budget_seconds, std::int64_t first_step) : budget_(budget_seconds), first_(first_step) {
    check(budget_seconds > 0 && std::isfinite(budget_seconds), "BudgetPace: budget_seconds ", budget_seconds,
          " must be positive and finite");
  }

  /// After step `step` (the count done, resumed steps included) at `seconds` into this run: the horizon
  /// to move to, or nothing. The caller bounds it by the steps asked for and the step after this one.
  std::optional<std::int64_t> observe(std::int64_t step, double seconds) {
    if (step - first_ == kWarmupSteps) from_ = {step, seconds};
    if (step - first_ < kFirstSteps || seconds < due(next_) || step <= from_.step) return std::nullopt;
    const double per_step = (seconds - from_.seconds) / static_cast<double>(step - from_.step);
    from_ = {step, seconds};
    while (due(next_) <= seconds) ++next_;
    if (!(per_step > 0)) return std::nullopt;  // a clock that did not move: no pace to go by
    ++estimates_;
    const double remaining = std::max(0.0, budget_ - seconds);
    return step + static_cast<std::int64_t>(std::min(remaining / per_step, 1e15));
  }

  /// Estimates made so far.
  int estimates() const { return estimates_; }

 private:
  static constexpr std::int64_t kWarmupSteps = 5, kFirstSteps = 25;
  /// When estimate k is due: 5 % of the budget, then every 10 % (exact in binary for whole budgets).
  double due(int k) const { return static_cast<double>(1 + 2 * k) * budget_ / 20; }
  struct Mark {
    std::int64_t step = 0;
    double seconds = 0;
  };
  double budget_;
  std::int64_t first_;
  Mark from_{-1, 0};   ///< where the pace is measured from
  int next_ = 0;        ///< the next estimate due (see `due`)
  int estimates_ = 0;
};

}  // namespace simile
