#include "support/testing.hpp"

#include <cmath>
#include <optional>
#include <vector>

#include "simile/optim/schedule.hpp"
#include "simile/train/horizon.hpp"

namespace simile {
namespace {
using testing::throws_with;

TEST(ScheduleClock, AFixedClockIsTheStepItself) {
  ScheduleClock c = ScheduleClock::fixed(100);
  for (std::int64_t s : {0, 1, 37, 99}) EXPECT_EQ(c.position(s), double(s));
  EXPECT_EQ(c.position(100), 100.0);
  EXPECT_EQ(c.position(250), 100.0);  // past the horizon: the schedule's end
  EXPECT_TRUE(c.valid());
}

TEST(ScheduleClock, RetargetKeepsThePositionAndEndsAtTheNewHorizon) {
  // A 100-step schedule, 40 steps done, the horizon moved to 70: the 60 remaining schedule steps are
  // spread over 30 run steps, two a step. By hand: position(40) = 40, position(55) = 40 + 15 * 60 / 30 = 70.
  ScheduleClock c = ScheduleClock::fixed(100);
  c.retarget(40, 70);
  EXPECT_EQ(c.position(40), 40.0);
  EXPECT_DOUBLE_EQ(c.position(55), 70.0);
  EXPECT_DOUBLE_EQ(c.position(69), 98.0);
  EXPECT_EQ(c.position(70), 100.0);
  // Moved again, further out, at 55: from position 70, the remaining 30 over 145 steps.
  c.retarget(55, 200);
  EXPECT_DOUBLE_EQ(c.position(55), 70.0);
  EXPECT_DOUBLE_EQ(c.position(55 + 29), 76.0);
  EXPECT_EQ(c.position(200), 100.0);
  // Monotone and within [0, schedule_total] everywhere.
  double prev = -1;
  for (std::int64_t s = 0; s <= 210; ++s) {
    double p = c.position(s);
    EXPECT_GE(p, prev);
    EXPECT_LE(p, 100.0);
    prev = p;
  }
  EXPECT_TRUE(c.valid());
}

TEST(ScheduleClock, ALearningRateThroughAMovedHorizonIsContinuous) {
  // Cosine over 1000 steps, horizon moved at step 300 to 500: the lr at 300 is unchanged and reaches 0 at
  // 500; each step's change stays the size of a step's change before (no jump).
  optim::WarmupCosineSchedule cos{.warmup_steps = 0, .total_steps = 1000};
  ScheduleClock c = ScheduleClock::fixed(1000);
  const double before = cos.at(c.position(300));
  c.retarget(300, 500);
  EXPECT_EQ(cos.at(c.position(300)), before);
  EXPECT_EQ(cos.at(c.position(500)), 0.0);
  double largest = 0;
  for (std::int64_t s = 0; s < 500; ++s) largest = std::max(largest, std::abs(cos.at(c.position(s + 1)) - cos.at(c.position(s))));
  EXPECT_LT(largest, 2 * 3.1416 / 1000 * 3.5 / 2);  // the steepest slope, pi/2/1000, times the 3.5x squeeze
  // WarmupCosineSchedule::at agrees with operator() at whole steps.
  optim::WarmupCosineSchedule w{.warmup_steps = 10, .total_steps = 100, .peak = 2, .start = 0.5, .final_value = 0.1};
  for (std::int64_t s : {0, 3, 10, 11, 57, 99, 100, 150}) EXPECT_EQ(w.at(double(s)), w(s)) << s;
  EXPECT_DOUBLE_EQ(w.at(2.5), 0.5 + 1.5 * 0.25);
}

TEST(ScheduleClock, Errors) {
  EXPECT_TRUE(throws_with<ValueError>([] { ScheduleClock::fixed(0); }, {"ScheduleClock", "total 0"}));
  ScheduleClock c = ScheduleClock::fixed(100);
  c.retarget(50, 80);
  EXPECT_TRUE(throws_with<ValueError>([&] { c.retarget(40, 90); }, {"retarget", "step 40", "anchor 50"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { c.retarget(60, 60); }, {"retarget", "step 60", "new total 60"}));
  EXPECT_FALSE((ScheduleClock{10, 10, 11, 0}).valid());
  EXPECT_FALSE((ScheduleClock{10, 10, 0, 10.5}).valid());
  EXPECT_FALSE((ScheduleClock{10, 10, 0, NAN}).valid());
  EXPECT_FALSE((ScheduleClock{10, 0, 0, 0}).valid());
  EXPECT_TRUE(throws_with<ValueError>([] { BudgetPace(0, 0); }, {"BudgetPace", "budget_seconds 0"}));
  EXPECT_TRUE(throws_with<ValueError>([] { BudgetPace(INFINITY, 0); }, {"BudgetPace", "budget_seconds inf"}));
}

/// Feeds `pace` steps of `cost(step)` seconds from step `first` until `seconds` reaches the budget;
/// returns the estimates as (step, horizon).
template <class Cost>
std::vector<std::pair<std::int64_t, std::int64_t>> feed(BudgetPace& pace, double budget, std::int64_t first,
                                                        Cost cost) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  double t = 0;
  for (std::int64_t s = first + 1; t < budget; ++s) {
    t += cost(s);
    if (auto h = pace.observe(s, t)) out.emplace_back(s, *h);
  }
  return out;
}

TEST(BudgetPace, ASteadyPaceIsEstimatedOnceRightAndThenKept) {
  // 1 s a step, 1000 s: the first estimate at step 50 (25 steps and 5 % of the budget: 50 s) says 1000,
  // and so does every later one, at 150, 250, ... 950 s.
  BudgetPace pace(1000, 0);
  auto e = feed(pace, 1000, 0, [](std::int64_t) { return 1.0; });
  ASSERT_EQ(e.size(), 10u);
  EXPECT_EQ(e[0], (std::pair<std::int64_t, std::int64_t>{50, 1000}));
  for (std::size_t i = 1; i < e.size(); ++i) {
    EXPECT_EQ(e[i].first, 50 + 100 * std::int64_t(i));
    EXPECT_EQ(e[i].second, 1000);
  }
  EXPECT_EQ(pace.estimates(), 10);
}

TEST(BudgetPace, TheFirstEstimateWaitsFor25StepsAndExcludesTheWarmUp) {
  // Slow first 5 steps (10 s each), then 0.1 s: by step 25 (52 s) 5 % of 100 s has passed; the pace comes
  // from steps 5..25 only: 0.1 s, so (100 - 52) / 0.1 = 480 more steps.
  BudgetPace pace(100, 0);
  std::optional<std::int64_t> h;
  double t = 0;
  std::int64_t s = 1;
  for (; !h; ++s) {
    t += s <= 5 ? 10.0 : 0.1;
    h = pace.observe(s, t);
  }
  EXPECT_EQ(s - 1, 25);
  EXPECT_NEAR(double(*h), 25 + 480, 1.0);
}

TEST(BudgetPace, FollowsAPaceThatChanges) {
  // Twice as fast after 300 s: each estimate after the change uses the new pace, and the last one (at
  // 950 s) lands within a step of where the budget really ends.
  BudgetPace pace(1000, 0);
  auto cost = [](std::int64_t s) { return s <= 300 ? 1.0 : 0.5; };
  auto e = feed(pace, 1000, 0, cost);
  ASSERT_GE(e.size(), 9u);
  // Where 1000 s falls: 300 steps at 1 s, then 700 s at 0.5 s: step 1700.
  EXPECT_NEAR(double(e.back().second), 1700, 1.0);
  EXPECT_EQ(e[0].second, 1000);  // the first one could not know
  // Slower after 300 s: the same.
  BudgetPace slow(1000, 0);
  auto f = feed(slow, 1000, 0, [](std::int64_t s) { return s <= 300 ? 1.0 : 2.0; });
  EXPECT_NEAR(double(f.back().second), 300 + 350, 1.0);
}

TEST(BudgetPace, CountsFromTheFirstStepOfAResumedRun) {
  BudgetPace pace(100, 1000);
  auto e = feed(pace, 100, 1000, [](std::int64_t) { return 0.5; });
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0].first, 1025);
  EXPECT_EQ(e[0].second, 1200);
}

TEST(BudgetPace, AClockThatDoesNotMoveGivesNoEstimate) {
  // Frozen at 1 s for 40 steps (past 5 % of 10 s): no pace, no estimate; once it moves, one comes at the
  // next 10 % (1.5 s), from the pace since the frozen attempt.
  BudgetPace pace(10, 0);
  for (std::int64_t s = 1; s <= 40; ++s) EXPECT_FALSE(pace.observe(s, 1.0).has_value()) << s;
  EXPECT_EQ(pace.estimates(), 0);
  std::optional<std::int64_t> h;
  std::int64_t s = 41;
  for (; !h && s < 100; ++s) h = pace.observe(s, 1.0 + double(s - 40) * 0.125);
  EXPECT_EQ(s - 1, 44);  // 1.5 s
  ASSERT_TRUE(h.has_value());
  EXPECT_GT(*h, 44);
}

}  // namespace
}  // namespace simile
