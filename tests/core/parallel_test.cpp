#include "simile/core.hpp"
#include "support/testing.hpp"

#include <atomic>
#include <numeric>

namespace simile {
namespace {

TEST(Parallel, ThreadCountIsExplicitAndScoped) {
  // Each test runs in a process of its own (ctest), where nothing has set a count yet: Eigen's GEMM, which
  // would start at every core, starts at simile's 1.
  EXPECT_EQ(Eigen::nbThreads(), 1);
  EXPECT_EQ(num_threads(), 1);  // the library never takes every core by itself
  {
    ThreadScope scope(2);
    EXPECT_EQ(num_threads(), 2);
    EXPECT_EQ(Eigen::nbThreads(), 2);
  }
  EXPECT_EQ(num_threads(), 1);
  EXPECT_THROW(set_num_threads(0), ValueError);
}

TEST(Parallel, ChunksCoverTheRangeOnceInOrder) {
  ThreadScope scope(2);
  for (Index n : {0, 1, 3, 7, 130, 10001}) {
    std::vector<int> hits(static_cast<std::size_t>(n), 0);
    parallel_for(0, n, 2, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
    });
    for (int h : hits) EXPECT_EQ(h, 1);
  }
}

TEST(Parallel, ReductionIsTheSameBitsForTheSameThreadCount) {
  std::vector<float> v(100003);
  Rng r(5);
  for (float& x : v) x = static_cast<float>(r.normal());
  auto sum = [&] {
    return parallel_reduce<float>(
        0, static_cast<Index>(v.size()), 1000, 0.0f,
        [&](Index b, Index e) { return std::accumulate(v.begin() + b, v.begin() + e, 0.0f); },
        [](float a, float b) { return a + b; });
  };
  ThreadScope scope(2);
  float first = sum();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sum(), first);
}

TEST(Parallel, ExceptionsReachTheCaller) {
  ThreadScope scope(2);
  EXPECT_THROW(parallel_for(0, 100, 1,
                            [](Index b, Index) {
                              if (b > 0) throw ValueError("boom");
                            }),
               ValueError);
}

}  // namespace
}  // namespace simile
