// The bfloat16 weight gradient of a stride-1 convolution (ops/detail/conv_weight_grad_bf16.hpp): the
// rounding to bf16 by hand and against the CPU's instruction, the image-pair layout from NCHW and from
// blocked activations, the kernel against a double reference over kernels, paddings, odd batches, channel
// and output remainders, large and small images; exact on bf16 integers, accumulation, the same bits at
// every thread count, and its precondition. conv2d's use of it (bf16, no bias) is covered by
// conv_bf16_test.cpp through the op.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/ops/conv.hpp"
#include "simile/ops/detail/conv_weight_grad_bf16.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using detail::bf16_pairs_size;
using detail::conv_weight_grad_bf16;
using detail::ConvGeometry;
using detail::to_bf16;
using detail::to_bf16_pairs;
using testing::random_tensor;
using testing::throws_with;

#define SKIP_WITHOUT_AVX512_BF16() \
  if (!detail::cpu_has_avx512_bf16()) GTEST_SKIP() << "this CPU lacks AVX512_BF16"

float from_bf16(std::uint16_t b) {
  const std::uint32_t u = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

ConvGeometry geometry(Index n, Index c, Index h, Index w, Index o, Index kh, Index kw, Index ph, Index pw) {
  ConvGeometry g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.o = o, g.kh = kh, g.kw = kw, g.ph = ph, g.pw = pw;
  g.oh = h + 2 * ph - kh + 1;
  g.ow = w + 2 * pw - kw + 1;
  return g;
}

/// NCHW [n, c, h, w] as blocked [n, c / 16, h, w, 16].
std::vector<float> to_blocked16(const Tensor<float>& t) {
  const Index n = t.shape()[0], c = t.shape()[1], h = t.shape()[2], w = t.shape()[3];
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  for (Index i = 0; i < n; ++i)
    for (Index ch = 0; ch < c; ++ch)
      for (Index p = 0; p < h * w; ++p)
        out[std::size_t(((i * (c / 16) + ch / 16) * h * w + p) * 16 + ch % 16)] = t.data()[(i * c + ch) * h * w + p];
  return out;
}

/// dw [O, C, kh, kw] in double from the definition, over x and dy rounded to bf16 (NCHW tensors).
std::vector<double> reference(const ConvGeometry& g, const Tensor<float>& x, const Tensor<float>& dy) {
  std::vector<double> dw(static_cast<std::size_t>(g.o * g.c * g.kh * g.kw), 0.0);
  auto r = [](float f) { return double(from_bf16(to_bf16(f))); };
  for (Index n = 0; n < g.n; ++n)
    for (Index o = 0; o < g.o; ++o)
      for (Index i = 0; i < g.oh; ++i)
        for (Index j = 0; j < g.ow; ++j) {
          const double d = r(dy.data()[((n * g.o + o) * g.oh + i) * g.ow + j]);
          for (Index c = 0; c < g.c; ++c)
            for (Index u = 0; u < g.kh; ++u)
              for (Index v = 0; v < g.kw; ++v) {
                const Index y = i - g.ph + u, xx = j - g.pw + v;
                if (y < 0 || y >= g.h || xx < 0 || xx >= g.w) continue;
                dw[std::size_t(((o * g.c + c) * g.kh + u) * g.kw + v)] +=
                    d * r(x.data()[((n * g.c + c) * g.h + y) * g.w + xx]);
              }
        }
  return dw;
}

/// The kernel's dw (added to `start`) from NCHW x and dy.
std::vector<float> kernel_dw(const ConvGeometry& g, const Tensor<float>& x, const Tensor<float>& dy, float start = 0) {
  std::vector<std::uint16_t> xp(std::size_t(bf16_pairs_size(g.n, g.c, g.h, g.w)));
  std::vector<std::uint16_t> dp(std::size_t(bf16_pairs_size(g.n, g.o, g.oh, g.ow)));
  to_bf16_pairs(x.data(), 0, g.n, g.c, g.h, g.w, xp.data());
  to_bf16_pairs(dy.data(), 0, g.n, g.o, g.oh, g.ow, dp.data());
  std::vector<float> dw(static_cast<std::size_t>(g.o * g.c * g.kh * g.kw), start);
  conv_weight_grad_bf16(g, xp.data(), dp.data(), dw.data());
  return dw;
}

/// Small integers: bf16 numbers whose products and sums stay exact in float.
Tensor<float> integers(const Shape& shape, std::uint64_t seed) {
  Tensor<float> t = random_tensor<float>(shape, seed);
  for (float& v : t.span()) v = std::round(v * 4.0f);
  return t;
}

TEST(ConvWeightGradBf16, RoundsToNearestEvenLikeTheInstruction) {
  EXPECT_EQ(to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(to_bf16(1.0f + 0x1.0p-8f), 0x3F80);         // a tie, to the even neighbour below
  EXPECT_EQ(to_bf16(1.0f + 3 * 0x1.0p-8f), 0x3F82);     // a tie, to the even neighbour above
  EXPECT_EQ(to_bf16(1.0f + 0x1.0p-8f + 0x1.0p-20f), 0x3F81);  // past the tie
  EXPECT_EQ(to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to infinity
  EXPECT_EQ(to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(to_bf16(-std::numeric_limits<float>::denorm_min()), 0x8000);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::signaling_NaN()))));
}

TEST(ConvWeightGradBf16, PairLayoutFromNchwAndFromBlocked) {
  // Both paths (the generic one from NCHW, the vector one from blocked [N, C/16, H, W, 16]) put element
  // (n, c, i, j) at ((n/2 H + i) W + j) 2C + 2c + n%2, rounded as to_bf16 rounds, zero for the missing
  // image of an odd batch; the blocked copy in `same` is the rounded input in its own layout.
  for (Index n : {1, 2, 5}) {
    SCOPED_TRACE("n " + std::to_string(n));
    const Index c = 32, h = 3, w = 5;
    Tensor<float> x = random_tensor<float>({n, c, h, w}, 7 + std::uint64_t(n));
    float* v = x.data();
    v[0] = 1.0f + 0x1.0p-8f, v[1] = 1.0f + 3 * 0x1.0p-8f, v[2] = std::numeric_limits<float>::denorm_min();
    v[3] = -0.0f, v[4] = std::numeric_limits<float>::max(), v[5] = -std::numeric_limits<float>::infinity();
    const std::size_t size = std::size_t(bf16_pairs_size(n, c, h, w));
    std::vector<std::uint16_t> plain(size, 0xFFFF), blocked(size, 0xFFFF), same(std::size_t(x.numel()), 0xFFFF);
    to_bf16_pairs(x.data(), 0, n, c, h, w, plain.data());
    const std::vector<float> xb = to_blocked16(x);
    to_bf16_pairs(xb.data(), 16, n, c, h, w, blocked.data(), same.data());
    EXPECT_EQ(plain, blocked);
    for (Index i = 0; i < (n + 1) / 2 * 2; ++i)
      for (Index ch = 0; ch < c; ++ch)
        for (Index y = 0; y < h; ++y)
          for (Index xx = 0; xx < w; ++xx) {
            const std::uint16_t want = i < n ? to_bf16(x.data()[((i * c + ch) * h + y) * w + xx]) : 0;
            ASSERT_EQ(plain[std::size_t(((i / 2 * h + y) * w + xx) * 2 * c + 2 * ch + i % 2)], want)
                << "n " << i << " c " << ch << " at " << y << "," << xx;
          }
    for (std::size_t k = 0; k < xb.size(); ++k) ASSERT_EQ(same[k], to_bf16(xb[k])) << k;
  }
}

TEST(ConvWeightGradBf16, ByHand) {
  // One image, one channel, 16 outputs, a 1x1 kernel: dw[o] = sum_j dy[o, j] x[j]. x = (1, 2), dy[o] =
  // (o, 1): dw[o] = o + 2. A second image in the pair slot would double it; here it is missing (zero).
  SKIP_WITHOUT_AVX512_BF16();
  const ConvGeometry g = geometry(1, 1, 1, 2, 16, 1, 1, 0, 0);
  Tensor<float> x = Tensor<float>::empty({1, 1, 1, 2}), dy = Tensor<float>::empty({1, 16, 1, 2});
  x.data()[0] = 1, x.data()[1] = 2;
  for (Index o = 0; o < 16; ++o) dy.data()[2 * o] = float(o), dy.data()[2 * o + 1] = 1;
  const std::vector<float> dw = kernel_dw(g, x, dy);
  for (Index o = 0; o < 16; ++o) EXPECT_EQ(dw[std::size_t(o)], float(o + 2)) << o;
}

// Kernels 1x1 to 5x5 and non-square, paddings 0 to 2, odd batches, channels not a multiple of 4 (the
// remainder tiles), outputs 16 to 80 (one to four vectors, and 64 + 16), images whose chunks are rows of
// one pair (12x12 and more) and whole pairs (small), and SmallConvNet's two layers at a small batch.
const std::vector<ConvGeometry> cases = {
    geometry(3, 5, 6, 7, 16, 3, 3, 1, 1),  geometry(4, 4, 5, 5, 32, 1, 1, 0, 0),  geometry(5, 3, 9, 6, 48, 5, 5, 2, 2),
    geometry(2, 8, 12, 12, 64, 3, 3, 1, 1), geometry(7, 6, 4, 4, 80, 3, 3, 0, 0), geometry(2, 2, 20, 13, 16, 3, 1, 1, 0),
    geometry(6, 9, 8, 8, 128, 2, 2, 1, 1), geometry(4, 32, 14, 14, 64, 3, 3, 1, 1), geometry(5, 64, 7, 7, 128, 3, 3, 1, 1),
};

std::string name(const ConvGeometry& g) {
  return detail::str("n", g.n, " c", g.c, " ", g.h, "x", g.w, " o", g.o, " k", g.kh, "x", g.kw, " p", g.ph, ",", g.pw);
}

TEST(ConvWeightGradBf16, MatchesTheDefinitionOverBf16Operands) {
  // Against double over the same bf16-rounded operands: only the float accumulation differs (relative
  // 1e-5 of the sum of the terms' magnitudes).
  SKIP_WITHOUT_AVX512_BF16();
  for (const ConvGeometry& g : cases) {
    SCOPED_TRACE(name(g));
    ASSERT_TRUE(detail::bf16_weight_grad_applies(g));
    const Tensor<float> x = random_tensor<float>({g.n, g.c, g.h, g.w}, 11), dy = random_tensor<float>({g.n, g.o, g.oh, g.ow}, 12);
    Tensor<float> ax = x, ady = dy;
    for (float& v : ax.span()) v = std::abs(v);
    for (float& v : ady.span()) v = std::abs(v);
    const std::vector<double> want = reference(g, x, dy), bound = reference(g, ax, ady);
    const std::vector<float> got = kernel_dw(g, x, dy);
    for (std::size_t k = 0; k < want.size(); ++k)
      ASSERT_NEAR(got[k], want[k], 1e-5 * bound[k] + 1e-6) << "weight " << k;
  }
}

TEST(ConvWeightGradBf16, ExactOnIntegersAndAccumulates) {
  // Small integers: every product and partial sum is exact in float, so the kernel equals the
  // definition to the bit, plus the 0.5 already in dw.
  SKIP_WITHOUT_AVX512_BF16();
  for (const ConvGeometry& g : cases) {
    SCOPED_TRACE(name(g));
    const Tensor<float> x = integers({g.n, g.c, g.h, g.w}, 21), dy = integers({g.n, g.o, g.oh, g.ow}, 22);
    const std::vector<double> want = reference(g, x, dy);
    const std::vector<float> got = kernel_dw(g, x, dy, 0.5f);
    for (std::size_t k = 0; k < want.size(); ++k) ASSERT_EQ(got[k], float(want[k] + 0.5)) << "weight " << k;
  }
}

TEST(ConvWeightGradBf16, SameBitsAtEveryThreadCount) {
  SKIP_WITHOUT_AVX512_BF16();
  for (const ConvGeometry& g : {cases[3], cases[8], geometry(40, 8, 7, 7, 32, 3, 3, 1, 1)}) {
    SCOPED_TRACE(name(g));
    const Tensor<float> x = random_tensor<float>({g.n, g.c, g.h, g.w}, 31), dy = random_tensor<float>({g.n, g.o, g.oh, g.ow}, 32);
    std::vector<float> first;
    for (int threads : {1, 2, 3, 4}) {
      ThreadScope scope(threads);
      const std::vector<float> dw = kernel_dw(g, x, dy);
      if (first.empty()) first = dw;
      EXPECT_EQ(std::memcmp(dw.data(), first.data(), dw.size() * sizeof(float)), 0) << threads << " threads";
    }
  }
}

TEST(ConvWeightGradBf16, Precondition) {
  // Stride 2, outputs not a multiple of 16 and more weights than its sums may hold are oneDNN's: the
  // kernel refuses them by name rather than computing something else.
  ConvGeometry strided = geometry(2, 4, 8, 8, 16, 3, 3, 1, 1);
  strided.sh = strided.sw = 2, strided.oh = strided.ow = 4;
  const ConvGeometry odd_outputs = geometry(2, 4, 8, 8, 24, 3, 3, 1, 1);
  const ConvGeometry huge = geometry(2, 512, 4, 4, 512, 3, 3, 1, 1);
  for (const ConvGeometry& g : {strided, odd_outputs, huge}) {
    SCOPED_TRACE(name(g));
    EXPECT_FALSE(detail::bf16_weight_grad_applies(g));
    std::vector<float> dw(static_cast<std::size_t>(g.o * g.c * g.kh * g.kw));
    std::uint16_t none = 0;
    EXPECT_TRUE(throws_with<Error>([&] { conv_weight_grad_bf16(g, &none, &none, dw.data()); },
                                   {"conv_weight_grad_bf16", std::to_string(g.o), std::to_string(g.c)}));
  }
}

}  // namespace
}  // namespace simile
