// conv2d in bfloat16 (Precision::bf16, oneDNN backend): exact where the operands are bf16 numbers, within
// the rounding bound of bf16 operands elsewhere (checked element by element against double), the same
// bits run to run, a float fallback where a shape has no native kernel, and the settings' errors.
#include <cmath>
#include <cstring>

#include "simile/ops.hpp"
#include "simile/ops/detail/conv_onednn.hpp"
#include "simile/ops/precision.hpp"
#include "support/conv_cases.hpp"
#include "support/testing.hpp"

namespace simile {
namespace conv_bf16_test {
using testing::absolute;
using testing::conv_pass;
using testing::ConvCase;
using testing::ConvOperands;
using testing::random_tensor;
using testing::same_bits;
using testing::throws_with;
template <class T>
using Pass = testing::ConvPass<T>;

/// The options of case `k` on the oneDNN backend at `precision`.
Conv2dOptions options(const ConvCase& k, Precision precision) { return k.onednn().use_precision(precision); }

// Awkward shapes (odd channels, stride 2, 5x5, 1x1, non-square) and the SmallConvNet's three layers.
const std::vector<ConvCase> shapes = {
    {2, 3, 7, 7, 4, 3, 2, 1, true},      {1, 2, 7, 5, 3, 5, 1, 2, false},   {3, 1, 6, 9, 2, 1, 1, 0, true},
    {2, 16, 8, 8, 32, 3, 1, 1, false},   {5, 8, 6, 6, 16, 3, 2, 0, true},   {4, 1, 28, 28, 32, 3, 1, 1, false},
    {4, 32, 14, 14, 64, 3, 1, 1, false}, {4, 64, 7, 7, 128, 3, 1, 1, true},
};

/// |got - exact| <= 2^-7 (1 + 1e-2) bound + 1e-5 element by element: each product of two operands
/// rounded to bfloat16 (unit roundoff 2^-8) is off by at most (1 + 2^-8)^2 - 1 < 2^-7 (1 + 1e-2) of its
/// magnitude, and `bound` is the same sum over the magnitudes (float accumulation adds ~1e-5 relative).
::testing::AssertionResult within_bf16(const Tensor<float>& got, const Tensor<double>& exact,
                                       const Tensor<double>& bound) {
  if (got.shape() != exact.shape()) return ::testing::AssertionFailure() << "shape " << got.shape();
  for (Index i = 0; i < got.numel(); ++i) {
    const double err = std::abs(double(got.data()[i]) - exact.data()[i]);
    const double allowed = std::ldexp(1.0, -7) * 1.01 * bound.data()[i] + 1e-5;
    if (!(err <= allowed))
      return ::testing::AssertionFailure() << "element " << i << ": " << got.data()[i] << " against " << exact.data()[i]
                                           << ", error " << err << " > " << allowed;
  }
  return ::testing::AssertionSuccess();
}

/// The largest |a - b| / (|b| + 1e-3): float and bfloat16 results differ by ~1e-3, float orders ~1e-6.
double largest_relative_gap(const Tensor<float>& a, const Tensor<float>& b) {
  double gap = 0;
  for (Index i = 0; i < a.numel(); ++i)
    gap = std::max(gap, std::abs(double(a.data()[i]) - double(b.data()[i])) / (std::abs(double(b.data()[i])) + 1e-3));
  return gap;
}

/// True when the oneDNN backend ran shape `k` in bfloat16 (not the float fallback).
bool runs_bf16(const ConvCase& k, const ConvOperands& in) {
  auto saved = detail::conv_onednn::make_saved();
  const detail::ConvGeometry g = detail::conv_geometry(in.x.shape(), in.w.shape(), nullptr, Conv2dOptions{k.s, k.p});
  detail::conv_onednn::forward(g, in.x, in.w, Tensor<float>(), true, ConvAlgorithm::automatic, {}, *saved);
  return detail::conv_onednn::ran_bf16(*saved);
}

#define SKIP_WITHOUT_BF16() \
  if (!bf16_available()) GTEST_SKIP() << "bfloat16: " << bf16_unavailable_reason()

TEST(Conv2dBf16, ExactOnBf16Numbers) {
  // Small integers are bfloat16 numbers, their products and sums (< 2^24) exact in float: the bf16
  // convolution must then equal the definition, computed in double, exactly.
  SKIP_WITHOUT_BF16();
  for (const ConvCase& k : shapes) {
    SCOPED_TRACE(k.name());
    ConvOperands in(k, 100, /*integers=*/true);
    Pass<double> exact = conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                           in.dy.to<double>(), Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen));
    Pass<float> got = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
    EXPECT_TRUE(same_bits(got.y, exact.y.to<float>()));
    EXPECT_TRUE(same_bits(got.gx, exact.gx.to<float>()));
    EXPECT_TRUE(same_bits(got.gw, exact.gw.to<float>()));
    if (k.bias) {
      EXPECT_TRUE(same_bits(got.gb, exact.gb.to<float>()));
    }
  }
}

TEST(Conv2dBf16, WithinTheRoundingBoundOfBf16ConvOperands) {
  // Output and all three gradients against double, element by element, within the bound that rounding
  // x, w and dy to bfloat16 allows (the same convolution over the operands' magnitudes); and visibly not
  // float (the bf16 run is not the float run under another name) where the shape runs natively.
  SKIP_WITHOUT_BF16();
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    for (const ConvCase& k : shapes) {
      SCOPED_TRACE(k.name() + " threads " + std::to_string(threads));
      ConvOperands in(k, 200);
      const Conv2dOptions eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
      Pass<double> exact =
          conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(), in.dy.to<double>(), eigen);
      Tensor<double> no_bias = Tensor<double>::zeros({k.o});
      Pass<double> bound = conv_pass<double>(k, absolute(in.x), absolute(in.w), no_bias, absolute(in.dy), eigen);
      Pass<float> got = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
      EXPECT_TRUE(within_bf16(got.y, exact.y, bound.y));
      EXPECT_TRUE(within_bf16(got.gx, exact.gx, bound.gx));
      EXPECT_TRUE(within_bf16(got.gw, exact.gw, bound.gw));
      if (k.bias) {
        EXPECT_TRUE(within_bf16(got.gb, exact.gb, bound.gb));
      }
      Pass<float> f32 = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::f32));
      if (runs_bf16(k, in)) {
        EXPECT_GT(largest_relative_gap(got.y, f32.y), 1e-4);
      } else {
        // The float fallback: the float result itself.
        EXPECT_TRUE(same_bits(got.y, f32.y));
        EXPECT_TRUE(same_bits(got.gw, f32.gw));
      }
    }
  }
}

TEST(Conv2dBf16, TheSmallConvNetLayersRunNatively) {
  // The encoder's convolutions are what bf16 is for: none of them may silently fall back to float.
  SKIP_WITHOUT_BF16();
  for (const ConvCase& k : {shapes[5], shapes[6], shapes[7]}) {
    SCOPED_TRACE(k.name());
    EXPECT_TRUE(runs_bf16(k, ConvOperands(k, 300)));
  }
}

TEST(Conv2dBf16, SameBitsAtAFixedThreadCount) {
  SKIP_WITHOUT_BF16();
  const ConvCase k{16, 8, 9, 9, 12, 3, 1, 1, true};
  ConvOperands in(k, 400);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ThreadScope scope(threads);
    Pass<float> a = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
    Pass<float> b = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
    EXPECT_TRUE(same_bits(a.y, b.y));
    EXPECT_TRUE(same_bits(a.gx, b.gx));
    EXPECT_TRUE(same_bits(a.gw, b.gw));
    EXPECT_TRUE(same_bits(a.gb, b.gb));
  }
}

TEST(Conv2dBf16, ProcessWideSettingAndItsScope) {
  EXPECT_EQ(compute_precision(), Precision::f32);
  EXPECT_STREQ(to_string(Precision::f32), "f32");
  EXPECT_STREQ(to_string(Precision::bf16), "bf16");
  const ConvCase k = shapes[0];
  ConvOperands in(k, 500);
  if (!bf16_available()) {
    EXPECT_FALSE(bf16_unavailable_reason().empty());
    EXPECT_TRUE(
        throws_with<ValueError>([] { set_compute_precision(Precision::bf16); }, {"set_compute_precision", "bfloat16"}));
    if (onednn_available()) {
      EXPECT_TRUE(throws_with<ValueError>(
          [&] { conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16)); }, {"conv2d", "bfloat16"}));
    }
    EXPECT_EQ(compute_precision(), Precision::f32);
    return;
  }
  EXPECT_TRUE(bf16_unavailable_reason().empty());
  const Conv2dOptions unset = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::onednn);
  Pass<float> explicit_bf16 = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
  {
    PrecisionScope scope(Precision::bf16);
    EXPECT_EQ(compute_precision(), Precision::bf16);
    // An unset call follows the process; a call that names f32 keeps float.
    EXPECT_TRUE(same_bits(conv_pass<float>(k, in.x, in.w, in.b, in.dy, unset).y, explicit_bf16.y));
    Pass<float> f32 = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::f32));
    EXPECT_FALSE(same_bits(f32.y, explicit_bf16.y));
    // The Eigen backend and double compute at their own precision whatever the setting.
    const Conv2dOptions eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
    Pass<float> eigen_bf16 = conv_pass<float>(k, in.x, in.w, in.b, in.dy, eigen);
    Pass<double> double_bf16 = conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                                 in.dy.to<double>(), Conv2dOptions{k.s, k.p});
    PrecisionScope inner(Precision::f32);
    EXPECT_TRUE(same_bits(conv_pass<float>(k, in.x, in.w, in.b, in.dy, eigen).y, eigen_bf16.y));
    Pass<double> double_f32 = conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                                in.dy.to<double>(), Conv2dOptions{k.s, k.p});
    EXPECT_EQ(std::memcmp(double_f32.y.data(), double_bf16.y.data(), sizeof(double) * double_f32.y.numel()), 0);
  }
  EXPECT_EQ(compute_precision(), Precision::f32);
}

TEST(Conv2dBf16, BackwardUsesTheForwardsPrecision) {
  // The setting may change between forward and backward (a scope ends): the backward keeps the forward's.
  SKIP_WITHOUT_BF16();
  const ConvCase k = shapes[3];
  ConvOperands in(k, 600);
  Pass<float> whole = conv_pass<float>(k, in.x, in.w, in.b, in.dy, options(k, Precision::bf16));
  Var<float> x(in.x.clone(), true), w(in.w.clone(), true);
  Var<float> y;
  {
    PrecisionScope scope(Precision::bf16);
    y = conv2d(x, w, Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::onednn));
  }
  y.backward(in.dy);
  EXPECT_TRUE(same_bits(x.grad(), whole.gx));
  EXPECT_TRUE(same_bits(w.grad(), whole.gw));
}

}  // namespace conv_bf16_test
}  // namespace simile
