#include "simile/optim/schedule.hpp"

#include <cmath>
#include <numbers>

#include "simile/optim/sgd.hpp"
#include "simile/optim.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

TEST(Schedule, ConstantAndStep) {
  optim::ConstantSchedule c{0.3};
  EXPECT_EQ(c(0), 0.3);
  EXPECT_EQ(c(1000000), 0.3);
  optim::StepSchedule s{.initial = 2, .step_size = 10, .gamma = 0.5};
  EXPECT_EQ(s(0), 2);
  EXPECT_EQ(s(9), 2);
  EXPECT_EQ(s(10), 1);
  EXPECT_EQ(s(29), 0.5);
  EXPECT_EQ(s(30), 0.25);
  static_assert(optim::Schedule<optim::StepSchedule>);
}

TEST(Schedule, WarmupCosineHitsItsValues) {
  optim::WarmupCosineSchedule s{.warmup_steps = 10, .total_steps = 110, .peak = 0.4, .start = 0, .final_value = 0.004};
  EXPECT_EQ(s(0), 0);
  EXPECT_NEAR(s(5), 0.2, 1e-15);                // halfway through the warmup
  EXPECT_NEAR(s(10), 0.4, 1e-15);               // warmup end: the peak
  EXPECT_NEAR(s(60), (0.4 + 0.004) / 2, 1e-15);  // halfway through the cosine: the mean of peak and final
  EXPECT_NEAR(s(35), 0.004 + 0.396 * 0.5 * (1 + std::cos(std::numbers::pi / 4)), 1e-15);
  EXPECT_NEAR(s(110), 0.004, 1e-15);            // the last step: the final value
  EXPECT_EQ(s(500), 0.004);
  // Monotone: up during the warmup, down after.
  for (std::int64_t t = 1; t <= 10; ++t) EXPECT_GT(s(t), s(t - 1));
  for (std::int64_t t = 11; t <= 110; ++t) EXPECT_LT(s(t), s(t - 1));
  // Without warmup it starts at the peak; BYOL's EMA momentum rises from 0.996 to 1.
  optim::WarmupCosineSchedule tau{.warmup_steps = 0, .total_steps = 1000, .peak = 0.996, .final_value = 1};
  EXPECT_EQ(tau(0), 0.996);
  EXPECT_NEAR(tau(500), 0.998, 1e-15);
  EXPECT_EQ(tau(1000), 1);
}

TEST(Schedule, BadArgumentsThrow) {
  EXPECT_TRUE(throws_with<ValueError>([] { optim::ConstantSchedule{}(-1); }, {"ConstantSchedule", "-1"}));
  EXPECT_TRUE(throws_with<ValueError>([] { optim::StepSchedule{.step_size = 0}(3); }, {"StepSchedule", "step_size 0"}));
  EXPECT_TRUE(throws_with<ValueError>([] { optim::WarmupCosineSchedule{.warmup_steps = 5, .total_steps = 5}(0); },
                                      {"WarmupCosineSchedule", "warmup_steps 5", "total_steps 5"}));
  EXPECT_TRUE(throws_with<ValueError>([] { optim::WarmupCosineSchedule{}(-2); }, {"WarmupCosineSchedule", "-2"}));
}

TEST(LrScheduler, KeepsEachGroupsRatio) {
  Var<double> a(Tensor<double>::zeros({1}), true), b(Tensor<double>::zeros({1}), true);
  optim::SGD<double> opt({{{a}, {.lr = 0.2}}, {{b}, {.lr = 0.02}}});
  optim::LrScheduler<double> sched(opt, optim::WarmupCosineSchedule{.warmup_steps = 4, .total_steps = 20});
  EXPECT_EQ(sched.base_lrs(), (std::vector<double>{0.2, 0.02}));
  EXPECT_EQ(sched.apply(0), 0);
  EXPECT_EQ(opt.lr(0), 0);
  sched.apply(2);
  EXPECT_NEAR(opt.lr(0), 0.1, 1e-15);
  EXPECT_NEAR(opt.lr(1), 0.01, 1e-15);
  sched.apply(4);
  EXPECT_NEAR(opt.lr(0), 0.2, 1e-15);
  EXPECT_NEAR(opt.lr(1), 0.02, 1e-15);
  for (std::int64_t t = 5; t < 20; ++t) {
    sched.apply(t);
    EXPECT_NEAR(opt.lr(0) / opt.lr(1), 10, 1e-12) << "step " << t;
  }
  sched.apply(20);
  EXPECT_EQ(opt.lr(0), 0);
  // A resumed run passes the base lrs explicitly.
  optim::LrScheduler<double> resumed(opt, optim::StepSchedule{.initial = 1, .step_size = 5, .gamma = 0.1}, {0.2, 0.02});
  resumed.apply(7);
  EXPECT_NEAR(opt.lr(0), 0.02, 1e-15);
  EXPECT_NEAR(opt.lr(1), 0.002, 1e-15);
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::LrScheduler<double>(opt, optim::ConstantSchedule{}, {0.1}); },
                                      {"LrScheduler", "1 base", "2 groups"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::scale_lrs(opt, {0.1, 0.1}, -1); }, {"scale_lrs", "factor -1"}));
}

}  // namespace
}  // namespace simile
