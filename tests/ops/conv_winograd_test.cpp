// conv2d by Winograd's F(4x4, 3x3) (ConvAlgorithm, oneDNN backend): outputs and gradients within a
// rounding bound of the definition computed in double, on shapes that have Winograd kernels and on shapes
// that fall back to direct; which algorithm each pass ran; the same bits run to run; the per-call option
// over the process-wide setting, and the scope that restores it.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "simile/ops.hpp"
#include "simile/ops/conv_algorithm.hpp"
#include "simile/ops/detail/conv_onednn.hpp"
#include "support/conv_cases.hpp"
#include "support/testing.hpp"

#if defined(SIMILE_WITH_ONEDNN)
namespace simile {
namespace conv_winograd_test {
using testing::absolute;
using testing::conv_pass;
using testing::ConvCase;
using testing::ConvOperands;
using testing::same_bits;
template <class T>
using Pass = testing::ConvPass<T>;

// 3x3 stride-1 shapes with whole channel blocks (non-square, tiles cut by the border, no padding), the
// SmallConvNet's two inner layers at a small batch, 3x3 stride-1 shapes without whole blocks (one input
// channel, odd channels: Winograd when asked for, never automatic), and shapes without Winograd kernels
// (stride 2, 5x5), which run direct under every setting.
const std::vector<ConvCase> cases = {
    {3, 16, 9, 11, 32, 3, 1, 1, true},  {2, 32, 14, 14, 64, 3, 1, 1, false}, {2, 64, 7, 7, 128, 3, 1, 1, true},
    {2, 16, 10, 6, 16, 3, 1, 0, false}, {2, 1, 28, 28, 32, 3, 1, 1, false},  {2, 16, 8, 8, 32, 3, 2, 1, true},
    {2, 16, 9, 9, 16, 5, 1, 2, false},  {2, 3, 7, 7, 5, 3, 1, 1, true},
};

/// True when the Winograd kernels exist for case `k` on this CPU: oneDNN has them on AVX-512 only, for
/// 3x3 at stride 1, any channel count (padded to blocks of 16).
bool has_winograd(const ConvCase& k) {
  const bool avx512 = detail::conv_onednn::cpu_isa_name().find("avx512") != std::string::npos;
  return avx512 && k.k == 3 && k.s == 1;
}

/// The definition in double (Eigen backend), and the same sums over magnitudes (each result's bound).
struct Exact {
  Pass<double> value, bound;
  Exact(const ConvCase& k, const ConvOperands& in) {
    const auto eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
    value = conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(), in.dy.to<double>(), eigen);
    bound = conv_pass<double>(k, absolute(in.x), absolute(in.w), absolute(in.b), absolute(in.dy), eigen);
  }
};

/// |got - exact| <= 1e-5 bound + 1e-6 element by element. Direct float sums came within 2.1e-7 of the
/// bound on these cases, F(4x4, 3x3) (its transforms at the points 0, +-1, +-2, +-1/2 amplify rounding)
/// within 3.2e-6 (measured on AVX-512, the worst of all outputs and gradients): 1e-5 leaves a margin of
/// three, while a mistake in the transforms or the tiling is of the order of the result itself.
::testing::AssertionResult close(const Tensor<float>& got, const Tensor<double>& exact, const Tensor<double>& bound) {
  if (got.shape() != exact.shape()) return ::testing::AssertionFailure() << "shape " << got.shape();
  for (Index i = 0; i < got.numel(); ++i) {
    const double err = std::abs(double(got.data()[i]) - exact.data()[i]);
    if (!(err <= 1e-5 * bound.data()[i] + 1e-6))
      return ::testing::AssertionFailure() << "element " << i << ": " << got.data()[i] << " against " << exact.data()[i]
                                           << " (bound " << bound.data()[i] << ")";
  }
  return ::testing::AssertionSuccess();
}

/// The implementations the oneDNN forward of case `k` chose under `a`.
std::string implementations(const ConvCase& k, const ConvOperands& in, ConvAlgorithm a) {
  auto saved = detail::conv_onednn::make_saved();
  const detail::ConvGeometry g = detail::conv_geometry(in.x.shape(), in.w.shape(), nullptr, Conv2dOptions{k.s, k.p});
  detail::conv_onednn::forward(g, in.x, in.w, Tensor<float>(), false, a, {}, *saved);
  return detail::conv_onednn::implementations(*saved);
}

/// Counts the passes (of three) whose implementation is a Winograd kernel.
int winograd_passes(const std::string& implementations) {
  int n = 0;
  for (std::size_t at = implementations.find("wino"); at != std::string::npos;
       at = implementations.find("wino", at + 1))
    ++n;
  return n;
}

TEST(ConvWinograd, WithinRoundingOfTheDefinition) {
  ThreadScope threads(2);
  for (ConvAlgorithm a : {ConvAlgorithm::winograd, ConvAlgorithm::automatic, ConvAlgorithm::direct})
    for (const ConvCase& k : cases) {
      SCOPED_TRACE(detail::str(to_string(a), " ", k.name()));
      ConvOperands in(k, 7);
      Exact exact(k, in);
      Pass<float> got = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(a));
      EXPECT_TRUE(close(got.y, exact.value.y, exact.bound.y));
      EXPECT_TRUE(close(got.gx, exact.value.gx, exact.bound.gx));
      EXPECT_TRUE(close(got.gw, exact.value.gw, exact.bound.gw));
      if (k.bias) {
        EXPECT_TRUE(close(got.gb, exact.value.gb, exact.bound.gb));
      }
    }
}

TEST(ConvWinograd, EachPassRunsTheAlgorithmAskedFor) {
  for (const ConvCase& k : cases) {
    SCOPED_TRACE(k.name());
    ConvOperands in(k, 7);
    const std::string wino = implementations(k, in, ConvAlgorithm::winograd);
    const std::string direct = implementations(k, in, ConvAlgorithm::direct);
    SCOPED_TRACE("winograd: " + wino + "; direct: " + direct);
    EXPECT_EQ(winograd_passes(direct), 0);
    // Where the kernels exist, all three passes have one (oneDNN 2.6's wino_4x3 on AVX-512).
    EXPECT_EQ(winograd_passes(wino), has_winograd(k) ? 3 : 0);
    // Automatic never takes Winograd without whole channel blocks (a one-channel first layer above all),
    // though the kernels take such shapes.
    if (k.c % 16 != 0 || k.o % 16 != 0) {
      EXPECT_EQ(winograd_passes(implementations(k, in, ConvAlgorithm::automatic)), 0);
    }
  }
}

TEST(ConvWinograd, AutomaticAtTheEncodersLargeBatch) {
  // The SmallConvNet's two inner layers at a batch of 512 views. Forward and input gradient follow
  // oneDNN's heuristic (Winograd on the AVX-512 EPYC this was written on; it also weighs the cores per
  // socket, so another CPU may keep direct); the weight gradient follows simile's rule: Winograd exactly
  // when the forward took it and the layer has at least 64 input channels. No kernels: direct throughout.
  for (const ConvCase& k :
       {ConvCase{512, 32, 14, 14, 64, 3, 1, 1, false}, ConvCase{512, 64, 7, 7, 128, 3, 1, 1, false}}) {
    ConvOperands in(k, 7);
    const std::string chosen = implementations(k, in, ConvAlgorithm::automatic);
    SCOPED_TRACE(k.name() + ": " + chosen);
    const std::size_t first = chosen.find(" / "), second = chosen.find(" / ", first + 3);
    ASSERT_NE(second, std::string::npos);
    auto wino = [](const std::string& pass) { return pass.find("wino") != std::string::npos; };
    const bool forward = wino(chosen.substr(0, first));
    if (!has_winograd(k)) {
      EXPECT_EQ(winograd_passes(chosen), 0);
    }
    EXPECT_EQ(wino(chosen.substr(second)), forward && k.c >= 64);
  }
}

TEST(ConvWinograd, SameBitsRunToRun) {
  ThreadScope threads(2);
  for (const ConvCase& k : {cases[0], cases[2]}) {
    SCOPED_TRACE(k.name());
    ConvOperands in(k, 11);
    Pass<float> a = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(ConvAlgorithm::winograd));
    Pass<float> b = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(ConvAlgorithm::winograd));
    EXPECT_TRUE(same_bits(a.y, b.y));
    EXPECT_TRUE(same_bits(a.gx, b.gx));
    EXPECT_TRUE(same_bits(a.gw, b.gw));
    EXPECT_TRUE(same_bits(a.gb, b.gb));
  }
}

TEST(ConvWinograd, CallOptionOverridesTheScopedSetting) {
  const ConvCase k = cases[1];
  ConvOperands in(k, 5);
  EXPECT_EQ(conv_algorithm(), ConvAlgorithm::automatic);  // the default
  Pass<float> direct = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(ConvAlgorithm::direct));
  Pass<float> wino = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(ConvAlgorithm::winograd));
  {
    ConvAlgorithmScope scope(ConvAlgorithm::winograd);
    EXPECT_EQ(conv_algorithm(), ConvAlgorithm::winograd);
    Pass<float> scoped = conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn());
    EXPECT_TRUE(same_bits(scoped.y, wino.y));
    EXPECT_TRUE(same_bits(scoped.gw, wino.gw));
    Pass<float> overridden =
        conv_pass<float>(k, in.x, in.w, in.b, in.dy, k.onednn().use_algorithm(ConvAlgorithm::direct));
    EXPECT_TRUE(same_bits(overridden.y, direct.y));
    EXPECT_TRUE(same_bits(overridden.gx, direct.gx));
    EXPECT_TRUE(same_bits(overridden.gw, direct.gw));
  }
  EXPECT_EQ(conv_algorithm(), ConvAlgorithm::automatic);
  // The two algorithms are different computations where Winograd exists (else both are direct).
  EXPECT_EQ(!same_bits(direct.y, wino.y), has_winograd(k));
  EXPECT_STREQ(to_string(ConvAlgorithm::winograd), "winograd");
  EXPECT_STREQ(to_string(ConvAlgorithm::direct), "direct");
  EXPECT_STREQ(to_string(ConvAlgorithm::automatic), "automatic");
}

TEST(ConvWinograd, EigenAndDoubleIgnoreIt) {
  // The setting belongs to the oneDNN backend: the Eigen backend gives the same bits under each.
  const ConvCase k = cases[0];
  ConvOperands in(k, 3);
  const auto eigen = Conv2dOptions{k.s, k.p}.use_backend(ConvBackend::eigen);
  Pass<float> a =
      conv_pass<float>(k, in.x, in.w, in.b, in.dy, Conv2dOptions(eigen).use_algorithm(ConvAlgorithm::direct));
  Pass<float> b =
      conv_pass<float>(k, in.x, in.w, in.b, in.dy, Conv2dOptions(eigen).use_algorithm(ConvAlgorithm::winograd));
  EXPECT_TRUE(same_bits(a.y, b.y));
  EXPECT_TRUE(same_bits(a.gw, b.gw));
  // Double runs on Eigen whatever the setting: the same values under Winograd and direct.
  auto in_double = [&](ConvAlgorithm a) {
    return conv_pass<double>(k, in.x.to<double>(), in.w.to<double>(), in.b.to<double>(), in.dy.to<double>(),
                             Conv2dOptions{k.s, k.p}.use_algorithm(a));
  };
  const Pass<double> d = in_double(ConvAlgorithm::winograd), e = in_double(ConvAlgorithm::direct);
  EXPECT_EQ(d.y.shape(), a.y.shape());
  auto same = [](const Tensor<double>& u, const Tensor<double>& v) {
    return u.shape() == v.shape() && std::equal(u.span().begin(), u.span().end(), v.span().begin());
  };
  EXPECT_TRUE(same(d.y, e.y));
  EXPECT_TRUE(same(d.gx, e.gx));
  EXPECT_TRUE(same(d.gw, e.gw));
}

}  // namespace conv_winograd_test
}  // namespace simile
#endif  // SIMILE_WITH_ONEDNN
