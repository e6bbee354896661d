#include "simile/nn/init.hpp"

#include <cmath>

#include "simile/nn/linear.hpp"
#include "simile/nn.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

struct Moments {
  double mean = 0, var = 0, min = INFINITY, max = -INFINITY;
};
template <class T>
Moments moments(const Tensor<T>& t) {
  Moments m;
  for (T v : t.span()) {
    m.mean += v;
    m.min = std::min<double>(m.min, v);
    m.max = std::max<double>(m.max, v);
  }
  m.mean /= static_cast<double>(t.numel());
  for (T v : t.span()) m.var += (v - m.mean) * (v - m.mean);
  m.var /= static_cast<double>(t.numel() - 1);
  return m;
}

TEST(Init, FansOfLinearAndConvWeights) {
  EXPECT_EQ(nn::init::fans(Tensor<float>::empty({8, 5})), (std::pair<Index, Index>{5, 8}));
  EXPECT_EQ(nn::init::fans(Tensor<float>::empty({16, 3, 3, 5})), (std::pair<Index, Index>{45, 240}));
  EXPECT_TRUE(throws_with<ShapeError>([] { nn::init::fans(Tensor<float>::empty({7})); }, {"init::fans", "[7]", "rank"}));
}

TEST(Init, GainsAsPyTorch) {
  using nn::init::Nonlinearity;
  EXPECT_DOUBLE_EQ(nn::init::gain(Nonlinearity::linear), 1.0);
  EXPECT_DOUBLE_EQ(nn::init::gain(Nonlinearity::sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(nn::init::gain(Nonlinearity::tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(nn::init::gain(Nonlinearity::relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(nn::init::gain(Nonlinearity::leaky_relu, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(Init, DefaultLayerInitIsUniformWithinOneOverSqrtFanIn) {
  // fan_in = 4 * 3 * 3 = 36: bound 1/6. A uniform U(-b, b) has variance b^2 / 3.
  Tensor<double> w = Tensor<double>::empty({64, 4, 3, 3});
  Tensor<double> b = Tensor<double>::empty({64});
  Rng rng(1);
  nn::init::default_layer_init(w, b, rng);
  Moments mw = moments(w);
  EXPECT_LE(mw.max, 1.0 / 6 + 1e-12);
  EXPECT_GE(mw.min, -1.0 / 6 - 1e-12);
  EXPECT_GT(mw.max, 0.98 / 6);  // the range is used, not a smaller one
  EXPECT_LT(mw.min, -0.98 / 6);
  EXPECT_NEAR(mw.mean, 0, 0.01);
  EXPECT_NEAR(mw.var, 1.0 / 36 / 3, 0.1 * (1.0 / 36 / 3));
  Moments mb = moments(b);
  EXPECT_LE(mb.max, 1.0 / 6);
  EXPECT_GE(mb.min, -1.0 / 6);
  // Same seed, same values; another seed, others.
  Tensor<double> w2 = Tensor<double>::empty({64, 4, 3, 3});
  Rng same(1), other(2);
  nn::init::default_layer_init(w2, Tensor<double>(), same);
  EXPECT_TRUE(testing::tensors_near(w, w2, 0, 0));
  nn::init::default_layer_init(w2, Tensor<double>(), other);
  EXPECT_FALSE(testing::tensors_near(w, w2, 0, 0));
}

TEST(Init, KaimingNormalUsesFanOutAndReluGain) {
  // fan_out = 32 * 3 * 3 = 288: std = sqrt(2 / 288) = 1/12.
  Tensor<float> w = Tensor<float>::empty({32, 64, 3, 3});
  Rng rng(3);
  nn::init::kaiming_normal(w, rng);
  Moments m = moments(w);
  EXPECT_NEAR(m.mean, 0, 0.003);
  EXPECT_NEAR(std::sqrt(m.var), 1.0 / 12, 0.02 / 12);
  // Uniform form with fan_in and relu: bound sqrt(6 / fan_in), fan_in = 576.
  nn::init::kaiming_uniform(w, rng, {.a = 0, .mode = nn::init::FanMode::fan_in, .nonlinearity = nn::init::Nonlinearity::relu});
  m = moments(w);
  EXPECT_LE(m.max, std::sqrt(6.0 / 576) + 1e-7);
  EXPECT_NEAR(m.var, 6.0 / 576 / 3, 0.03 * 6.0 / 576 / 3);
}

TEST(Init, XavierUniformAndNormal) {
  // fan_in + fan_out = 100 + 300: bound sqrt(6 / 400), variance 2 / 400.
  Tensor<double> w = Tensor<double>::empty({300, 100});
  Rng rng(4);
  nn::init::xavier_uniform(w, rng);
  Moments m = moments(w);
  EXPECT_LE(m.max, std::sqrt(6.0 / 400));
  EXPECT_GE(m.min, -std::sqrt(6.0 / 400));
  EXPECT_NEAR(m.var, 2.0 / 400, 0.03 * 2.0 / 400);
  nn::init::xavier_normal(w, rng, 2.0);
  m = moments(w);
  EXPECT_NEAR(m.var, 4 * 2.0 / 400, 0.03 * 4 * 2.0 / 400);
}

TEST(Init, LinearLayerUsesTheDefault) {
  Rng rng(5);
  nn::Linear<double> fc(nn::LinearOptions{25, 400}, rng);  // bound 1/5
  Moments mw = moments(fc.weight().value());
  EXPECT_LE(mw.max, 0.2);
  EXPECT_GE(mw.min, -0.2);
  EXPECT_NEAR(mw.var, 0.04 / 3, 0.05 * 0.04 / 3);
  Moments mb = moments(fc.bias().value());
  EXPECT_LE(mb.max, 0.2);
  EXPECT_GE(mb.min, -0.2);
}

TEST(Init, BadArgumentsThrow) {
  Tensor<double> t = Tensor<double>::empty({2, 2});
  Rng rng(6);
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::init::uniform(t, 1.0, 0.0, rng); }, {"init::uniform", "1", "0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::init::normal(t, 0.0, -1.0, rng); }, {"init::normal", "-1"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::init::kaiming_uniform(Tensor<double>::empty({3, 0}), rng); },
                                      {"kaiming_uniform", "[3, 0]", "zero fan"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::init::xavier_uniform(Tensor<double>::empty({3}), rng); },
                                      {"init::fans", "[3]"}));
}

}  // namespace
}  // namespace simile
