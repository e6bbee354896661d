#include <map>
#include <numeric>
#include <set>

#include "simile/sampling.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

Labels uneven_labels() {
  // 7 classes of sizes 3 to 12, interleaved.
  Labels l;
  for (std::int64_t c = 0; c < 7; ++c)
    for (std::int64_t i = 0; i < 3 + (c * 5) % 10; ++i) l.push_back(c);
  std::vector<std::int64_t> shuffled(l.size());
  for (std::size_t i = 0; i < l.size(); ++i) shuffled[(i * 17) % l.size()] = l[i];
  return shuffled;
}

TEST(MPerClassSampler, ExactlyMPerClassAndEverySampleEachEpoch) {
  Labels labels = uneven_labels();
  ASSERT_EQ(std::gcd(labels.size(), std::size_t{17}), 1u);  // the interleave above is a permutation
  for (auto [m, batch] : {std::pair<Index, Index>{2, 8}, {3, 9}, {4, 12}, {1, 5}}) {
    MPerClassSampler s(labels, {.m = m, .batch_size = batch, .seed = 3});
    for (std::uint64_t epoch : {0u, 1u, 7u}) {
      auto batches = s.batches(epoch);
      std::set<Index> seen;
      for (const auto& b : batches) {
        ASSERT_EQ(static_cast<Index>(b.size()), batch);
        std::map<std::int64_t, Index> per_class;
        for (Index i : b) ++per_class[labels[static_cast<std::size_t>(i)]], seen.insert(i);
        EXPECT_EQ(static_cast<Index>(per_class.size()), batch / m);
        for (auto& [c, count] : per_class) EXPECT_EQ(count, m) << "class " << c;
      }
      EXPECT_EQ(seen.size(), labels.size()) << "m " << m << " epoch " << epoch;  // every sample, every epoch
      EXPECT_EQ(static_cast<Index>(batches.size()) * batch, s.epoch_length());
      auto flat = s(static_cast<Index>(labels.size()), epoch);
      EXPECT_EQ(static_cast<Index>(flat.size()), s.epoch_length());
    }
    EXPECT_EQ(s(static_cast<Index>(labels.size()), 4), s(static_cast<Index>(labels.size()), 4));  // (seed, epoch)
    EXPECT_NE(s(static_cast<Index>(labels.size()), 4), s(static_cast<Index>(labels.size()), 5));
  }
}

TEST(MPerClassSampler, BalancedClassesGiveEachSampleExactlyOnce) {
  Labels labels;
  for (std::int64_t i = 0; i < 48; ++i) labels.push_back(i % 6);  // 6 classes of 8
  MPerClassSampler s(labels, {.m = 4, .batch_size = 12, .seed = 1});
  auto flat = s(48, 0);
  std::vector<Index> sorted = flat;
  std::sort(sorted.begin(), sorted.end());
  std::vector<Index> all(48);
  std::iota(all.begin(), all.end(), Index{0});
  EXPECT_EQ(sorted, all);
}

TEST(MPerClassSampler, Errors) {
  EXPECT_TRUE(throws_with<ValueError>([] { MPerClassSampler(Labels{0, 1}, {.m = 3, .batch_size = 8}); },
                                      {"MPerClassSampler", "batch_size 8", "m 3"}));
  EXPECT_TRUE(throws_with<ValueError>([] { MPerClassSampler(Labels{0, 0, 1, 1}, {.m = 2, .batch_size = 6}); },
                                      {"MPerClassSampler", "2 classes", "3"}));
}

TEST(NoDuplicatesSampler, DistinctIdentitiesAndEverySample) {
  Labels ids;
  for (std::int64_t i = 0; i < 100; ++i) ids.push_back((i * i) % 23);  // uneven identity counts
  NoDuplicatesSampler s(ids, {.batch_size = 8, .seed = 5});
  for (std::uint64_t epoch : {0u, 3u}) {
    std::set<Index> seen;
    for (const auto& b : s.batches(epoch)) {
      ASSERT_EQ(b.size(), 8u);
      std::set<std::int64_t> in_batch;
      for (Index i : b) {
        EXPECT_TRUE(in_batch.insert(ids[static_cast<std::size_t>(i)]).second) << "identity twice in a batch";
        seen.insert(i);
      }
    }
    EXPECT_EQ(seen.size(), ids.size());
  }
  EXPECT_TRUE(throws_with<ValueError>([] { NoDuplicatesSampler(Labels{1, 1, 2}, {.batch_size = 3}); },
                                      {"NoDuplicatesSampler", "2 distinct", "3"}));
}

}  // namespace
}  // namespace simile
