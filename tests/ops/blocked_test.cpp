// Channel-blocked activations (ops/blocked.hpp): the layout conversions, the blocked adaptive pool and
// batch-norm kernel against the NCHW ones, conv2d_blocked against conv2d, and SmallConvNet's and ResNet-18's
// blocked paths against their NCHW ones.
#include <cmath>
#include <cstring>
#include <optional>
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

TEST(Blocked, LayoutByHand) {
  // x [1, 4, 1, 2] in block 2: blocked[0, cb, 0, w, l] = x[0, 2 cb + l, 0, w].
  Var<double> x(Tensor<double>::from({0, 1, 10, 11, 20, 21, 30, 31}, {1, 4, 1, 2}), true);
  Var<double> b = to_blocked(x, 2);
  EXPECT_EQ(b.shape(), (Shape{1, 2, 1, 2, 2}));
  EXPECT_TRUE(tensors_near(b.value(), Tensor<double>::from({0, 10, 1, 11, 20, 30, 21, 31}, {1, 2, 1, 2, 2}), 0, 0));
  Var<double> back = from_blocked(b);
  EXPECT_TRUE(tensors_near(back.value(), x.value(), 0, 0));
  // Backward is the inverse permutation: d(sum(w * back))/dx = w.
  Tensor<double> w = random_tensor<double>(x.shape(), 1);
  sum(mul(back, Var<double>(w))).backward();
  EXPECT_TRUE(tensors_near(x.grad(), w, 0, 0));
}

TEST(Blocked, ConversionsGradcheck) {
  Var<double> x = random_param({2, 6, 3, 2}, 2);
  EXPECT_TRUE(grad_ok([](const V& v) { return mul(from_blocked(to_blocked(v[0], 3)), v[0]); }, {x}));
  Var<double> xb = random_param({2, 2, 3, 2, 4}, 3);
  EXPECT_TRUE(grad_ok([](const V& v) { return to_blocked(mul(from_blocked(v[0]), from_blocked(v[0])), 4); }, {xb}));
}

TEST(Blocked, ConversionErrors) {
  Var<double> x(random_tensor<double>({2, 6, 3, 3}, 4));
  EXPECT_TRUE(throws_with<ShapeError>([&] { to_blocked(x, 4); }, {"to_blocked", "[2, 6, 3, 3]", "block 4"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { to_blocked(x, 0); }, {"to_blocked", "block 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { to_blocked(Var<double>(random_tensor<double>({6, 3}, 5)), 3); },
                                      {"to_blocked", "[6, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { from_blocked(x); }, {"from_blocked", "[2, 6, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { from_blocked(Var<double>(Tensor<double>::zeros({1, 1, 1, 1, 0}))); },
                                      {"from_blocked"}));
}

TEST(Blocked, AdaptiveAvgPoolByHand) {
  // One 3x3 plane of two lanes (lane 1 ten times lane 0) onto 2x2 cells that overlap in the middle row and
  // column: cell (0, 0) holds positions 0, 1, 3, 4, cell (0, 1) 1, 2, 4, 5, and so on.
  std::vector<double> v;
  for (int k = 0; k < 9; ++k) v.insert(v.end(), {double(k), 10.0 * k});
  Var<double> x(Tensor<double>::from(v, {1, 1, 3, 3, 2}), true);
  Var<double> y = adaptive_avg_pool2d_blocked(x, 2, 2);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2, 2}));
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({2, 20, 3, 30, 5, 50, 6, 60}, {1, 1, 2, 2, 2}), 0, 1e-15));
  sum(y).backward();
  // Each position gets 1/4 from every cell it is in: corners one cell, edges' middles two, the centre four.
  const std::vector<double> times = {1, 2, 1, 2, 4, 2, 1, 2, 1};
  std::vector<double> want;
  for (double t : times) want.insert(want.end(), {t / 4, t / 4});
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from(want, {1, 1, 3, 3, 2}), 0, 1e-15));
}

// The blocked pool equals the NCHW one to the bit, values and gradients (an input used twice, so the
// second backward adds to the first's gradient), for blocks with and without a vector's width, cells that
// overlap, tile or are single positions.
TEST(Blocked, AdaptiveAvgPoolEqualsTheNchwOpBitForBit) {
  struct Case { Index h, w, oh, ow; };
  for (Index block : {16, 8, 4, 3})
    for (Case k : {Case{7, 7, 2, 2}, Case{7, 7, 1, 1}, Case{7, 7, 3, 3}, Case{5, 6, 3, 2}, Case{4, 4, 4, 4}}) {
      SCOPED_TRACE("block " + std::to_string(block) + " " + std::to_string(k.h) + "x" + std::to_string(k.w) +
                   " -> " + std::to_string(k.oh) + "x" + std::to_string(k.ow));
      const Tensor<float> x0 = random_tensor<float>({3, 2 * block, k.h, k.w}, 30 + block, -2, 3);
      Var<float> x[2] = {Var<float>(x0.clone(), true), Var<float>(x0.clone(), true)};
      const Var<float> weights(random_tensor<float>({3, 2 * block, k.oh, k.ow}, 31));
      const Var<float> xb = to_blocked(x[1], block);
      Var<float> y[2] = {adaptive_avg_pool2d(x[0], k.oh, k.ow),
                         from_blocked(adaptive_avg_pool2d_blocked(xb, k.oh, k.ow))};
      ASSERT_TRUE(tensors_near(y[1].value(), y[0].value(), 0, 0));
      add(sum(mul(y[0], weights)), sum(adaptive_avg_pool2d(x[0], k.oh, k.ow))).backward();
      add(sum(mul(y[1], weights)), sum(from_blocked(adaptive_avg_pool2d_blocked(xb, k.oh, k.ow)))).backward();
      EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 0, 0));
    }
}

TEST(Blocked, AdaptiveAvgPoolGradcheckAndErrors) {
  Var<double> x = random_param({2, 2, 5, 6, 4}, 32);
  EXPECT_TRUE(grad_ok([](const V& v) { return adaptive_avg_pool2d_blocked(v[0], 2, 3); }, {x}));
  EXPECT_TRUE(grad_ok([](const V& v) { return adaptive_avg_pool2d_blocked(v[0], 1, 1); }, {x}));
  const Var<double> nchw(Tensor<double>::zeros({2, 4, 3, 3})), empty(Tensor<double>::zeros({2, 1, 0, 3, 4}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { adaptive_avg_pool2d_blocked(nchw, 2, 2); },
                                      {"adaptive_avg_pool2d_blocked", "[2, 4, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { adaptive_avg_pool2d_blocked(empty, 1, 1); },
                                      {"adaptive_avg_pool2d_blocked", "empty plane"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { adaptive_avg_pool2d_blocked(x, 0, 2); },
                                      {"adaptive_avg_pool2d_blocked", "0x2"}));
}

// bn_relu_pool2 on a plane of odd height (the last row in no window), bn_relu_pool2_tiled on one the 2x2
// windows tile (the kernel's one-pass backward), bn_relu_pool3 with overlapping windows and padding.
enum class Stage { bn, bn_relu, bn_relu_pool2, bn_relu_pool2_tiled, bn_relu_pool3 };

/// The op of `stage` on x (NCHW or blocked), with its own running buffers.
Var<double> stage_op(Stage stage, const Var<double>& x, const Var<double>& w, const Var<double>& b,
                     const Tensor<double>& rm, const Tensor<double>& rv, const BatchNormOptions& opt) {
  switch (stage) {
    case Stage::bn: return batch_norm(x, w, b, rm, rv, opt);
    case Stage::bn_relu: return batch_norm_relu(x, w, b, rm, rv, opt);
    case Stage::bn_relu_pool2:
    case Stage::bn_relu_pool2_tiled: return batch_norm_relu_max_pool2d(x, w, b, rm, rv, opt, 2);
    default: return batch_norm_relu_max_pool2d(x, w, b, rm, rv, opt, 3, 2, 1);
  }
}

// Every epilogue, training and eval, affine or not, blocks with a compile-time lane count (16, 8) and
// without (4): the blocked kernel's output, gradients and running statistics equal the NCHW kernel's.
TEST(Blocked, BatchNormMatchesTheNchwKernel) {
  for (Index block : {16, 8, 4})
    for (Stage stage :
         {Stage::bn, Stage::bn_relu, Stage::bn_relu_pool2, Stage::bn_relu_pool2_tiled, Stage::bn_relu_pool3})
      for (bool training : {true, false})
        for (bool affine : {true, false}) {
          SCOPED_TRACE("block " + std::to_string(block) + " stage " + std::to_string(int(stage)) + " training " +
                       std::to_string(training) + " affine " + std::to_string(affine));
          const Index C = 2 * block;
          const Index H = stage == Stage::bn_relu_pool2_tiled ? 4 : 5;
          const Tensor<double> x0 = random_tensor<double>({3, C, H, 6}, 10 + block, -2, 3);
          Tensor<double> rm[2], rv[2];
          Var<double> x[2], w[2], b[2], y[2];
          for (int k = 0; k < 2; ++k) {
            rm[k] = random_tensor<double>({C}, 7, -0.5, 0.5);
            rv[k] = random_tensor<double>({C}, 8, 0.5, 2);
            x[k] = Var<double>(x0.clone(), true);
            w[k] = affine ? Var<double>(signed_gamma<double>(C, 9), true) : Var<double>();
            b[k] = affine ? Var<double>(random_tensor<double>({C}, 11), true) : Var<double>();
          }
          const BatchNormOptions opt{.training = training}, blocked{.training = training, .blocked = true};
          y[0] = stage_op(stage, x[0], w[0], b[0], rm[0], rv[0], opt);
          y[1] = from_blocked(stage_op(stage, to_blocked(x[1], block), w[1], b[1], rm[1], rv[1], blocked));
          ASSERT_TRUE(tensors_near(y[1].value(), y[0].value(), 1e-12, 1e-12));
          EXPECT_TRUE(tensors_near(rm[1], rm[0], 1e-14, 1e-13));
          EXPECT_TRUE(tensors_near(rv[1], rv[0], 1e-14, 1e-13));
          const Tensor<double> weights = random_tensor<double>(y[0].shape(), 12);
          for (int k = 0; k < 2; ++k) sum(mul(y[k], Var<double>(weights))).backward();
          EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 1e-12, 1e-10));
          if (affine) {
            EXPECT_TRUE(tensors_near(w[1].grad(), w[0].grad(), 1e-12, 1e-10));
            EXPECT_TRUE(tensors_near(b[1].grad(), b[0].grad(), 1e-12, 1e-10));
          }
        }
}

// Windows that tile the plane (the one-pass forward) under ties and NaN, in eval mode so that equal inputs
// normalize to equal outputs: values from {-1, 0, 1, 2} (ties everywhere, the ReLU's zeros among them) and
// a NaN in some windows, gamma of every sign (the blocked op pools x, -x or neither before it normalizes).
// The blocked op takes the same maximum, the first in row-major order, NaN winning, as the NCHW op: the same
// output bit for bit (NaN where it is) and the same x gradient.
TEST(Blocked, BatchNormPoolTiesAndNanAsTheNchwKernel) {
  for (Index block : {16, 8, 4}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const Index C = 2 * block;
    Tensor<double> x0 = random_tensor<double>({3, C, 4, 6}, 70 + block, -1.5, 2.5);
    for (double& v : x0.span()) v = std::round(v);
    for (Index i = 0; i < x0.numel(); i += 37) x0.data()[i] = std::nan("");
    const Tensor<double> rm = Tensor<double>::full({C}, 0.5), rv = Tensor<double>::full({C}, 2.0);
    Var<double> x[2], y[2];
    for (int k = 0; k < 2; ++k) {
      x[k] = Var<double>(x0.clone(), true);
      const BatchNormOptions opt{.training = false, .blocked = k == 1};
      const Var<double> w(signed_gamma<double>(C, 75)), b(Tensor<double>::full({C}, -0.25));
      const Var<double> in = k == 0 ? x[k] : to_blocked(x[k], block);
      const Var<double> out = batch_norm_relu_max_pool2d(in, w, b, rm.clone(), rv.clone(), opt, 2);
      y[k] = k == 0 ? out : from_blocked(out);
    }
    ASSERT_EQ(y[0].shape(), y[1].shape());
    Index nans = 0;
    for (Index i = 0; i < y[0].numel(); ++i) {
      const double a = y[0].value().data()[i], b = y[1].value().data()[i];
      nans += std::isnan(a);
      EXPECT_TRUE(std::isnan(a) ? std::isnan(b) : a == b) << i << ": " << a << " against " << b;
    }
    EXPECT_GT(nans, 0);  // the case is what it says
    const Tensor<double> weights = random_tensor<double>(y[0].shape(), 74);
    for (int k = 0; k < 2; ++k) sum(mul(y[k], Var<double>(weights))).backward();
    EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 0, 0));
  }
}

// Where rounding maps two x of a window to one normalized value, the blocked op (pooling x before it
// normalizes) takes the larger x (the smaller where gamma < 0) and the NCHW op, comparing the equal normalized
// values, the first: the same output, dy at another position of that value. Window {v, v / 2, v / 2, v'} with
// v' one ulp past v (v = 1 where gamma > 0, -1 where gamma < 0) and a shift of 1e3, where that ulp is lost.
TEST(Blocked, BatchNormPoolRoundingTiesGoToTheExtremeX) {
  for (Index block : {16, 4}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const Index C = 16;
    const Tensor<double> gamma = signed_gamma<double>(C, 80);
    Tensor<double> x0 = Tensor<double>::empty({1, C, 2, 2});
    for (Index c = 0; c < C; ++c) {
      const double v = gamma.data()[c] < 0 ? -1.0 : 1.0;
      double* p = x0.data() + c * 4;
      p[0] = v, p[1] = p[2] = v / 2, p[3] = std::nextafter(v, 2 * v);
    }
    const Tensor<double> rm = Tensor<double>::zeros({C}), rv = Tensor<double>::ones({C});
    Var<double> x[2], y[2];
    for (int k = 0; k < 2; ++k) {
      x[k] = Var<double>(x0.clone(), true);
      const BatchNormOptions opt{.training = false, .blocked = k == 1};
      const Var<double> w(gamma), b(Tensor<double>::full({C}, 1e3));
      const Var<double> out =
          batch_norm_relu_max_pool2d(k == 0 ? x[k] : to_blocked(x[k], block), w, b, rm.clone(), rv.clone(), opt, 2);
      y[k] = k == 0 ? out : from_blocked(out);
      sum(y[k]).backward();
    }
    EXPECT_TRUE(tensors_near(y[1].value(), y[0].value(), 0, 0));
    for (Index c = 0; c < C; ++c) {
      SCOPED_TRACE("channel " + std::to_string(c));
      const double* g[2] = {x[0].grad().data() + c * 4, x[1].grad().data() + c * 4};
      const double k1 = gamma.data()[c] / std::sqrt(1.0 + 1e-5);  // eval: dx = gamma invstd dy
      // NCHW: the first position; blocked: the last (the extreme x), except where gamma = 0 (every key 0).
      const Index blocked_at = gamma.data()[c] == 0 ? 0 : 3;
      for (Index q = 0; q < 4; ++q) {
        EXPECT_DOUBLE_EQ(g[0][q], q == 0 ? k1 : 0.0) << q;
        EXPECT_DOUBLE_EQ(g[1][q], q == blocked_at ? k1 : 0.0) << q;
      }
    }
  }
}

TEST(Blocked, BatchNormAddsToAGradientAlreadyWritten) {
  // x feeds two batch-norm ops: the second backward adds its dx to the first's (the kernel's += path), with
  // batch statistics and with running ones.
  for (bool training : {true, false})
    for (Stage stage :
         {Stage::bn, Stage::bn_relu, Stage::bn_relu_pool2, Stage::bn_relu_pool2_tiled, Stage::bn_relu_pool3}) {
      SCOPED_TRACE("stage " + std::to_string(int(stage)) + (training ? " training" : " eval"));
      const Index block = 8, C = 16, H = stage == Stage::bn_relu_pool2_tiled ? 4 : 5;
      const Tensor<double> x0 = random_tensor<double>({3, C, H, 6}, 30, -2, 3);
      Var<double> x[2], y[2];
      for (int k = 0; k < 2; ++k) {
        x[k] = Var<double>(x0.clone(), true);
        const Var<double> in = k == 0 ? x[k] : to_blocked(x[k], block);
        const BatchNormOptions opt{.training = training, .blocked = k == 1};
        Var<double> w = Var<double>(random_tensor<double>({C}, 31, 0.5, 1.5));
        Var<double> b = Var<double>(random_tensor<double>({C}, 32));
        Tensor<double> rm = random_tensor<double>({C}, 34, -0.5, 0.5), rv = random_tensor<double>({C}, 35, 0.5, 2);
        Var<double> first = stage_op(stage, in, w, b, rm.clone(), rv.clone(), opt);
        Var<double> second = stage_op(stage, in, b, w, rm.clone(), rv.clone(), opt);
        y[k] = k == 0 ? add(first, scale(second, 0.5)) : from_blocked(add(first, scale(second, 0.5)));
      }
      const Tensor<double> weights = random_tensor<double>(y[0].shape(), 33);
      for (int k = 0; k < 2; ++k) sum(mul(y[k], Var<double>(weights))).backward();
      EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 1e-12, 1e-10));
    }
}

TEST(Blocked, BatchNormGradcheck) {
  // Away from the ReLU's kink and the pool's ties: a shift keeps the outputs positive.
  Var<double> x = random_param({3, 2, 4, 4, 4}, 20, -1, 1);
  Var<double> w = random_param({8}, 21, 0.5, 1.5), b = random_param({8}, 22, 3, 4);
  const BatchNormOptions opt{.blocked = true};
  EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor<double>(), Tensor<double>(), opt); },
                      {x, w, b}));
  EXPECT_TRUE(grad_ok(
      [&](const V& v) { return batch_norm_relu_max_pool2d(v[0], v[1], v[2], Tensor<double>(), Tensor<double>(), opt, 2); },
      {x, w, b}));
}

TEST(Blocked, BatchNormHoldsAtLargeOffsetsAndIsThreadCountFree) {
  // A mean 1e4 times the spread: one-pass statistics about each plane's own mean lose nothing.
  Tensor<float> x0 = random_tensor<float>({4, 2, 6, 6, 16}, 30, 1e4f - 1, 1e4f + 1);
  Tensor<float> y[2];
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    Var<float> x(x0.clone(), true);
    Var<float> out =
        batch_norm_relu_max_pool2d(x, Var<float>(), Var<float>(), Tensor<float>(), Tensor<float>(), {.blocked = true}, 2);
    y[threads - 1] = out.value();
    sum(out).backward();
  }
  EXPECT_EQ(std::memcmp(y[0].data(), y[1].data(), sizeof(float) * std::size_t(y[0].numel())), 0);
  // Against double on the same inputs: within what float's rounding of the mean costs (half an ulp of 1e4,
  // 4.9e-4, over the standard deviation 0.58: 8.5e-4), plus the rest's rounding.
  Var<double> xd(Tensor<double>::empty(x0.shape()));
  for (Index i = 0; i < x0.numel(); ++i) xd.value().data()[i] = x0.data()[i];
  Var<double> yd =
      batch_norm_relu_max_pool2d(xd, Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>(), {.blocked = true}, 2);
  for (Index i = 0; i < yd.numel(); ++i) EXPECT_NEAR(y[0].data()[i], yd.value().data()[i], 1.2e-3) << i;
}

// The layout is said (BatchNormOptions::blocked), not guessed from the rank: without the option a rank-5 x
// is a volume [N, C, D, H, W], normalized per C over N D H W values, as batch_norm always did.
TEST(Blocked, BatchNormOfAVolumeIsNotTakenForBlocked) {
  Var<double> x = random_param({2, 3, 2, 3, 4}, 42);
  Var<double> y = batch_norm(x, Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>());
  Var<double> flat = batch_norm(reshape(x, {2, 3, 24}), Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>());
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2, 3, 4}));
  EXPECT_TRUE(tensors_near(reshape(y, {2, 3, 24}).value(), flat.value(), 1e-14, 1e-14));
}

TEST(Blocked, BatchNormErrors) {
  Var<double> x(random_tensor<double>({2, 2, 3, 3, 4}, 40));
  Tensor<double> none;
  const BatchNormOptions blocked{.blocked = true};
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { batch_norm(x, Var<double>(Tensor<double>::ones({2})), Var<double>(), none, none, blocked); },
      {"batch_norm", "weight of shape [2]", "8 channels", "[2, 2, 3, 3, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { batch_norm(Var<double>(Tensor<double>::zeros({2, 1, 2, 2, 65})), Var<double>(), Var<double>(), none, none, blocked); },
      {"batch_norm", "B in [1, 64]"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { batch_norm(Var<double>(Tensor<double>::zeros({1, 1, 1, 1, 4})), Var<double>(), Var<double>(), none, none, blocked); },
      {"batch_norm", "more than 1 value per channel"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { batch_norm_relu_max_pool2d(x, Var<double>(), Var<double>(), none, none, blocked, 4); },
      {"batch_norm_relu_max_pool2d", "smaller than the kernel"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(Var<double>(random_tensor<double>({2, 8, 3, 3}, 41)), Var<double>(), Var<double>(), none, none, blocked); },
                                      {"batch_norm", "expected blocked x", "[2, 8, 3, 3]"}));
}

/// Skips a test where the oneDNN float path has no blocked layout (no oneDNN, or plain layouts).
#define SKIP_WITHOUT_BLOCKED_LAYOUT()                                                       \
  if (channel_block<float>() == 0) GTEST_SKIP() << "no channel-blocked layout on this build/CPU"

TEST(Blocked, ChannelBlock) {
  EXPECT_EQ(channel_block<double>(), 0);
  const Index b = channel_block<float>();
  EXPECT_TRUE(b == 0 || b == 8 || b == 16) << b;
  RecordProperty("channel_block", static_cast<int>(b));
  if (!onednn_available()) {
    EXPECT_EQ(b, 0);
  }
}

TEST(Blocked, ConvMatchesConv2d) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  const Index B = channel_block<float>();
  struct Case {
    Index c, o, hw, stride, padding;
    bool bias, blocked_input;
  };
  for (const Case& k : {Case{1, 2 * B, 9, 1, 1, false, false}, Case{B, 2 * B, 7, 1, 1, true, true},
                        Case{2 * B, B, 8, 2, 0, false, true}, Case{3, B, 6, 2, 1, true, false}}) {
    SCOPED_TRACE("c " + std::to_string(k.c) + " o " + std::to_string(k.o) + " stride " + std::to_string(k.stride));
    const Tensor<float> x0 = random_tensor<float>({3, k.c, k.hw, k.hw}, 50);
    const Tensor<float> w0 = random_tensor<float>({k.o, k.c, 3, 3}, 51);
    const Tensor<float> b0 = random_tensor<float>({k.o}, 52);
    Var<float> x[2], w[2], b[2];
    for (int i = 0; i < 2; ++i) {
      x[i] = Var<float>(x0.clone(), true);
      w[i] = Var<float>(w0.clone(), true);
      b[i] = k.bias ? Var<float>(b0.clone(), true) : Var<float>();
    }
    const Conv2dOptions opt(k.stride, k.padding);
    Var<float> y0 = conv2d(x[0], w[0], b[0], opt);
    Var<float> y1 = conv2d_blocked(k.blocked_input ? to_blocked(x[1], B) : x[1], w[1], b[1], opt);
    ASSERT_EQ(y1.shape(), (Shape{3, k.o / B, y0.dim(2), y0.dim(3), B}));
    ASSERT_TRUE(tensors_near(from_blocked(y1).value(), y0.value(), 1e-5, 1e-5));
    const Tensor<float> weights = random_tensor<float>(y0.shape(), 53);
    sum(mul(y0, Var<float>(weights))).backward();
    sum(mul(from_blocked(y1), Var<float>(weights))).backward();
    EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 1e-4, 1e-4));
    EXPECT_TRUE(tensors_near(w[1].grad(), w[0].grad(), 1e-3, 1e-4));
    if (k.bias) {
      EXPECT_TRUE(tensors_near(b[1].grad(), b[0].grad(), 1e-3, 1e-4));
    }
  }
}

TEST(Blocked, ConvErrors) {
  EXPECT_TRUE(throws_with<ValueError>(
      [] { conv2d_blocked(Var<double>(Tensor<double>::zeros({1, 1, 4, 4})), Var<double>(Tensor<double>::zeros({16, 1, 3, 3})), Var<double>()); },
      {"conv2d_blocked", "oneDNN"}));
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  const Index B = channel_block<float>();
  Var<float> x(Tensor<float>::zeros({2, 1, 6, 6}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { conv2d_blocked(x, Var<float>(Tensor<float>::zeros({B, 1, 3, 3})), Var<float>(), Conv2dOptions{}.use_backend(ConvBackend::eigen)); },
      {"conv2d_blocked", "eigen"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { conv2d_blocked(x, Var<float>(Tensor<float>::zeros({B + 1, 1, 3, 3})), Var<float>()); },
      {"conv2d_blocked", "C_out " + std::to_string(B + 1), "multiple"}));
  Var<float> wrong_block(Tensor<float>::zeros({2, 1, 6, 6, B / 2}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { conv2d_blocked(wrong_block, Var<float>(Tensor<float>::zeros({B, B / 2, 3, 3})), Var<float>()); },
      {"conv2d_blocked", "channel block " + std::to_string(B / 2)}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { conv2d_blocked(x, Var<float>(Tensor<float>::zeros({B, 2, 3, 3})), Var<float>()); },
      {"conv2d", "channels"}));
}

// The tool's readout grids: quadrants (2) and overlapping 3x3-position cells of the 7x7 map (3, its default).
class BlockedSmallConvNet : public ::testing::TestWithParam<Index> {};

TEST_P(BlockedSmallConvNet, EqualsNchw) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  const Index B = channel_block<float>();
  encoders::SmallConvNetOptions opt;
  opt.widths = {B, 2 * B, 2 * B};
  opt.readout_grid = GetParam();
  Rng rng0(3), rng1(3);  // the same weights in both
  encoders::SmallConvNet<float> blocked_net(opt, rng0);
  opt.blocked = false;
  encoders::SmallConvNet<float> nchw_net(opt, rng1);
  ASSERT_TRUE(blocked_net.runs_blocked());
  ASSERT_FALSE(nchw_net.runs_blocked());
  const Tensor<float> x = random_tensor<float>({6, 1, 28, 28}, 60, 0, 1);  // conv3's map 7x7: grid 3's cells overlap
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    blocked_net.train(training);
    nchw_net.train(training);
    Var<float> h[2] = {blocked_net.forward(Var<float>(x)), nchw_net.forward(Var<float>(x))};
    ASSERT_TRUE(tensors_near(h[0].value(), h[1].value(), 1e-4, 1e-4));
    const Tensor<float> weights = random_tensor<float>(h[0].shape(), 61);
    for (auto& hk : h) sum(mul(hk, Var<float>(weights))).backward();
    const auto p0 = blocked_net.named_parameters(), p1 = nchw_net.named_parameters();
    ASSERT_EQ(p0.size(), p1.size());
    for (std::size_t i = 0; i < p0.size(); ++i) {
      SCOPED_TRACE(p0[i].first);
      EXPECT_TRUE(tensors_near(p0[i].second.grad(), p1[i].second.grad(), 2e-3, 2e-3));
    }
    const auto b0 = blocked_net.named_buffers(), b1 = nchw_net.named_buffers();
    for (std::size_t i = 0; i < b0.size(); ++i) EXPECT_TRUE(tensors_near(b0[i].second, b1[i].second, 1e-5, 1e-5));
    blocked_net.zero_grad();
    nchw_net.zero_grad();
  }
}

INSTANTIATE_TEST_SUITE_P(ReadoutGrid, BlockedSmallConvNet, ::testing::Values(2, 3));

TEST(Blocked, ResNet18BlockedEqualsNchw) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  for (auto stem : {encoders::ResNetStem::small_image, encoders::ResNetStem::imagenet}) {
    SCOPED_TRACE(stem == encoders::ResNetStem::imagenet ? "imagenet stem" : "small-image stem");
    encoders::ResNet18Options opt{.in_channels = 1, .stem = stem};
    Rng rng0(5), rng1(5);
    encoders::ResNet18<float> blocked_net(opt, rng0);
    opt.blocked = false;
    encoders::ResNet18<float> nchw_net(opt, rng1);
    ASSERT_TRUE(blocked_net.runs_blocked());
    const Tensor<float> x = random_tensor<float>({8, 1, 16, 16}, 62, 0, 1);
    // Eval mode (running statistics: every layer affine) agrees to float rounding, values and gradients.
    // Training mode normalizes 17 times by statistics of as few as 32 values per channel, which magnifies
    // the two kernels' different rounding (their sums run in different orders) in the gradients, so those
    // compare loosely there; the blocked kernel's exact agreement is BatchNormMatchesTheNchwKernel's, in
    // double.
    for (bool training : {false, true}) {
      SCOPED_TRACE(training ? "training" : "eval");
      const double tol = training ? 2e-2 : 1e-4;
      blocked_net.train(training);
      nchw_net.train(training);
      Var<float> h[2] = {blocked_net.forward(Var<float>(x)), nchw_net.forward(Var<float>(x))};
      ASSERT_TRUE(tensors_near(h[0].value(), h[1].value(), 1e-4, training ? 1e-3 : 1e-5));
      const Tensor<float> weights = random_tensor<float>(h[0].shape(), 63);
      for (auto& hk : h) sum(mul(hk, Var<float>(weights))).backward();
      const auto p0 = blocked_net.named_parameters(), p1 = nchw_net.named_parameters();
      for (std::size_t i = 0; i < p0.size(); ++i) {
        SCOPED_TRACE(p0[i].first);
        EXPECT_TRUE(tensors_near(p0[i].second.grad(), p1[i].second.grad(), tol, tol));
      }
      blocked_net.zero_grad();
      nchw_net.zero_grad();
    }
  }
}

TEST(Blocked, SmallConvNetFallsBackToNchw) {
  encoders::SmallConvNetOptions opt;
  opt.widths = {12, 24, 24};  // not a multiple of 8 or 16
  Rng rng(4);
  EXPECT_FALSE(encoders::SmallConvNet<float>(opt, rng).runs_blocked());
  EXPECT_FALSE(encoders::SmallConvNet<double>(encoders::SmallConvNetOptions{}, rng).runs_blocked());
  encoders::SmallConvNet<float> net(encoders::SmallConvNetOptions{}, rng);
  EXPECT_EQ(net.runs_blocked(), channel_block<float>() > 0);
  set_conv_backend(ConvBackend::eigen);
  EXPECT_FALSE(net.runs_blocked());
  EXPECT_EQ(net.forward(Var<float>(Tensor<float>::zeros({2, 1, 8, 8}))).shape(), (Shape{2, 128}));
  set_conv_backend(ConvBackend::automatic);
}

}  // namespace
}  // namespace simile
