// conv2d in bfloat16 (Precision::bf16, oneDNN backend): exact where the operands are bf16 numbers, within
// the rounding bound of bf16 operands elsewhere (checked element by element against double), the same
// bits run to run, a float fallback where a shape has no native kernel, and the settings' errors.
#include <cmath>
#include <cstring>

#include "simile/ops.hpp"
#include "simile/ops/detail/conv_onednn.hpp"
#include "simile/ops/precision.hpp"
#include "support/testing.hpp"

namespace simile {
namespace conv_bf16_test {
using testing::random_tensor;
using testing::throws_with;

/// A test convolution: x [n, c, h, w], weight [o, c, k, k], stride s, padding p, with a bias or not.
struct Shape4 {
  Index n, c, h, w, o, k, s, p;
  bool bias;
  Conv2dOptions options(Precision precision) const {
    return Conv2dOptions{s, p}.use_backend(ConvBackend::onednn).use_precision(precision);
  }
  std::string name() const {
    return detail::str("x[", n, ",", c, ",", h, ",", w, "] w[", o, ",", c, ",", k, ",", k, "] s", s, " p", p,
                       bias ? " bias" : "");
  }
};

// Awkward shapes (odd channels, stride 2, 5x5, 1x1, non-square) and the SmallConvNet's three layers.
const std::vector<Shape4> shapes = {
    {2, 3, 7, 7, 4, 3, 2, 1, true},   {1, 2, 7, 5, 3, 5, 1, 2, false}, {3, 1, 6, 9, 2, 1, 1, 0, true},
    {2, 16, 8, 8, 32, 3, 1, 1, false}, {5, 8, 6, 6, 16, 3, 2, 0, true}, {4, 1, 28, 28, 32, 3, 1, 1, false},
    {4, 32, 14, 14, 64, 3, 1, 1, false}, {4, 64, 7, 7, 128, 3, 1, 1, true},
};

/// Output and gradients of one convolution.
template <class T>
struct Pass {
  Tensor<T> y, gx, gw, gb;
};

/// conv2d(x, w, b) and its backward with seed dy, on `options`.
template <class T>
Pass<T> run(const Shape4& k, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Tensor<T>& dy,
            const Conv2dOptions& options) {
  Var<T> xv(x.clone(), true), wv(w.clone(), true), bv = k.bias ? Var<T>(b.clone(), true) : Var<T>();
  Var<T> y = conv2d(xv, wv, bv, options);
  Tensor<T> out = y.value().clone();
  y.backward(dy);
  return {out, xv.grad(), wv.grad(), k.bias ? bv.grad() : Tensor<T>()};
}

/// The operands of a test: x, w, b and the seed gradient dy, random in [-1, 1] (or integers in
/// [-4, 4] with `integers`, which bfloat16 holds exactly).
struct Operands {
  Tensor<float> x, w, b, dy;
  Operands(const Shape4& k, std::uint64_t seed, bool integers = false) {
    x = random_tensor<float>({k.n, k.c, k.h, k.w}, seed);
    w = random_tensor<float>({k.o, k.c, k.k, k.k}, seed + 1);
    b = random_tensor<float>({k.o}, seed + 2);
    const Index oh = (k.h + 2 * k.p - k.k) / k.s + 1, ow = (k.w + 2 * k.p - k.k) / k.s + 1;
    dy = random_tensor<float>({k.n, k.o, oh, ow}, seed + 3);
    if (integers)
      for (Tensor<float>* t : {&x, &w, &b, &dy})
        for (float& v : t->span()) v = std::round(4.0f * v);
  }
};

Tensor<double> absolute(const Tensor<float>& t) {
  Tensor<double> r = t.to<double>();
  for (double& v : r.span()) v = std::abs(v);
  return r;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

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
      return ::testing::AssertionFailure() << "element " << i << ": " << got.data()[i] << " against "
                                           << exact.data()[i] << ", error " << err << " > " << allowed;
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
bool runs_bf16(const Shape4& k, const Operands& in) {
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
  for (const Shape4& k : shapes) {
    SCOPED_TRACE(k.name());
    Operands in(k, 100, /*integers=*/true);
    Pass<double> exact = run<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(), in.dy.to<double>(),
                                     Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen));
    Pass<float> got = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
    EXPECT_TRUE(same_bits(got.y, exact.y.to<float>()));
    EXPECT_TRUE(same_bits(got.gx, exact.gx.to<float>()));
    EXPECT_TRUE(same_bits(got.gw, exact.gw.to<float>()));
    if (k.bias) {
      EXPECT_TRUE(same_bits(got.gb, exact.gb.to<float>()));
    }
  }
}

TEST(Conv2dBf16, WithinTheRoundingBoundOfBf16Operands) {
  // Output and all three gradients against double, element by element, within the bound that rounding
  // x, w and dy to bfloat16 allows (the same convolution over the operands' magnitudes); and visibly not
  // float (the bf16 run is not the float run under another name) where the shape runs natively.
  SKIP_WITHOUT_BF16();
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    for (const Shape4& k : shapes) {
      SCOPED_TRACE(k.name() + " threads " + std::to_string(threads));
      Operands in(k, 200);
      const Conv2dOptions eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
      Pass<double> exact = run<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                       in.dy.to<double>(), eigen);
      Tensor<double> no_bias = Tensor<double>::zeros({k.o});
      Pass<double> bound = run<double>(k, absolute(in.x), absolute(in.w), no_bias, absolute(in.dy), eigen);
      Pass<float> got = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
      EXPECT_TRUE(within_bf16(got.y, exact.y, bound.y));
      EXPECT_TRUE(within_bf16(got.gx, exact.gx, bound.gx));
      EXPECT_TRUE(within_bf16(got.gw, exact.gw, bound.gw));
      if (k.bias) {
        EXPECT_TRUE(within_bf16(got.gb, exact.gb, bound.gb));
      }
      Pass<float> f32 = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::f32));
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
  for (const Shape4& k : {shapes[5], shapes[6], shapes[7]}) {
    SCOPED_TRACE(k.name());
    EXPECT_TRUE(runs_bf16(k, Operands(k, 300)));
  }
}

TEST(Conv2dBf16, SameBitsAtAFixedThreadCount) {
  SKIP_WITHOUT_BF16();
  const Shape4 k{16, 8, 9, 9, 12, 3, 1, 1, true};
  Operands in(k, 400);
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ThreadScope scope(threads);
    Pass<float> a = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
    Pass<float> b = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
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
  const Shape4 k = shapes[0];
  Operands in(k, 500);
  if (!bf16_available()) {
    EXPECT_FALSE(bf16_unavailable_reason().empty());
    EXPECT_TRUE(throws_with<ValueError>([] { set_compute_precision(Precision::bf16); },
                                        {"set_compute_precision", "bfloat16"}));
    if (onednn_available()) {
      EXPECT_TRUE(throws_with<ValueError>(
          [&] { run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16)); }, {"conv2d", "bfloat16"}));
    }
    EXPECT_EQ(compute_precision(), Precision::f32);
    return;
  }
  EXPECT_TRUE(bf16_unavailable_reason().empty());
  const Conv2dOptions unset = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::onednn);
  Pass<float> explicit_bf16 = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
  {
    PrecisionScope scope(Precision::bf16);
    EXPECT_EQ(compute_precision(), Precision::bf16);
    // An unset call follows the process; a call that names f32 keeps float.
    EXPECT_TRUE(same_bits(run<float>(k, in.x, in.w, in.b, in.dy, unset).y, explicit_bf16.y));
    Pass<float> f32 = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::f32));
    EXPECT_FALSE(same_bits(f32.y, explicit_bf16.y));
    // The Eigen backend and double compute at their own precision whatever the setting.
    const Conv2dOptions eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
    Pass<float> eigen_bf16 = run<float>(k, in.x, in.w, in.b, in.dy, eigen);
    Pass<double> double_bf16 = run<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                           in.dy.to<double>(), Conv2dOptions{k.s, k.p});
    PrecisionScope inner(Precision::f32);
    EXPECT_TRUE(same_bits(run<float>(k, in.x, in.w, in.b, in.dy, eigen).y, eigen_bf16.y));
    Pass<double> double_f32 = run<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(),
                                          in.dy.to<double>(), Conv2dOptions{k.s, k.p});
    EXPECT_EQ(std::memcmp(double_f32.y.data(), double_bf16.y.data(), sizeof(double) * double_f32.y.numel()), 0);
  }
  EXPECT_EQ(compute_precision(), Precision::f32);
}

TEST(Conv2dBf16, BackwardUsesTheForwardsPrecision) {
  // The setting may change between forward and backward (a scope ends): the backward keeps the forward's.
  SKIP_WITHOUT_BF16();
  const Shape4 k = shapes[3];
  Operands in(k, 600);
  Pass<float> whole = run<float>(k, in.x, in.w, in.b, in.dy, k.options(Precision::bf16));
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
