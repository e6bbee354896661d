#include "simile/core.hpp"
#include "support/testing.hpp"

#include <set>

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

}  // namespace
}  // namespace simile
