#include "support/testing.hpp"

#include <set>

#include "simile/core/parallel.hpp"
#include "simile/eval/embedding_map.hpp"

namespace simile {
namespace {
using testing::throws_with;

/// `per_class` points around each of `classes` centers drawn N(0, separation^2) in `dim` dimensions.
Tensor<float> clusters(int classes, int per_class, int dim, double separation, double spread, std::uint64_t seed,
                       std::vector<int>* label) {
  Rng r(seed);
  std::vector<double> centers(std::size_t(classes * dim));
  for (double& c : centers) c = separation * r.normal();
  Tensor<float> x = Tensor<float>::empty({classes * per_class, dim});
  for (int i = 0; i < classes * per_class; ++i) {
    label->push_back(i % classes);
    for (int d = 0; d < dim; ++d)
      x.at(i, d) = float(centers[std::size_t((i % classes) * dim + d)] + spread * r.normal());
  }
  return x;
}

TEST(Pca, ByHand) {
  // Four points, mean 0: along x at +-1, along y at +-0.5. Covariance diag(2/3, 1/6) (N - 1 = 3).
  auto x = Tensor<float>::from({1, 0, -1, 0, 0, 0.5f, 0, -0.5f}, {4, 2});
  Pca p = pca(x, 2);
  ASSERT_EQ(p.variance.size(), 2u);
  EXPECT_NEAR(p.variance[0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(p.variance[1], 1.0 / 6, 1e-12);
  EXPECT_NEAR(p.total_variance, 5.0 / 6, 1e-12);
  // The first component is +x (its largest entry positive), the second +y.
  EXPECT_NEAR(p.components.at(0, 0), 1, 1e-6);
  EXPECT_NEAR(p.components.at(0, 1), 0, 1e-6);
  EXPECT_NEAR(p.components.at(1, 1), 1, 1e-6);
  EXPECT_EQ(p.scores.shape(), Shape({4, 2}));
  EXPECT_NEAR(p.scores.at(0, 0), 1, 1e-6);
  EXPECT_NEAR(p.scores.at(1, 0), -1, 1e-6);
  EXPECT_NEAR(p.scores.at(2, 1), 0.5, 1e-6);
  // Points on the line y = x + 3: one component (1, 1) / sqrt 2 carries everything; mean (1, 4).
  auto line = Tensor<float>::from({-1, 2, 0, 3, 1, 4, 4, 7}, {4, 2});
  Pca q = pca(line, 1);
  EXPECT_NEAR(q.mean.data()[0], 1, 1e-6);
  EXPECT_NEAR(q.mean.data()[1], 4, 1e-6);
  EXPECT_NEAR(q.components.at(0, 0), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(q.components.at(0, 1), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(q.variance[0], q.total_variance, 1e-9);
  EXPECT_NEAR(q.scores.at(3, 0), 3 * std::sqrt(2.0), 1e-5);  // (4, 7) - (1, 4) = (3, 3)
}

TEST(Pca, Invariants) {
  const std::uint64_t seed = 11;
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tensor<float> x = testing::random_tensor<float>({50, 6}, seed);
  Pca p = pca(x, 6);
  Eigen::MatrixXd v = p.components.matrix().cast<double>();
  // Orthonormal components, decreasing variances summing to the trace.
  EXPECT_TRUE((v * v.transpose()).isIdentity(1e-5));
  double sum = 0;
  for (std::size_t c = 0; c < 6; ++c) {
    sum += p.variance[c];
    if (c > 0) {
      EXPECT_GE(p.variance[c - 1], p.variance[c]);
    }
    // Each score column has mean 0 and the component's variance.
    Eigen::VectorXd s = p.scores.matrix().col(Index(c)).cast<double>();
    EXPECT_NEAR(s.mean(), 0, 1e-5);
    EXPECT_NEAR(s.squaredNorm() / 49, p.variance[c], 1e-4 * p.variance[0]);
  }
  EXPECT_NEAR(sum, p.total_variance, 1e-9 * p.total_variance);
  // All components: scores . components + mean gives the points back.
  Eigen::MatrixXd back = p.scores.matrix().cast<double>() * v;
  Eigen::RowVectorXd mean = p.mean.matrix(1, 6).cast<double>();
  back.rowwise() += mean;
  EXPECT_TRUE(back.isApprox(x.matrix().cast<double>(), 1e-5));
  // The first two components are those of the full decomposition.
  Pca two = pca(x, 2);
  EXPECT_TRUE(two.scores.matrix().isApprox(p.scores.matrix().leftCols(2)));
}

TEST(Pca, Errors) {
  EXPECT_TRUE(throws_with<ShapeError>([] { pca(Tensor<float>::zeros({1, 3})); }, {"pca", "N >= 2", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { pca(Tensor<float>::zeros({5})); }, {"pca", "[5]"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [] {
        pca(Tensor<float>::zeros({4, 3}), 4);
      },
      {"pca", "4 components", "3-dimensional"}));
  EXPECT_TRUE(throws_with<ValueError>([] { pca(Tensor<float>::zeros({4, 3}), 0); }, {"pca", "0 components"}));
  auto nan = Tensor<float>::zeros({4, 3});
  nan.at(2, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(throws_with<ValueError>([&] { pca(nan); }, {"pca", "NaN"}));
  EXPECT_TRUE(throws_with<ValueError>([] { pca(Tensor<float>::zeros({4, max_pca_dim + 1})); }, {"pca", "4097"}));
}

TEST(Tsne, SeparatesWellSeparatedClusters) {
  // Three tight clusters in 10 dimensions, far apart: in the map, every point's nearest neighbour is of its
  // cluster, and points sit much closer to their own cluster than to the others.
  std::vector<int> label;
  Tensor<float> x = clusters(3, 30, 10, 5.0, 0.1, 3, &label);
  Tsne t = tsne(x, {.perplexity = 10, .iterations = 400, .seed = 1});
  ASSERT_EQ(t.embedding.shape(), Shape({90, 2}));
  auto dist = [&](Index i, Index j) {
    return std::hypot(t.embedding.at(i, 0) - t.embedding.at(j, 0), t.embedding.at(i, 1) - t.embedding.at(j, 1));
  };
  double within = 0, between = 0;
  int n_within = 0, n_between = 0;
  for (Index i = 0; i < 90; ++i) {
    Index nearest = -1;
    for (Index j = 0; j < 90; ++j) {
      if (j == i) continue;
      if (nearest < 0 || dist(i, j) < dist(i, nearest)) nearest = j;
      (label[std::size_t(i)] == label[std::size_t(j)] ? (within += dist(i, j), ++n_within)
                                                      : (between += dist(i, j), ++n_between));
    }
    EXPECT_EQ(label[std::size_t(nearest)], label[std::size_t(i)]) << "point " << i;
  }
  EXPECT_LT(within / n_within, 0.2 * between / n_between);
  // Centred, and a better fit than the start.
  EXPECT_NEAR(t.embedding.matrix().col(0).cast<double>().mean(), 0, 1e-4);
  Tsne start = tsne(x, {.perplexity = 10, .iterations = 1, .seed = 1});
  EXPECT_LT(t.kl_divergence, start.kl_divergence);
  EXPECT_GT(t.kl_divergence, 0);
}

TEST(Tsne, DeterministicForASeedAndAnyThreadCount) {
  std::vector<int> label;
  Tensor<float> x = clusters(4, 20, 8, 2.0, 0.5, 5, &label);
  const TsneOptions opt{.perplexity = 8, .iterations = 120, .seed = 7};
  Tsne one, two;
  {
    ThreadScope threads(1);
    one = tsne(x, opt);
  }
  {
    ThreadScope threads(2);
    two = tsne(x, opt);
  }
  ASSERT_EQ(one.embedding.numel(), two.embedding.numel());
  EXPECT_EQ(std::memcmp(one.embedding.data(), two.embedding.data(), sizeof(float) * 160), 0);
  EXPECT_EQ(one.kl_divergence, two.kl_divergence);
  TsneOptions other = opt;
  other.seed = 8;
  Tsne three = tsne(x, other);
  EXPECT_NE(std::memcmp(one.embedding.data(), three.embedding.data(), sizeof(float) * 160), 0);
}

TEST(Tsne, Errors) {
  auto x = testing::random_tensor<float>({10, 3}, 1);
  EXPECT_TRUE(throws_with<ValueError>([&] { tsne(x, {.perplexity = 10}); }, {"tsne", "perplexity 10", "N = 10"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { tsne(x, {.perplexity = 0.5}); }, {"tsne", "perplexity 0.5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { tsne(x, {.perplexity = 3, .iterations = 0}); }, {"tsne", "iterations 0"}));
  EXPECT_TRUE(
      throws_with<ValueError>([&] { tsne(x, {.perplexity = 3, .learning_rate = -1}); }, {"tsne", "learning rate -1"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { tsne(Tensor<float>::zeros({3, 2})); }, {"tsne", "N >= 4", "[3, 2]"}));
  auto inf = x.clone();
  inf.at(4, 2) = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(throws_with<ValueError>([&] { tsne(inf, {.perplexity = 3}); }, {"tsne", "infinity"}));
}

TEST(SampleRows, DistinctIncreasingSeeded) {
  std::vector<Index> s = sample_rows(1000, 50, 3);
  ASSERT_EQ(s.size(), 50u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::set<Index>(s.begin(), s.end()).size(), 50u);
  EXPECT_GE(s.front(), 0);
  EXPECT_LT(s.back(), 1000);
  EXPECT_EQ(s, sample_rows(1000, 50, 3));
  EXPECT_NE(s, sample_rows(1000, 50, 4));
  EXPECT_EQ(sample_rows(5, 9, 0), (std::vector<Index>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(sample_rows(0, 3, 0).empty());
  // gather_rows takes those rows in order.
  auto x = Tensor<float>::from({0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor<float> g = gather_rows(x, {2, 0});
  EXPECT_EQ(g.shape(), Shape({2, 2}));
  EXPECT_EQ(g.at(0, 0), 4);
  EXPECT_EQ(g.at(1, 1), 1);
  EXPECT_TRUE(throws_with<ValueError>([&] { gather_rows(x, {3}); }, {"gather_rows", "row 3 of 3"}));
}

}  // namespace
}  // namespace simile
