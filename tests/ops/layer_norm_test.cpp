#include <cmath>
#include <tuple>
#include <vector>

#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(LayerNorm, ByHand) {
  // eps = 3 makes the numbers round. Row [1, 3]: mean 2, var 1, rstd 1 / sqrt(1 + 3) = 0.5, xhat [-0.5, 0.5].
  // Row [5, 5]: var 0, rstd 1 / sqrt(3), xhat [0, 0], so y = beta.
  Var<double> x(Tensor<double>::from({1, 3, 5, 5}, {2, 2}), true);
  Var<double> gamma(Tensor<double>::from({2, -1}, {2}), true);
  Var<double> beta(Tensor<double>::from({0.5, 0.5}, {2}), true);
  Var<double> y = layer_norm(x, gamma, beta, 3.0);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({-0.5, 0, 0.5, 0.5}, {2, 2}), 1e-15, 0));
  y.backward(Tensor<double>::from({1, 0, 1, 1}, {2, 2}));
  // Row 0: gg = dy gamma = [2, 0], mean(gg) = 1, mean(gg xhat) = -0.5:
  //   dx = 0.5 ([2, 0] - 1 - [-0.5, 0.5] (-0.5)) = [0.375, -0.375].
  // Row 1: gg = [2, -1], mean(gg) = 0.5, xhat = 0: dx = ([2, -1] - 0.5) / sqrt(3).
  const double r3 = 1 / std::sqrt(3.0);
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({0.375, -0.375, 1.5 * r3, -1.5 * r3}, {2, 2}), 1e-15, 1e-15));
  // dgamma = sum dy xhat = [-0.5, 0] + [0, 0]; dbeta = sum dy = [2, 1].
  EXPECT_TRUE(tensors_near(gamma.grad(), Tensor<double>::from({-0.5, 0}, {2}), 1e-15, 0));
  EXPECT_TRUE(tensors_near(beta.grad(), Tensor<double>::from({2, 1}, {2}), 0, 0));
}

TEST(LayerNorm, RowsHaveZeroMeanAndUnitVariance) {
  for (Shape s : {Shape{1, 2}, Shape{7, 3}, Shape{4, 5, 64}, Shape{130, 128}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<double> t = random_tensor<double>(s, 1, -3, 7);
    Var<double> ones(Tensor<double>::ones({s[s.rank() - 1]})), zeros(Tensor<double>::zeros({s[s.rank() - 1]}));
    Tensor<double> y = layer_norm(Var<double>(t), ones, zeros, 1e-12).value();
    const Index D = s[s.rank() - 1];
    for (Index i = 0; i < y.numel() / D; ++i) {
      double m = 0, v = 0;
      for (Index k = 0; k < D; ++k) m += y.data()[i * D + k];
      m /= double(D);
      for (Index k = 0; k < D; ++k) v += (y.data()[i * D + k] - m) * (y.data()[i * D + k] - m);
      EXPECT_NEAR(m, 0.0, 1e-14);
      EXPECT_NEAR(v / double(D), 1.0, 1e-10);
    }
  }
}

TEST(LayerNorm, InvariantToShiftAndScaleOfARow) {
  Tensor<double> t = random_tensor<double>({6, 9}, 2, -2, 2);
  Var<double> gamma(random_tensor<double>({9}, 3)), beta(random_tensor<double>({9}, 4));
  Tensor<double> y = layer_norm(Var<double>(t), gamma, beta, 1e-12).value();
  Tensor<double> moved = t.clone();
  moved.array() = moved.array() * 7.0 + 1e3;
  EXPECT_TRUE(tensors_near(layer_norm(Var<double>(moved), gamma, beta, 1e-12).value(), y, 1e-11, 1e-11));
}

TEST(LayerNorm, GradientRowsSumToZero) {
  // sum_k dx_ik = rstd (sum gg - D mean(gg) - mean(gg xhat) sum xhat) = 0, since sum_k xhat_ik = 0.
  Var<double> x = random_param({5, 11}, 5, -2, 2);
  Var<double> gamma(random_tensor<double>({11}, 6), true);
  layer_norm(x, gamma, Var<double>()).backward(random_tensor<double>({5, 11}, 7));
  for (Index i = 0; i < 5; ++i) EXPECT_NEAR(x.grad().matrix().row(i).sum(), 0.0, 1e-13);
}

TEST(LayerNorm, WithoutAffineParameters) {
  Tensor<double> t = random_tensor<double>({4, 6}, 8);
  Var<double> ones(Tensor<double>::ones({6})), zeros(Tensor<double>::zeros({6}));
  EXPECT_TRUE(tensors_near(layer_norm(Var<double>(t), Var<double>(), Var<double>()).value(),
                           layer_norm(Var<double>(t), ones, zeros).value(), 0, 0));
}

TEST(LayerNorm, Gradcheck) {
  for (Shape s : {Shape{1}, Shape{2}, Shape{3, 4}, Shape{2, 3, 5}, Shape{4, 130}, Shape{70, 3}}) {
    SCOPED_TRACE(s.to_string());
    const Index D = s[s.rank() - 1];
    EXPECT_TRUE(grad_ok([](const V& v) { return layer_norm(v[0], v[1], v[2]); },
                        {random_param(s, 9, -2, 2), random_param({D}, 10), random_param({D}, 11)}));
  }
  // A large mean relative to the spread, no affine parameters, one trainable input at a time.
  EXPECT_TRUE(grad_ok([](const V& v) { return layer_norm(v[0], Var<double>(), Var<double>()); },
                      {random_param({3, 6}, 12, 50, 51)}));
  Var<double> x(random_tensor<double>({5, 4}, 13));
  EXPECT_TRUE(grad_ok([&](const V& v) { return layer_norm(x, v[0], Var<double>()); }, {random_param({4}, 14)}));
  EXPECT_TRUE(grad_ok([&](const V& v) { return layer_norm(x, Var<double>(), v[0]); }, {random_param({4}, 15)}));
  // A large eps, where the variance is far from dominating.
  EXPECT_TRUE(grad_ok([](const V& v) { return layer_norm(v[0], v[1], v[2], 0.5); },
                      {random_param({3, 5}, 16), random_param({5}, 17), random_param({5}, 18)}));
}

TEST(LayerNorm, FloatWithALargeOffsetStaysAccurate) {
  // Rows around 1e4 with a spread of 1: the squares about the mean do not cancel.
  Tensor<double> t = random_tensor<double>({8, 32}, 19, 1e4 - 1, 1e4 + 1);
  Var<double> ones(Tensor<double>::ones({32})), zeros(Tensor<double>::zeros({32}));
  Tensor<double> yd = layer_norm(Var<double>(t), ones, zeros).value();
  Var<float> xf(t.to<float>(), true);
  Var<float> yf = layer_norm(xf, Var<float>(Tensor<float>::ones({32})), Var<float>(Tensor<float>::zeros({32})));
  EXPECT_TRUE(tensors_near(yf.value().to<double>(), yd, 5e-3, 0));
  yf.backward(random_tensor<float>({8, 32}, 20));
  for (float g : xf.grad().span()) EXPECT_TRUE(std::isfinite(g));
}

TEST(LayerNorm, SameBitsWithOneAndTwoThreads) {
  Tensor<float> t = random_tensor<float>({300, 130}, 21, -3, 3);
  Tensor<float> g = random_tensor<float>({300, 130}, 22);
  Tensor<float> gam = random_tensor<float>({130}, 23), bet = random_tensor<float>({130}, 24);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true), gamma(gam.clone(), true), beta(bet.clone(), true);
    Var<float> y = layer_norm(x, gamma, beta);
    y.backward(g);
    return std::make_tuple(y.value().clone(), x.grad().clone(), gamma.grad().clone(), beta.grad().clone());
  };
  auto [y1, gx1, gg1, gb1] = run(1);
  auto [y2, gx2, gg2, gb2] = run(2);
  EXPECT_TRUE(tensors_near(y1, y2, 0, 0));
  EXPECT_TRUE(tensors_near(gx1, gx2, 0, 0));
  EXPECT_TRUE(tensors_near(gg1, gg2, 0, 0));
  EXPECT_TRUE(tensors_near(gb1, gb2, 0, 0));
}

TEST(LayerNorm, Errors) {
  Var<double> x(Tensor<double>::zeros({2, 3}));
  Var<double> g3(Tensor<double>::ones({3})), g4(Tensor<double>::ones({4}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { layer_norm(Var<double>(Tensor<double>::scalar(1)), g3, g3); },
                                      {"layer_norm", "scalar"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { layer_norm(x, g4, g3); }, {"layer_norm", "gamma", "[4]", "[2, 3]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { layer_norm(x, g3, g4); }, {"layer_norm", "beta", "[4]", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { layer_norm(x, Var<double>(Tensor<double>::ones({1, 3})), g3); },
                                      {"layer_norm", "gamma", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { layer_norm(x, g3, g3, 0.0); }, {"layer_norm", "eps 0"}));
}

}  // namespace
}  // namespace simile
