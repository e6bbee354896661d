#include <set>

#include "simile/sampling.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::random_tensor;
using testing::throws_with;

TEST(Pairs, FromViewsAndLabels) {
  EXPECT_EQ(view_labels(3), (Labels{0, 1, 2, 0, 1, 2}));
  PairSet p = all_pairs(Labels{0, 1, 0});
  EXPECT_EQ(p, (PairSet{{0, 1, false}, {0, 2, true}, {1, 2, false}}));
  EXPECT_EQ(positive_pairs(view_labels(2)), (PairSet{{0, 2, true}, {1, 3, true}}));
  TripletSet t = all_triplets(Labels{0, 0, 1});
  EXPECT_EQ(t, (TripletSet{{0, 1, 2}, {1, 0, 2}}));
}

TEST(Miners, DefinitionsHold) {
  Labels labels;
  for (std::int64_t i = 0; i < 24; ++i) labels.push_back(i % 5);
  Tensor<float> x = random_tensor<float>({24, 6}, 3);
  for (MinerDistance md : {MinerDistance::euclidean, MinerDistance::cosine}) {
    Eigen::MatrixXd d = pairwise_distances(x, md);
    auto lab = [&](Index i) { return labels[static_cast<std::size_t>(i)]; };

    // Semi-hard: exactly the triplets with d(a,p) < d(a,n) < d(a,p) + margin.
    TripletSet semi = semi_hard_triplets(x, labels, 0.3, md);
    std::size_t expected = 0;
    for (const Triplet& t : all_triplets(labels)) {
      double ap = d(t.anchor, t.positive), an = d(t.anchor, t.negative);
      expected += ap < an && an < ap + 0.3;
    }
    EXPECT_EQ(semi.size(), expected);
    EXPECT_GT(expected, 0u);
    for (const Triplet& t : semi) {
      EXPECT_TRUE(lab(t.anchor) == lab(t.positive) && lab(t.anchor) != lab(t.negative) && t.anchor != t.positive);
      EXPECT_LT(d(t.anchor, t.positive), d(t.anchor, t.negative));
      EXPECT_LT(d(t.anchor, t.negative), d(t.anchor, t.positive) + 0.3);
    }

    // Batch hard: per anchor the farthest positive and the closest negative.
    TripletSet hard = batch_hard_triplets(x, labels, md);
    EXPECT_EQ(hard.size(), 24u);
    for (const Triplet& t : hard)
      for (Index j = 0; j < 24; ++j) {
        if (j == t.anchor) continue;
        if (lab(j) == lab(t.anchor)) EXPECT_LE(d(t.anchor, j), d(t.anchor, t.positive));
        else EXPECT_GE(d(t.anchor, j), d(t.anchor, t.negative));
      }

    // Hardest negatives: all positive pairs, then per anchor the k closest negatives.
    PairSet pairs = hardest_negative_pairs(x, labels, 3, md);
    PairSet pos = positive_pairs(labels);
    ASSERT_EQ(pairs.size(), pos.size() + 24 * 3);
    EXPECT_TRUE(std::equal(pos.begin(), pos.end(), pairs.begin()));
    for (std::size_t k = pos.size(); k < pairs.size(); ++k) {
      const IndexPair& p = pairs[k];
      EXPECT_FALSE(p.same);
      EXPECT_NE(lab(p.a), lab(p.b));
      Index closer = 0;  // negatives of p.a strictly closer than p.b
      for (Index j = 0; j < 24; ++j) closer += lab(j) != lab(p.a) && d(p.a, j) < d(p.a, p.b);
      EXPECT_LT(closer, 3);
    }
  }
}

TEST(Miners, DistanceWeightedSamplesValidNegativesWithinTheCutoff) {
  Labels labels;
  for (std::int64_t i = 0; i < 30; ++i) labels.push_back(i % 3);
  Tensor<double> x = random_tensor<double>({30, 8}, 4);
  Rng rng(11);
  TripletSet t = distance_weighted_triplets(x, labels, rng);
  Eigen::MatrixXd cosd = pairwise_distances(x, MinerDistance::cosine);
  EXPECT_FALSE(t.empty());
  for (const Triplet& tr : t) {
    auto lab = [&](Index i) { return labels[static_cast<std::size_t>(i)]; };
    EXPECT_TRUE(lab(tr.anchor) == lab(tr.positive) && tr.anchor != tr.positive);
    ASSERT_GE(tr.negative, 0);
    EXPECT_NE(lab(tr.negative), lab(tr.anchor));
    EXPECT_LE(std::sqrt(2 * cosd(tr.anchor, tr.negative)), 1.4 + 1e-12);  // weight 0 beyond the cutoff
  }
  Rng again(11);
  EXPECT_EQ(distance_weighted_triplets(x, labels, again), t);  // same stream, same triplets
  EXPECT_TRUE(throws_with<ShapeError>([&] { semi_hard_triplets(x, Labels{0, 1}, 0.2); },
                                      {"semi_hard_triplets", "2 labels", "30 embeddings"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { hardest_negative_pairs(x, labels, 0); }, {"hardest_negative_pairs", "k 0"}));
}

}  // namespace
}  // namespace simile
