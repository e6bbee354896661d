// conv2d_batch_norm_relu_max_pool2d (ops/conv_batch_norm.hpp): against conv2d then batch_norm_relu_max_pool2d
// as separate ops, its gradients against central differences, ties, thread counts, errors, and SmallConvNet's
// fused stem against its unfused blocked path.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/encoders.hpp"
#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::signed_gamma;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

struct StemCase {
  Shape x, w;
  Conv2dOptions conv;
  Index block;
};

// One and three input channels, blocks with a compile-time lane count (16, 8) and without (4), a strided
// unpadded convolution, a non-square image.
const StemCase stem_cases[] = {{{3, 1, 6, 8}, {32, 1, 3, 3}, {1, 1}, 16},
                               {{2, 3, 4, 6}, {16, 3, 3, 3}, {1, 1}, 8},
                               {{4, 1, 8, 8}, {8, 1, 3, 3}, {1, 1}, 4},
                               {{3, 2, 9, 9}, {8, 2, 3, 3}, {2, 0}, 8},
                               {{2, 1, 6, 6}, {8, 1, 1, 1}, {1, 0}, 8}};

// Every case, training and eval, affine or not: the same output, running statistics and gradients of the
// convolution's weight, gamma and beta as the separate ops (in double, the portable path), to rounding.
TEST(ConvBatchNorm, MatchesTheSeparateOps) {
  for (const StemCase& k : stem_cases)
    for (bool training : {true, false})
      for (bool affine : {true, false}) {
        SCOPED_TRACE(k.x.to_string() + " " + k.w.to_string() + " block " + std::to_string(k.block) +
                     (training ? " training" : " eval") + (affine ? " affine" : ""));
        const Index O = k.w[0];
        const Tensor<double> x0 = random_tensor<double>(k.x, 1, -1, 2);
        Tensor<double> rm[2], rv[2];
        Var<double> cw[2], w[2], b[2], y[2];
        for (int i = 0; i < 2; ++i) {
          rm[i] = random_tensor<double>({O}, 2, -0.5, 0.5);
          rv[i] = random_tensor<double>({O}, 3, 0.5, 2);
          cw[i] = Var<double>(random_tensor<double>(k.w, 4), true);
          w[i] = affine ? Var<double>(signed_gamma<double>(O, 5), true) : Var<double>();
          b[i] = affine ? Var<double>(random_tensor<double>({O}, 6), true) : Var<double>();
        }
        const BatchNormOptions opt{.training = training};
        const Var<double> x(x0);
        y[0] = to_blocked(
            batch_norm_relu_max_pool2d(conv2d(x, cw[0], Var<double>(), k.conv), w[0], b[0], rm[0], rv[0], opt, 2),
            k.block);
        y[1] = conv2d_batch_norm_relu_max_pool2d(x, cw[1], w[1], b[1], rm[1], rv[1], opt, k.block, k.conv, 2);
        EXPECT_EQ(std::string(y[1].op()), "conv2d_batch_norm_relu_max_pool2d");
        ASSERT_EQ(y[1].shape(), y[0].shape());
        EXPECT_TRUE(tensors_near(y[1].value(), y[0].value(), 1e-12, 1e-12));
        EXPECT_TRUE(tensors_near(rm[1], rm[0], 1e-14, 1e-13));
        EXPECT_TRUE(tensors_near(rv[1], rv[0], 1e-14, 1e-13));
        const Tensor<double> weights = random_tensor<double>(y[0].shape(), 7);
        for (int i = 0; i < 2; ++i) sum(mul(y[i], Var<double>(weights))).backward();
        EXPECT_TRUE(tensors_near(cw[1].grad(), cw[0].grad(), 1e-11, 1e-10));
        if (affine) {
          EXPECT_TRUE(tensors_near(w[1].grad(), w[0].grad(), 1e-12, 1e-10));
          EXPECT_TRUE(tensors_near(b[1].grad(), b[0].grad(), 1e-12, 1e-10));
        }
      }
}

TEST(ConvBatchNorm, Gradcheck) {
  // A bias of 3-4 after normalization keeps the ReLU's inputs positive; random inputs keep the pool's
  // windows free of ties.
  const Var<double> x(random_tensor<double>({3, 2, 4, 4}, 10, -1, 1));
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    Tensor<double> rm = random_tensor<double>({8}, 11), rv = random_tensor<double>({8}, 12, 0.5, 2);
    EXPECT_TRUE(grad_ok(
        [&](const V& v) {
          return conv2d_batch_norm_relu_max_pool2d(x, v[0], v[1], v[2], rm.clone(), rv.clone(), {.training = training},
                                                   4, {1, 1}, 2);
        },
        {random_param({8, 2, 3, 3}, 13), random_param({8}, 14, 0.5, 1.5), random_param({8}, 15, 3, 4)}));
  }
}

TEST(ConvBatchNorm, ByHand) {
  // One image [1, 1, 2, 2] = {1, 2, 3, 4}, one 1x1 tap of weight 2 per output channel, block 1, two images
  // so that the variance is over 8 values: x2 = {5, 6, 7, 8}. Conv: 2x; mean 9, var 4 * 5.25 = 21. The
  // 2x2 window keeps the last position of each image: (8 - 9) / sqrt(21 + eps) < 0 -> 0, (16 - 9) / ...
  const Var<double> x(Tensor<double>::from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 1, 2, 2}));
  const Var<double> cw(Tensor<double>::from({2}, {1, 1, 1, 1}), true);
  const Var<double> y = conv2d_batch_norm_relu_max_pool2d(x, cw, Var<double>(), Var<double>(), Tensor<double>(),
                                                          Tensor<double>(), {}, 1, {1, 0}, 2);
  ASSERT_EQ(y.shape(), (Shape{2, 1, 1, 1, 1}));
  EXPECT_NEAR(y.value().data()[0], 0.0, 1e-15);
  EXPECT_NEAR(y.value().data()[1], 7.0 / std::sqrt(21.0 + 1e-5), 1e-14);
  // Batch norm removes any scale of the convolution: the output does not depend on the weight (gradient 0
  // up to eps's share).
  sum(y).backward();
  EXPECT_NEAR(cw.grad().data()[0], 0.0, 1e-6);
}

// Ties (values from a few integers, so that windows tie, the ReLU's zeros among them) and NaN in eval mode,
// where equal inputs normalize to equal outputs, gamma of every sign (the op pools x, -x or neither before it
// normalizes): the first maximum in row-major order, NaN winning, as the separate ops.
TEST(ConvBatchNorm, TiesAndNanAsTheSeparateOps) {
  Tensor<double> x0 = random_tensor<double>({3, 1, 6, 6}, 20, -1.5, 2.5);
  for (double& v : x0.span()) v = std::round(v);
  for (Index i = 0; i < x0.numel(); i += 29) x0.data()[i] = std::nan("");
  const Tensor<double> rm = Tensor<double>::full({16}, 0.5), rv = Tensor<double>::full({16}, 2.0);
  // A 1x1 convolution of weight 1: the convolution's output is x itself, so ties stay ties.
  Var<double> cw[2] = {Var<double>(Tensor<double>::ones({16, 1, 1, 1}), true),
                       Var<double>(Tensor<double>::ones({16, 1, 1, 1}), true)};
  const BatchNormOptions eval{.training = false};
  const Var<double> w(signed_gamma<double>(16, 22)), b(Tensor<double>::full({16}, -0.25)), x(x0);
  Var<double> y[2];
  y[0] = to_blocked(
      batch_norm_relu_max_pool2d(conv2d(x, cw[0], Var<double>(), {1, 0}), w, b, rm.clone(), rv.clone(), eval, 2), 16);
  y[1] = conv2d_batch_norm_relu_max_pool2d(x, cw[1], w, b, rm.clone(), rv.clone(), eval, 16, {1, 0}, 2);
  Index nans = 0;
  for (Index i = 0; i < y[0].numel(); ++i) {
    const double a = y[0].value().data()[i], c = y[1].value().data()[i];
    nans += std::isnan(a);
    // To rounding: this header-only op runs as the test compiles it (-O0, no FMA contraction), the separate ops
    // as the library does; a different maximum would be a different value, not an ulp away.
    EXPECT_TRUE(std::isnan(a) ? std::isnan(c) : std::abs(a - c) <= 1e-15 * std::abs(a))
        << i << ": " << a << " against " << c;
  }
  EXPECT_GT(nans, 0);  // the case is what it says
  const Tensor<double> weights = random_tensor<double>(y[0].shape(), 21);
  for (int i = 0; i < 2; ++i) sum(mul(y[i], Var<double>(weights))).backward();
  // NaN reaches the weight's gradient through x = NaN in both or neither.
  for (Index i = 0; i < 16; ++i) {
    const double a = cw[0].grad().data()[i], c = cw[1].grad().data()[i];
    EXPECT_TRUE(std::isnan(a) ? std::isnan(c) : std::abs(a - c) <= 1e-12 * (1 + std::abs(a))) << i;
  }
}

TEST(ConvBatchNorm, SameBitsWithOneAndTwoThreadsInFloat) {
  const Tensor<float> x0 = random_tensor<float>({16, 1, 12, 12}, 30, 0, 1);
  const Tensor<float> w0 = random_tensor<float>({32, 1, 3, 3}, 31);
  const Tensor<float> seed = random_tensor<float>({16, 2, 6, 6, 16}, 32);
  Tensor<float> out[2], grad[2], gamma_grad[2], var[2];
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    Var<float> cw(w0.clone(), true), w(Tensor<float>::full({32}, 1.5f), true), b(Tensor<float>::zeros({32}), true);
    Tensor<float> rm = Tensor<float>::zeros({32}), rv = Tensor<float>::ones({32});
    Var<float> y = conv2d_batch_norm_relu_max_pool2d(Var<float>(x0), cw, w, b, rm, rv, {}, 16, {1, 1}, 2);
    y.backward(seed);
    out[threads - 1] = y.value().clone(), grad[threads - 1] = cw.grad().clone();
    gamma_grad[threads - 1] = w.grad().clone(), var[threads - 1] = rv;
  }
  EXPECT_TRUE(tensors_near(out[0], out[1], 0, 0));
  EXPECT_TRUE(tensors_near(grad[0], grad[1], 0, 0));
  EXPECT_TRUE(tensors_near(gamma_grad[0], gamma_grad[1], 0, 0));
  EXPECT_TRUE(tensors_near(var[0], var[1], 0, 0));
}

TEST(ConvBatchNorm, Errors) {
  const Var<double> x(random_tensor<double>({2, 1, 4, 4}, 40)), cw(random_tensor<double>({8, 1, 3, 3}, 41), true);
  Tensor<double> rm = Tensor<double>::zeros({8}), rv = Tensor<double>::ones({8});
  const Var<double> none;
  const char* op = "conv2d_batch_norm_relu_max_pool2d";
  auto run = [&](const Var<double>& in, const Var<double>& weight, Index block, Conv2dOptions conv, Index kernel,
                 const Var<double>& gamma = Var<double>()) {
    conv2d_batch_norm_relu_max_pool2d(in, weight, gamma, none, rm, rv, {}, block, conv, kernel);
  };
  EXPECT_TRUE(throws_with<ValueError>(
      [&] {
        run(Var<double>(x.value(), true), cw, 8, {1, 1}, 2);
      },
      {op, "[2, 1, 4, 4]", "requires a gradient"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] {
        run(Var<double>(Tensor<double>::zeros({2, 4, 4, 4})), Var<double>(Tensor<double>::zeros({8, 4, 3, 3})), 8,
            {1, 1}, 2);
      },
      {op, "36 taps", "at most 27"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, cw, 3, {1, 1}, 2); }, {op, "block 3", "8 output channels"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, cw, 0, {1, 1}, 2); }, {op, "block 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, cw, 128, {1, 1}, 2); }, {op, "block 128"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, cw, 8, {1, 1}, 3); }, {op, "3x3 windows", "4x4 output"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(x, Var<double>(Tensor<double>::zeros({8, 2, 3, 3})), 8, {1, 1}, 2);
      },
      {op, "[2, 1, 4, 4]", "[8, 2, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(x, cw, 8, {1, 1}, 2, Var<double>(Tensor<double>::ones({4})));
      },
      {op, "weight", "[4]", "8 channels"}));
  // A failed call leaves the running statistics untouched.
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::zeros({8}), 0, 0));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::ones({8}), 0, 0));
}

// SmallConvNet in float on the blocked path: the fused stem (the default) and conv1 through oneDNN give the
// same representation and gradients to float rounding; an input requiring a gradient, or odd sides, take
// the unfused path.
TEST(ConvBatchNorm, SmallConvNetFusedStemAsUnfused) {
  if (channel_block<float>() == 0) GTEST_SKIP() << "no channel-blocked layout on this machine";
  const Tensor<float> x0 = random_tensor<float>({8, 1, 12, 12}, 50, 0, 1);
  Tensor<float> h[2], grad[2];
  for (bool fuse : {false, true}) {
    Rng rng(51);
    encoders::SmallConvNet<float> net({.widths = {16, 16, 16}, .fuse_stem = fuse}, rng);
    ASSERT_TRUE(net.runs_blocked());
    EXPECT_EQ(net.fuses_stem(Var<float>(x0)), fuse);
    EXPECT_FALSE(net.fuses_stem(Var<float>(x0, true)));
    EXPECT_FALSE(net.fuses_stem(Var<float>(Tensor<float>::zeros({8, 1, 11, 12}))));
    Var<float> out = net.forward(Var<float>(x0));
    sum(mul(out, out)).backward();
    h[fuse] = out.value().clone();
    const auto params = net.named_parameters();
    ASSERT_EQ(params[0].first, "conv1.weight");
    grad[fuse] = params[0].second.grad().clone();
  }
  EXPECT_TRUE(tensors_near(h[1], h[0], 1e-4, 1e-4));
  EXPECT_TRUE(tensors_near(grad[1], grad[0], 1e-3, 1e-3));
}

}  // namespace
}  // namespace simile
