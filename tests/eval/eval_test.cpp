#include "support/testing.hpp"

#include "simile/eval.hpp"

namespace simile {
namespace {
using testing::throws_with;

/// `per_class` points around each of `classes` random centers in `dim` dimensions.
struct Blobs {
  Tensor<float> x;
  std::vector<std::int64_t> y;
};
Blobs blobs(int classes, int per_class, int dim, double spread, std::uint64_t seed) {
  Rng r(seed);
  std::vector<std::vector<double>> centers(static_cast<std::size_t>(classes), std::vector<double>(static_cast<std::size_t>(dim)));
  for (auto& c : centers)
    for (double& v : c) v = r.normal();
  Blobs b{Tensor<float>::empty({classes * per_class, dim}), {}};
  for (int i = 0; i < classes * per_class; ++i) {
    int c = i % classes;
    b.y.push_back(c);
    for (int d = 0; d < dim; ++d)
      b.x.at(i, d) = static_cast<float>(centers[static_cast<std::size_t>(c)][static_cast<std::size_t>(d)] + spread * r.normal());
  }
  return b;
}

TEST(Knn, ByHandWeightedVote) {
  // Train points on the unit circle; the test point at angle 0 sees two class-1 points at +-60 degrees
  // and one class-0 point at 10 degrees. k = 3, T = 1: weights e^cos.
  auto pt = [](double deg) { return std::pair{float(std::cos(deg * M_PI / 180)), float(std::sin(deg * M_PI / 180))}; };
  std::vector<float> v;
  for (double a : {10.0, 60.0, -60.0, 180.0}) v.push_back(pt(a).first), v.push_back(pt(a).second);
  auto train = Tensor<float>::from(v, {4, 2});
  std::vector<std::int64_t> ytr{0, 1, 1, 0};
  auto test = Tensor<float>::from({2.0f, 0.0f}, {1, 2});  // norm 2: normalization must not matter
  std::vector<std::int64_t> yte{1};
  // class 0: e^cos(10) = 2.678; class 1: 2 e^0.5 = 3.297 -> class 1.
  auto r = knn_classify(train, ytr, test, yte, {.k = 3, .temperature = 1.0});
  EXPECT_EQ(r.predictions[0], 1);
  EXPECT_EQ(r.accuracy, 1.0);
  // With T = 0.05 the nearest point dominates: class 0.
  EXPECT_EQ(knn_classify(train, ytr, test, yte, {.k = 3, .temperature = 0.05}).predictions[0], 0);
  // k = 1 is plain nearest neighbour.
  EXPECT_EQ(knn_classify(train, ytr, test, yte, {.k = 1}).predictions[0], 0);
}

TEST(Knn, TilingAndThreadsDoNotChangeTheAnswer) {
  Blobs tr = blobs(5, 60, 16, 0.8, 1), te = blobs(5, 23, 16, 0.8, 1);
  auto base = knn_classify(tr.x, tr.y, te.x, te.y, {.k = 20, .temperature = 0.1, .tile = 1000});
  for (Index tile : {1, 7, 64}) {
    ThreadScope threads(2);
    auto r = knn_classify(tr.x, tr.y, te.x, te.y, {.k = 20, .temperature = 0.1, .tile = tile});
    EXPECT_EQ(r.predictions, base.predictions);
  }
  EXPECT_GT(base.accuracy, 0.9);
}

TEST(Knn, Errors) {
  Blobs b = blobs(2, 5, 3, 0.1, 2);
  EXPECT_TRUE(throws_with<ValueError>([&] { knn_classify(b.x, b.y, b.x, b.y, {.k = 11}); }, {"knn_classify", "k = 11", "10"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { knn_classify(b.x, b.y, b.x, b.y, {.k = 1, .temperature = 0}); }, {"temperature"}));
  auto other = Tensor<float>::zeros({4, 2});
  std::vector<std::int64_t> y4(4, 0);
  EXPECT_TRUE(throws_with<ShapeError>([&] { knn_classify(b.x, b.y, other, y4); }, {"knn_classify", "[10, 3]", "[4, 2]"}));
}

TEST(LinearProbe, SeparatesBlobsAndConverges) {
  Blobs tr = blobs(4, 100, 8, 0.3, 3), te = blobs(4, 50, 8, 0.3, 3);
  auto r = linear_probe(tr.x, tr.y, te.x, te.y);
  EXPECT_TRUE(r.converged);
  EXPECT_LT(r.iterations, 1000);
  EXPECT_GE(r.train_accuracy, 0.99);
  EXPECT_GE(r.test_accuracy, 0.97);
}

TEST(LinearProbe, FindsTheRegularizedOptimum) {
  // Two classes in one dimension: x = -1 (class 0) and x = +1 (class 1), balanced. For logistic
  // regression with penalty (l2/2) w^2, b = 0 by symmetry and the optimum solves
  //   -sigmoid(-w') * 1 + l2 w = 0 in standardized units (x already has mean 0, std 1).
  auto x = Tensor<float>::from({-1, 1, -1, 1}, {4, 1});
  std::vector<std::int64_t> y{0, 1, 0, 1};
  const double l2 = 0.1;
  auto r = linear_probe(x, y, x, y, {.l2 = l2, .tolerance = 1e-9});
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.test_accuracy, 1.0);
  // Softmax with two columns w0 = -w1 = -w/2 at the optimum; loss = log(1 + e^-w) + l2/2 * (w^2/2).
  // Minimize numerically by bisection on the derivative to compare the loss.
  auto dloss = [&](double w) { return -1.0 / (1.0 + std::exp(w)) + l2 * w / 2; };
  double lo = 0, hi = 50;
  for (int i = 0; i < 200; ++i) ((dloss((lo + hi) / 2) > 0) ? hi : lo) = (lo + hi) / 2;
  double w = (lo + hi) / 2;
  EXPECT_NEAR(r.final_loss, std::log1p(std::exp(-w)) + l2 / 2 * (w * w / 2), 1e-7);
}

TEST(LinearProbe, Errors) {
  Blobs b = blobs(2, 5, 3, 0.1, 4);
  std::vector<std::int64_t> bad = b.y;
  bad[0] = -1;
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, bad, b.x, b.y); }, {"linear_probe", "negative label -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2 = -1}); }, {"l2 -1"}));
  std::vector<std::int64_t> short_y(3, 0);
  EXPECT_TRUE(throws_with<ShapeError>([&] { linear_probe(b.x, short_y, b.x, b.y); }, {"3 train labels", "10 rows"}));
}

TEST(Representation, AlignmentUniformityByHand) {
  auto x = Tensor<float>::from({1, 0, 0, 1}, {2, 2});
  auto y = Tensor<float>::from({0, 1, 0, 2}, {2, 2});
  // Row 0: (1,0) vs (0,1): distance^2 = 2; row 1: identical after normalization: 0. Mean = 1.
  EXPECT_NEAR(alignment(x, y), 1.0, 1e-6);
  EXPECT_NEAR(alignment(x, y, 1.0), std::sqrt(2.0) / 2, 1e-6);
  // Three points at 120 degrees: every pair at distance^2 = 3: uniformity = -2 * 3 = -6.
  std::vector<float> v;
  for (double a : {0.0, 120.0, 240.0}) v.push_back(float(std::cos(a * M_PI / 180))), v.push_back(float(std::sin(a * M_PI / 180)));
  EXPECT_NEAR(uniformity(Tensor<float>::from(v, {3, 2})), -6.0, 1e-5);
  // All equal: every distance 0, uniformity 0 (the worst).
  EXPECT_NEAR(uniformity(Tensor<float>::full({5, 3}, 1.0f)), 0.0, 1e-6);
}

TEST(Representation, CollapseDiagnostics) {
  Rng r(5);
  auto spread = Tensor<float>::empty({2000, 8});
  for (float& v : spread.span()) v = static_cast<float>(r.normal());
  EXPECT_GT(effective_rank(spread), 7.5);
  EXPECT_NEAR(normalized_std(spread), 1 / std::sqrt(8.0), 0.02);
  auto line = Tensor<float>::empty({100, 8});
  for (Index i = 0; i < 100; ++i)
    for (Index d = 0; d < 8; ++d) line.at(i, d) = (i % 2 ? 1.0f : -1.0f) * float(d + 1);
  EXPECT_NEAR(effective_rank(line), 1.0, 1e-3);
  EXPECT_NEAR(normalized_std(Tensor<float>::full({10, 4}, 2.0f)), 0.0, 1e-9);
  EXPECT_TRUE(throws_with<ShapeError>([] { effective_rank(Tensor<float>::zeros({1, 3})); }, {"effective_rank", "[1, 3]"}));
}

}  // namespace
}  // namespace simile
