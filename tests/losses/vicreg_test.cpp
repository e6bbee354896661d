#include <cmath>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(VicReg, TwoRowsByHand) {
  Var<double> z1(Tensor<double>::from({1, 0, 1.5, 0.2}, {2, 2}));
  Var<double> z2(Tensor<double>::from({0, 0, 0.4, 1}, {2, 2}));
  VicRegTerms<double> t = vicreg_terms(z1, z2);
  // Differences (1, 0), (1.1, -0.8).
  EXPECT_NEAR(t.invariance.item(), (1 + 0 + 1.21 + 0.64) / 4, 1e-12);
  // Unbiased column variances: z1 0.125, 0.02; z2 0.08, 0.5; all standard deviations below gamma = 1.
  auto hinge = [](double v) { return std::max(0.0, 1 - std::sqrt(v + 1e-4)); };
  double v1 = (hinge(0.125) + hinge(0.02)) / 2, v2 = (hinge(0.08) + hinge(0.5)) / 2;
  EXPECT_NEAR(t.variance.item(), (v1 + v2) / 2, 1e-12);
  // Off-diagonal covariances: z1 0.05, z2 0.2 (each appearing twice), divided by D = 2.
  double c = 2 * 0.05 * 0.05 / 2 + 2 * 0.2 * 0.2 / 2;
  EXPECT_NEAR(t.covariance.item(), c, 1e-12);
  EXPECT_NEAR(t.total.item(), 25 * t.invariance.item() + 25 * t.variance.item() + c, 1e-12);
  EXPECT_NEAR(vicreg(z1, z2).item(), t.total.item(), 1e-15);
}

TEST(VicReg, Gradcheck) {
  // Values around 0.3 keep every standard deviation below gamma (the hinge active) and away from its kink.
  for (auto [n, d] : {std::pair<Index, Index>{2, 3}, {7, 4}, {13, 1}})
    EXPECT_TRUE(grad_ok([](const V& x) { return vicreg(x[0], x[1]); },
                        {random_param({n, d}, 1 + static_cast<std::uint64_t>(n), -0.3, 0.3),
                         random_param({n, d}, 2 + static_cast<std::uint64_t>(n), -0.3, 0.3)}));
  EXPECT_TRUE(grad_ok([](const V& x) { return vicreg(x[0], x[1], {.gamma = 0.5}); },
                      {random_param({9, 3}, 5, -2, 2), random_param({9, 3}, 6, -2, 2)}));
}

TEST(VicReg, Invariants) {
  // Identical views spread wider than gamma with uncorrelated columns: every term is zero.
  Var<double> z(Tensor<double>::from({2, 2, -2, 2, 2, -2, -2, -2}, {4, 2}));
  VicRegTerms<double> t = vicreg_terms(z, z);
  EXPECT_EQ(t.invariance.item(), 0);
  EXPECT_EQ(t.variance.item(), 0);
  EXPECT_NEAR(t.covariance.item(), 0, 1e-15);
  // Collapse (every row equal) costs the full hinge: variance term gamma - sqrt(eps).
  Var<double> c(Tensor<double>::ones({5, 3}));
  EXPECT_NEAR(vicreg_terms(c, c).variance.item(), 1 - std::sqrt(1e-4), 1e-12);
}

TEST(VicReg, Errors) {
  Var<float> a(Tensor<float>::ones({4, 3})), b(Tensor<float>::ones({5, 3})), one(Tensor<float>::ones({1, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { vicreg(a, b); }, {"vicreg", "[4, 3]", "[5, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { vicreg(one, one); }, {"vicreg", "1 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { vicreg(a, a, {.eps = 0}); }, {"vicreg", "eps 0"}));
}

}  // namespace
}  // namespace simile
