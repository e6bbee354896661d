// The few-channel weight gradient of a convolution (ops/detail/conv_few_channels.hpp): by hand, against a
// double reference over kernels, strides, paddings, channel blocks and batch sizes, accumulation, the
// same bits at every thread count, and its precondition. conv2d_blocked's use of it is compared with
// the NCHW conv2d in blocked_test.cpp (Blocked.ConvMatchesConv2d: C_in 1 and 3).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/ops/detail/conv_few_channels.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using detail::conv_weight_grad_few_channels;
using detail::ConvGeometry;
using testing::random_tensor;
using testing::throws_with;

ConvGeometry geometry(Index n, Index c, Index h, Index w, Index o, Index k, Index stride, Index padding) {
  ConvGeometry g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.o = o, g.kh = g.kw = k, g.sh = g.sw = stride, g.ph = g.pw = padding;
  g.oh = (h + 2 * padding - k) / stride + 1;
  g.ow = (w + 2 * padding - k) / stride + 1;
  return g;
}

/// The index of dy[n, o, i, j] in the blocked layout [N, O / B, OH, OW, B].
Index blocked_at(const ConvGeometry& g, Index b, Index n, Index o, Index i, Index j) {
  return ((((n * (g.o / b) + o / b) * g.oh + i) * g.ow + j) * b) + o % b;
}

/// dw and db in double, straight from the definition.
void reference(const ConvGeometry& g, const std::vector<float>& x, const std::vector<float>& dy, Index b,
               std::vector<double>& dw, std::vector<double>& db) {
  dw.assign(static_cast<std::size_t>(g.o * g.c * g.kh * g.kw), 0.0);
  db.assign(static_cast<std::size_t>(g.o), 0.0);
  for (Index n = 0; n < g.n; ++n)
    for (Index o = 0; o < g.o; ++o)
      for (Index i = 0; i < g.oh; ++i)
        for (Index j = 0; j < g.ow; ++j) {
          const double d = dy[static_cast<std::size_t>(blocked_at(g, b, n, o, i, j))];
          db[static_cast<std::size_t>(o)] += d;
          for (Index c = 0; c < g.c; ++c)
            for (Index u = 0; u < g.kh; ++u)
              for (Index v = 0; v < g.kw; ++v) {
                const Index r = i * g.sh - g.ph + u, s = j * g.sw - g.pw + v;
                if (r < 0 || r >= g.h || s < 0 || s >= g.w) continue;
                dw[static_cast<std::size_t>(((o * g.c + c) * g.kh + u) * g.kw + v)] +=
                    d * double(x[static_cast<std::size_t>(((n * g.c + c) * g.h + r) * g.w + s)]);
              }
        }
}

std::vector<float> random_values(Index count, std::uint64_t seed) {
  const Tensor<float> t = random_tensor<float>({count}, seed);
  return std::vector<float>(t.data(), t.data() + count);
}

TEST(ConvFewChannels, ByHand) {
  // x [[1, 2, 0], [0, 1, 3], [2, 0, 1]], a 2x2 kernel, no padding, dy [[1, 0], [0, 2]] of one channel:
  // dw[u, v] = 1 x[u, v] + 2 x[1 + u, 1 + v] = [[3, 8], [0, 3]], db = 3; added to what dw and db held.
  const ConvGeometry g = geometry(1, 1, 3, 3, 1, 2, 1, 0);
  const std::vector<float> x{1, 2, 0, 0, 1, 3, 2, 0, 1}, dy{1, 0, 0, 2};
  std::vector<float> dw{10, 10, 10, 10}, db{-1};
  conv_weight_grad_few_channels(g, x.data(), dy.data(), 1, dw.data(), db.data());
  EXPECT_EQ(dw, (std::vector<float>{13, 18, 10, 13}));
  EXPECT_EQ(db, (std::vector<float>{2}));
}

TEST(ConvFewChannels, MatchesTheDefinition) {
  struct Case {
    Index n, c, hw, o, k, stride, padding, b;
  };
  // Blocks 8 and 16 (the compiled fast paths at 9 taps, and their general-tap paths), a block the kernel
  // reads at run time (4); 1x1 to 5x5 kernels; batches that are not a multiple of the image chunk.
  for (const Case& k : {Case{37, 1, 28, 16, 3, 1, 1, 8}, Case{5, 1, 9, 32, 3, 1, 1, 16}, Case{3, 3, 8, 8, 3, 2, 1, 8},
                        Case{2, 1, 11, 16, 5, 2, 2, 16}, Case{4, 2, 6, 12, 1, 1, 0, 4}, Case{70, 3, 7, 16, 3, 1, 0, 16},
                        Case{1, 1, 4, 8, 4, 1, 0, 8}}) {
    SCOPED_TRACE("n " + std::to_string(k.n) + " c " + std::to_string(k.c) + " k " + std::to_string(k.k) + " b " +
                 std::to_string(k.b));
    const ConvGeometry g = geometry(k.n, k.c, k.hw, k.hw, k.o, k.k, k.stride, k.padding);
    const std::vector<float> x = random_values(g.n * g.c * g.h * g.w, 70);
    const std::vector<float> dy = random_values(g.n * g.o * g.oh * g.ow, 71);
    std::vector<double> dw_ref, db_ref;
    reference(g, x, dy, k.b, dw_ref, db_ref);
    std::vector<float> dw(dw_ref.size(), 0.0f), db(db_ref.size(), 0.0f);
    ThreadScope threads(2);
    conv_weight_grad_few_channels(g, x.data(), dy.data(), k.b, dw.data(), db.data());
    double scale = 1;
    for (double v : dw_ref) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw[i], dw_ref[i], 1e-5 * scale) << "dw " << i;
    for (std::size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db[i], db_ref[i], 1e-5 * scale) << "db " << i;
    // Either gradient alone gives the same values.
    std::vector<float> dw_only(dw.size(), 0.0f), db_only(db.size(), 0.0f);
    conv_weight_grad_few_channels(g, x.data(), dy.data(), k.b, dw_only.data(), nullptr);
    conv_weight_grad_few_channels(g, x.data(), dy.data(), k.b, nullptr, db_only.data());
    EXPECT_EQ(dw_only, dw);
    EXPECT_EQ(db_only, db);
  }
}

TEST(ConvFewChannels, SameBitsAtEveryThreadCount) {
  const ConvGeometry g = geometry(100, 1, 28, 28, 32, 3, 1, 1);
  const std::vector<float> x = random_values(g.n * g.h * g.w, 72);
  const std::vector<float> dy = random_values(g.n * g.o * g.oh * g.ow, 73);
  std::vector<float> first;
  for (int t : {1, 2, 3, 5}) {
    ThreadScope threads(t);
    std::vector<float> dw(static_cast<std::size_t>(g.o * 9), 0.0f), db(static_cast<std::size_t>(g.o), 0.0f);
    conv_weight_grad_few_channels(g, x.data(), dy.data(), 8, dw.data(), db.data());
    dw.insert(dw.end(), db.begin(), db.end());
    if (first.empty()) first = dw;
    EXPECT_EQ(std::memcmp(dw.data(), first.data(), dw.size() * sizeof(float)), 0) << t << " threads";
  }
}

TEST(ConvFewChannels, Precondition) {
  float dw[64 * 36] = {}, db[64] = {};
  const std::vector<float> x(1024, 0.0f), dy(65536, 0.0f);
  EXPECT_FALSE(detail::few_channels_weight_grad_applies(geometry(2, 4, 8, 8, 16, 3, 1, 1), 16));  // 36 taps
  EXPECT_FALSE(detail::few_channels_weight_grad_applies(geometry(2, 1, 8, 8, 12, 3, 1, 1), 8));   // 12 % 8
  EXPECT_FALSE(detail::few_channels_weight_grad_applies(geometry(2, 1, 8, 8, 16, 3, 1, 1), 0));   // plain dy
  EXPECT_TRUE(detail::few_channels_weight_grad_applies(geometry(2, 3, 8, 8, 16, 3, 1, 1), 16));   // 27 taps
  EXPECT_TRUE(throws_with<Error>(
      [&] { conv_weight_grad_few_channels(geometry(2, 4, 8, 8, 16, 3, 1, 1), x.data(), dy.data(), 16, dw, db); },
      {"conv_weight_grad_few_channels", "4x3x3 taps", "at most 27", "C_out 16"}));
  EXPECT_TRUE(throws_with<Error>(
      [&] { conv_weight_grad_few_channels(geometry(2, 1, 8, 8, 12, 3, 1, 1), x.data(), dy.data(), 8, dw, db); },
      {"conv_weight_grad_few_channels", "C_out 12", "channel block 8"}));
}

}  // namespace
}  // namespace simile
