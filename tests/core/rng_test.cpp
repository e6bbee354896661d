#include "simile/core.hpp"
#include "support/testing.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numbers>
#include <set>
#include <vector>

namespace simile {
namespace {

TEST(Rng, SameSeedSameBitsAndRestorableState) {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  RngState s = a.state();
  std::uint64_t x = a.next_u64();
  Rng c(s);
  EXPECT_EQ(c.next_u64(), x);
  EXPECT_NE(Rng(1).next_u64(), Rng(2).next_u64());
}

TEST(Rng, StreamsDependOnTheirPathNotOnCallOrder) {
  Rng base(7);
  auto s1 = Rng::stream(7, 3, 10, 1);
  base.next_u64();  // advancing the parent does not change a derived stream
  auto s2 = Rng::stream(7, 3, 10, 1);
  EXPECT_EQ(s1.next_u64(), s2.next_u64());
  std::set<std::uint64_t> firsts;
  for (int epoch = 0; epoch < 4; ++epoch)
    for (int idx = 0; idx < 50; ++idx)
      for (int view = 0; view < 2; ++view) firsts.insert(Rng::stream(7, epoch, idx, view).next_u64());
  EXPECT_EQ(firsts.size(), 400u);  // all distinct
}

TEST(Rng, UniformNormalAndBelowHaveTheRightMoments) {
  Rng r(123);
  const int n = 200000;
  double s = 0, s2 = 0, ns = 0, ns2 = 0;
  std::vector<int> counts(7, 0);
  for (int i = 0; i < n; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    s += u, s2 += u * u;
    double z = r.normal();
    ns += z, ns2 += z * z;
    counts[r.below(7)]++;
  }
  EXPECT_NEAR(s / n, 0.5, 0.005);
  EXPECT_NEAR(s2 / n - 0.25, 1.0 / 12, 0.003);
  EXPECT_NEAR(ns / n, 0.0, 0.01);
  EXPECT_NEAR(ns2 / n, 1.0, 0.02);
  for (int c : counts) EXPECT_NEAR(c, n / 7.0, n / 7.0 * 0.03);
  int hits = 0;
  for (int i = 0; i < n; ++i) hits += r.bernoulli(0.3);
  EXPECT_NEAR(hits / double(n), 0.3, 0.005);
  EXPECT_THROW(r.below(0), ValueError);
}

TEST(Rng, LogUnitAndCosSinTurnAreAccurate) {
  // log_unit against std::log over (0, 1]: every 31st of the 24-bit uniforms Rng::fill_normal feeds it,
  // 2^-24 to 1, relative error < 3e-7 (2.5 ulp); cos_sin_turn against double over every 23rd of its
  // 24-bit turns in [0, 1), the quarter turns exactly, absolute error < 3e-7.
  double worst_log = 0;
  for (std::uint32_t k = 1; k <= (1u << 24); k += 31) {
    const float u = static_cast<float>(k) * 0x1.0p-24f;
    const double want = std::log(double(u));
    const double got = detail::log_unit(u);
    worst_log = std::max(worst_log, want == 0 ? std::abs(got) : std::abs(got - want) / std::abs(want));
  }
  EXPECT_LT(worst_log, 3e-7);
  EXPECT_EQ(detail::log_unit(1.0f), 0.0f);
  EXPECT_NEAR(detail::log_unit(0x1.0p-24f), -24 * std::numbers::ln2, 1e-5);
  double worst_trig = 0;
  for (std::uint32_t k = 0; k < (1u << 24); k += 23) {
    const float t = static_cast<float>(k) * 0x1.0p-24f;
    float c, s;
    detail::cos_sin_turn(t, c, s);
    const double a = 2 * std::numbers::pi * double(t);
    worst_trig = std::max({worst_trig, std::abs(c - std::cos(a)), std::abs(s - std::sin(a))});
  }
  EXPECT_LT(worst_trig, 3e-7);
  for (int q = 0; q < 4; ++q) {
    float c, s;
    detail::cos_sin_turn(0.25f * float(q), c, s);
    EXPECT_EQ(c, q == 0 ? 1.0f : q == 2 ? -1.0f : 0.0f) << q;
    EXPECT_EQ(s, q == 1 ? 1.0f : q == 3 ? -1.0f : 0.0f) << q;
  }
}

TEST(Rng, FillNormalIsStandardNormal) {
  // 2^20 values: the moments within 5 standard errors (mean 1/sqrt(n), variance sqrt(2/n), skewness
  // sqrt(6/n), kurtosis sqrt(24/n)), the tail fractions beyond 1, 2, 3 and 4 deviations within 5 binomial
  // standard errors, the Kolmogorov-Smirnov distance to Phi below its 1e-3 critical value (1.95 /
  // sqrt(n)), and nothing beyond the 24-bit bound sqrt(-2 ln 2^-24) = 5.77.
  Rng r(2024);
  const std::int64_t n = 1 << 20;
  std::vector<float> z(static_cast<std::size_t>(n));
  r.fill_normal(z.data(), n);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  std::array<double, 4> beyond{};
  for (float v : z) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_LE(std::abs(v), 5.78f);
    const double x = v;
    m1 += x, m2 += x * x, m3 += x * x * x, m4 += x * x * x * x;
    for (int k = 0; k < 4; ++k) beyond[std::size_t(k)] += std::abs(x) > k + 1;
  }
  const double dn = double(n), se = 1 / std::sqrt(dn);
  EXPECT_NEAR(m1 / dn, 0.0, 5 * se);
  EXPECT_NEAR(m2 / dn, 1.0, 5 * std::sqrt(2.0) * se);
  EXPECT_NEAR(m3 / dn, 0.0, 5 * std::sqrt(6.0) * se);
  EXPECT_NEAR(m4 / dn, 3.0, 5 * std::sqrt(96.0) * se);  // the fourth moment's variance is 96
  for (int k = 0; k < 4; ++k) {
    const double p = std::erfc((k + 1) / std::numbers::sqrt2);
    EXPECT_NEAR(beyond[std::size_t(k)] / dn, p, 5 * std::sqrt(p * (1 - p) / dn)) << "beyond " << k + 1;
  }
  std::sort(z.begin(), z.end());
  double ks = 0;
  for (std::int64_t i = 0; i < n; i += 97) {
    const double phi = 0.5 * std::erfc(-double(z[std::size_t(i)]) / std::numbers::sqrt2);
    ks = std::max({ks, std::abs(phi - double(i) / dn), std::abs(phi - double(i + 1) / dn)});
  }
  EXPECT_LT(ks, 1.95 / std::sqrt(dn));
}

TEST(Rng, FillNormalTakesOneDrawPerPairAndRepeats) {
  // n values take ceil(n / 2) draws whatever the blocks: the stream's position after it is that of
  // ceil(n / 2) next_u64 calls; a restored stream gives the same bits; a prefix of an even fill is the
  // fill of the prefix; the values of one fill are not all alike (no stuck lane).
  for (std::int64_t n : {1, 2, 7, 128, 129, 1000}) {
    SCOPED_TRACE(n);
    Rng a(9), b(9);
    std::vector<float> z(static_cast<std::size_t>(n)), again(z.size());
    a.fill_normal(z.data(), n);
    for (std::int64_t k = 0; k < (n + 1) / 2; ++k) b.next_u64();
    EXPECT_EQ(a.state(), b.state());
    Rng c(9);
    c.fill_normal(again.data(), n);
    EXPECT_EQ(std::memcmp(z.data(), again.data(), z.size() * sizeof(float)), 0);
  }
  Rng whole(5), part(5);
  std::vector<float> z(300), head(100);
  whole.fill_normal(z.data(), 300);
  part.fill_normal(head.data(), 100);
  EXPECT_EQ(std::memcmp(z.data(), head.data(), head.size() * sizeof(float)), 0);
  EXPECT_GT(*std::max_element(z.begin(), z.end()) - *std::min_element(z.begin(), z.end()), 2.0f);
}

}  // namespace
}  // namespace simile
