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

TEST(Knn, TrainingRowsScaleFreeAndZeroRowsNeverVoteFirst) {
  // Cosine similarity: scaling a training row by any positive factor changes no prediction, though the
  // rows are read unnormalized (their inverse norms scale each similarity block). A zero row has
  // similarity 0 to everything, so with k = 1 it is never the neighbour of a point it is not orthogonal to.
  Blobs tr = blobs(4, 50, 8, 0.6, 5), te = blobs(4, 20, 8, 0.6, 5);
  const auto base = knn_classify(tr.x, tr.y, te.x, te.y, {.k = 10, .temperature = 0.1});
  Tensor<float> scaled = tr.x.clone();
  for (Index i = 0; i < scaled.dim(0); ++i)
    for (Index d = 0; d < scaled.dim(1); ++d) scaled.at(i, d) *= static_cast<float>(1 << (i % 7)) / 8.0f;
  EXPECT_EQ(knn_classify(scaled, tr.y, te.x, te.y, {.k = 10, .temperature = 0.1}).predictions, base.predictions);
  auto two = Tensor<float>::from({0.0f, 0.0f, 1.0f, 0.0f}, {2, 2});  // row 0 zero (class 0), row 1 class 1
  auto one = Tensor<float>::from({3.0f, 0.5f}, {1, 2});
  std::vector<std::int64_t> y01{0, 1}, y1{1};
  EXPECT_EQ(knn_classify(two, y01, one, y1, {.k = 1}).predictions[0], 1);
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

// The objective takes the standardized rows a block at a time: over several blocks and a partial last one,
// its loss is the direct formula's, its gradient the central differences', and its bits the same on 1 and 2
// threads (the blocks, not the threads, fix the order of the sums).
TEST(LinearProbe, BlockedObjectiveIsTheWholeMatrixObjective) {
  const Index n = 2 * detail::probe_block + 37, d = 3, c = 3;
  Blobs b = blobs(static_cast<int>(c), static_cast<int>(n / c), static_cast<int>(d), 1.0, 11);
  ASSERT_EQ(b.x.dim(0), n);
  const Eigen::RowVectorXd mean = Eigen::RowVectorXd::Constant(d, 0.25), inv_std = Eigen::RowVectorXd::Constant(d, 0.8);
  const detail::Standardized xs{b.x, mean, inv_std};
  const double l2 = 0.03;
  const detail::SoftmaxObjective f{xs, b.y, c, l2};
  Rng r(12);
  detail::VecD theta((d + 1) * c);
  for (Index i = 0; i < theta.size(); ++i) theta(i) = r.normal();
  // Direct: every row standardized, logits, log-sum-exp, mean, plus the penalty on W.
  double direct = 0;
  for (Index i = 0; i < n; ++i) {
    std::vector<double> z(static_cast<std::size_t>(c));
    for (Index k = 0; k < c; ++k) {
      z[static_cast<std::size_t>(k)] = theta(d * c + k);
      for (Index j = 0; j < d; ++j) z[static_cast<std::size_t>(k)] += (b.x.at(i, j) - 0.25) * 0.8 * theta(j * c + k);
    }
    const double mx = *std::max_element(z.begin(), z.end());
    double s = 0;
    for (double v : z) s += std::exp(v - mx);
    direct += mx + std::log(s) - z[static_cast<std::size_t>(b.y[static_cast<std::size_t>(i)])];
  }
  double penalty = 0;
  for (Index i = 0; i < d * c; ++i) penalty += theta(i) * theta(i);
  direct = direct / double(n) + 0.5 * l2 * penalty;
  detail::VecD grad, grad2;
  double loss = 0, loss2 = 0;
  {
    ThreadScope one(1);
    loss = f(theta, grad);
  }
  {
    ThreadScope two(2);
    loss2 = f(theta, grad2);
  }
  EXPECT_NEAR(loss, direct, 1e-12);
  EXPECT_EQ(loss, loss2);
  EXPECT_TRUE(grad == grad2);
  const double h = 1e-6;
  for (Index i = 0; i < theta.size(); ++i) {
    detail::VecD up = theta, down = theta, unused;
    up(i) += h;
    down(i) -= h;
    EXPECT_NEAR(grad(i), (f(up, unused) - f(down, unused)) / (2 * h), 1e-7) << "theta " << i;
  }
}

TEST(LinearProbe, SameBitsOnOneAndTwoThreads) {
  // One draw of 3,000 points around the same centers: the first 2,500 train, the last 500 test.
  const Blobs all = blobs(5, 600, 16, 1.5, 13);
  const std::span<const std::int64_t> y(all.y);
  LinearProbeResult r[2];
  for (int t : {1, 2}) {
    ThreadScope threads(t);
    r[t - 1] = linear_probe(all.x.slice_rows(0, 2500), y.first(2500), all.x.slice_rows(2500, 3000), y.subspan(2500));
  }
  EXPECT_EQ(r[0].final_loss, r[1].final_loss);
  EXPECT_EQ(r[0].iterations, r[1].iterations);
  EXPECT_EQ(r[0].test_accuracy, r[1].test_accuracy);
  EXPECT_GT(r[0].test_accuracy, 0.8);  // overlapping blobs (spread 1.5 around unit-normal centers), far above chance
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

TEST(LinearProbe, StratifiedFoldsDealEveryClassEvenly) {
  std::vector<std::int64_t> y;
  for (int i = 0; i < 103; ++i) y.push_back(i % 7 == 0 ? 2 : i % 3);  // unequal classes, 2 the smallest
  const std::vector<int> f = detail::stratified_folds(y, 5, 11);
  ASSERT_EQ(f.size(), y.size());
  for (std::int64_t c = 0; c < 3; ++c) {
    std::vector<int> per_fold(5, 0);
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] == c) ++per_fold[static_cast<std::size_t>(f[i])];
    EXPECT_LE(*std::max_element(per_fold.begin(), per_fold.end()) - *std::min_element(per_fold.begin(), per_fold.end()), 1)
        << "class " << c;
  }
  std::vector<int> sizes(5, 0);
  for (int k : f) ++sizes[static_cast<std::size_t>(k)];
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1);
  // One row a class: the deal goes on across classes, so no fold is empty and no fold holds them all.
  const std::vector<std::int64_t> singles{0, 1, 2, 3, 4, 5};
  std::vector<int> g = detail::stratified_folds(singles, 3, 0);
  EXPECT_EQ(std::count(g.begin(), g.end(), 0), 2);
  EXPECT_EQ(std::count(g.begin(), g.end(), 1), 2);
  EXPECT_EQ(std::count(g.begin(), g.end(), 2), 2);
  EXPECT_EQ(detail::stratified_folds(y, 5, 11), f);  // the seed alone decides
  EXPECT_NE(detail::stratified_folds(y, 5, 12), f);
}

/// Two classes whose means differ by 0.5 standard deviations in each of `dim` features: together they
/// separate well (the mean difference's direction: 0.5 sqrt(dim) deviations apart), but with fewer rows
/// than features an unpenalized probe fits the noise instead.
Blobs faint_in_every_feature(int rows, int dim, std::uint64_t seed) {
  Rng r(seed);
  Blobs b{Tensor<float>::empty({rows, dim}), {}};
  for (int i = 0; i < rows; ++i) {
    b.y.push_back(i % 2);
    for (int d = 0; d < dim; ++d) b.x.at(i, d) = static_cast<float>((i % 2 ? 0.25 : -0.25) + r.normal());
  }
  return b;
}

TEST(LinearProbe, CrossValidationChoosesAPenaltyThatHelpsFewLabels) {
  Blobs tr = faint_in_every_feature(40, 60, 5), te = faint_in_every_feature(2000, 60, 6);
  const std::vector<double> grid{1e-4, 1e-2, 1.0, 100.0};
  LinearProbeResult loose = linear_probe(tr.x, tr.y, te.x, te.y, {.l2 = 1e-4});
  LinearProbeResult cv = linear_probe(tr.x, tr.y, te.x, te.y, {.l2_grid = grid, .folds = 5, .seed = 1});
  EXPECT_EQ(loose.l2, 1e-4);
  EXPECT_GE(cv.l2, 1.0);  // 40 rows, 60 features: the small penalties fit the noise
  EXPECT_EQ(loose.train_accuracy, 1.0);
  EXPECT_GT(cv.test_accuracy, loose.test_accuracy + 0.03) << cv.test_accuracy << " vs " << loose.test_accuracy;
  // The chosen penalty's probe is the plain probe at that penalty; the test rows play no part in the choice.
  LinearProbeResult fixed = linear_probe(tr.x, tr.y, te.x, te.y, {.l2 = cv.l2});
  EXPECT_EQ(cv.test_accuracy, fixed.test_accuracy);
  EXPECT_EQ(cv.final_loss, fixed.final_loss);
  Blobs other = faint_in_every_feature(50, 60, 7);
  EXPECT_EQ(linear_probe(tr.x, tr.y, other.x, other.y, {.l2_grid = grid, .seed = 1}).l2, cv.l2);
}

TEST(LinearProbe, CrossValidationCountsHeldOutRowsAndBreaksTiesUpward) {
  // By hand: the held-out rows each penalty gets right, over the same folds.
  Blobs tr = faint_in_every_feature(30, 20, 8);
  const std::vector<double> grid{1e-3, 0.3, 30.0};
  const std::vector<int> fold = detail::stratified_folds(tr.y, 3, 4);
  std::vector<double> right(grid.size(), 0);
  for (int k = 0; k < 3; ++k) {
    std::vector<float> xf, xh;
    std::vector<std::int64_t> yf, yh;
    for (Index i = 0; i < 30; ++i) {
      auto& x = fold[static_cast<std::size_t>(i)] == k ? xh : xf;
      for (Index d = 0; d < 20; ++d) x.push_back(tr.x.at(i, d));
      (fold[static_cast<std::size_t>(i)] == k ? yh : yf).push_back(tr.y[static_cast<std::size_t>(i)]);
    }
    auto fit = Tensor<float>::from(xf, {Index(yf.size()), 20}), held = Tensor<float>::from(xh, {Index(yh.size()), 20});
    for (std::size_t g = 0; g < grid.size(); ++g)
      right[g] += linear_probe(fit, yf, held, yh, {.l2 = grid[g], .tolerance = LinearProbeOptions{}.cv_tolerance})
                      .test_accuracy * double(yh.size());
  }
  std::size_t best = 0;
  for (std::size_t g = 1; g < grid.size(); ++g)
    if (std::lround(right[g]) >= std::lround(right[best])) best = g;
  EXPECT_EQ(detail::cross_validated_l2(tr.x, tr.y, {.l2_grid = grid, .folds = 3, .seed = 4}), grid[best]);
  // Separable blobs: every penalty gets every held-out row right, and the largest is taken.
  Blobs easy = blobs(3, 20, 4, 0.05, 9);
  EXPECT_EQ(linear_probe(easy.x, easy.y, easy.x, easy.y, {.l2_grid = {1e-3, 1e-4, 1e-2}}).l2, 1e-2);
}

TEST(LinearProbe, CrossValidationErrors) {
  Blobs b = blobs(2, 5, 3, 0.1, 4);
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2_grid = {1e-3}, .folds = 1}); },
                                      {"linear_probe", "1 folds of 10 training rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2_grid = {1e-3}, .folds = 11}); },
                                      {"11 folds of 10 training rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2_grid = {1e-3, -2}}); },
                                      {"l2_grid holds -2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2_grid = {std::nan("")}}); },
                                      {"l2_grid holds nan"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { linear_probe(b.x, b.y, b.x, b.y, {.l2_grid = {1e-3}, .cv_tolerance = 0}); },
                                      {"cv_tolerance 0"}));
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
