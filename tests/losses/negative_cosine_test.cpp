#include <cmath>
#include <numbers>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(NegativeCosine, TwoRowsByHand) {
  Var<double> p(Tensor<double>::from({1, 0, 0, 2}, {2, 2}), true);
  Var<double> z(Tensor<double>::from({1, 1, 0, -3}, {2, 2}), true);
  const double r = 1 / std::numbers::sqrt2;  // cos of row 0; row 1 is -1
  EXPECT_NEAR(negative_cosine(p, z).item(), -(r - 1) / 2, 1e-12);
  EXPECT_NEAR(negative_cosine(p, z, {.byol_form = true}).item(), 2 - (r - 1), 1e-12);
}

TEST(NegativeCosine, TargetGetsNoGradientAndGradcheckOnPrediction) {
  Var<double> p = random_param({5, 3}, 1), z = random_param({5, 3}, 2);
  negative_cosine(p, z).backward();
  EXPECT_TRUE(p.has_grad());
  EXPECT_FALSE(z.has_grad());  // stop-gradient even though z requires one
  Tensor<double> target = random_tensor<double>({7, 4}, 3);
  for (bool byol : {false, true})
    EXPECT_TRUE(grad_ok([&](const V& x) { return negative_cosine(x[0], Var<double>(target), {.byol_form = byol}); },
                        {random_param({7, 4}, 4)}));
  Tensor<double> z1 = random_tensor<double>({6, 3}, 5), z2 = random_tensor<double>({6, 3}, 6);
  EXPECT_TRUE(grad_ok(
      [&](const V& x) { return symmetric_negative_cosine(x[0], x[1], Var<double>(z1), Var<double>(z2)); },
      {random_param({6, 3}, 7), random_param({6, 3}, 8)}));
}

TEST(NegativeCosine, InvariantsAndSymmetrization) {
  Var<double> p = random_param({6, 4}, 9), z = random_param({6, 4}, 10);
  EXPECT_NEAR(negative_cosine(p, p).item(), -1, 1e-12);                           // aligned: the minimum
  EXPECT_NEAR(negative_cosine(p, -p).item(), 1, 1e-12);                           // opposite: the maximum
  EXPECT_NEAR(negative_cosine(p * 3.0, z * 0.2).item(), negative_cosine(p, z).item(), 1e-12);  // scale-free
  // BYOL's form is the squared distance of the normalized vectors.
  Var<double> sq = sum(pow(l2_normalize(p) - l2_normalize(z), 2.0), 1);
  EXPECT_NEAR(negative_cosine(p, z, {.byol_form = true}).item(), mean(sq).item(), 1e-12);
  Var<double> p2 = random_param({6, 4}, 11), z2 = random_param({6, 4}, 12);
  EXPECT_NEAR(symmetric_negative_cosine(p, p2, z, z2).item(),
              (negative_cosine(p, z2).item() + negative_cosine(p2, z).item()) / 2, 1e-12);
}

TEST(NegativeCosine, ErrorsNameTheShapes) {
  Var<float> a(Tensor<float>::ones({4, 3})), b(Tensor<float>::ones({4, 2}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { negative_cosine(a, b); }, {"negative_cosine", "[4, 3]", "[4, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { symmetric_negative_cosine(a, a, a, b); },
                                      {"symmetric_negative_cosine", "[4, 2]"}));
}

}  // namespace
}  // namespace simile
