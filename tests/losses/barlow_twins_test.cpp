#include <cmath>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(BarlowTwins, TwoRowsByHand) {
  // Columns standardize to +-a (variance 1) except z2's second column, +-b (variance 4, scaled back).
  Var<double> z1(Tensor<double>::from({1, 0, 3, 2}, {2, 2}));
  Var<double> z2(Tensor<double>::from({2, 5, 0, 1}, {2, 2}));
  const double eps = 1e-5, lambda = 0.1;
  const double a = 1 / std::sqrt(1 + eps), b = 2 / std::sqrt(4 + eps);
  // C = [[-a^2, -ab], [-a^2, -ab]].
  double want = (1 + a * a) * (1 + a * a) + (1 + a * b) * (1 + a * b) + lambda * (a * a * b * b + a * a * a * a);
  EXPECT_NEAR(barlow_twins(z1, z2, {.lambda = lambda}).item(), want, 1e-12);
}

TEST(BarlowTwins, Gradcheck) {
  for (auto [n, d] : {std::pair<Index, Index>{2, 3}, {7, 4}, {13, 1}})
    EXPECT_TRUE(grad_ok([](const V& x) { return barlow_twins(x[0], x[1], {.lambda = 0.3}); },
                        {random_param({n, d}, 1 + static_cast<std::uint64_t>(n)),
                         random_param({n, d}, 2 + static_cast<std::uint64_t>(n))}));
}

TEST(BarlowTwins, Invariants) {
  // Identical views with decorrelated (here: orthogonal, centered) columns give C = I: loss 0.
  Var<double> z(Tensor<double>::from({1, 1, -1, 1, 1, -1, -1, -1}, {4, 2}));
  EXPECT_NEAR(barlow_twins(z, z, {.eps = 1e-12}).item(), 0, 1e-9);
  // Per-dimension affine maps (scale > 0, shift) do not change the loss: it sees standardized columns.
  Tensor<double> a = random_tensor<double>({9, 3}, 3), b = random_tensor<double>({9, 3}, 4);
  Tensor<double> a2 = a.clone();
  for (Index i = 0; i < 9; ++i) a2.matrix().row(i) = a.matrix().row(i).cwiseProduct(Eigen::RowVector3d(2, 5, 0.5)) +
                                                      Eigen::RowVector3d(1, -3, 7);
  EXPECT_NEAR(barlow_twins(Var<double>(a), Var<double>(b), {.eps = 1e-12}).item(),
              barlow_twins(Var<double>(a2), Var<double>(b), {.eps = 1e-12}).item(), 1e-9);
}

TEST(BarlowTwins, Errors) {
  Var<float> a(Tensor<float>::ones({4, 3})), b(Tensor<float>::ones({4, 2})), one(Tensor<float>::ones({1, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { barlow_twins(a, b); }, {"barlow_twins", "[4, 3]", "[4, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { barlow_twins(one, one); }, {"barlow_twins", "1 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { barlow_twins(a, a, {.lambda = -1}); }, {"barlow_twins", "lambda -1"}));
}

}  // namespace
}  // namespace simile
