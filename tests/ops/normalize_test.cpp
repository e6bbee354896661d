#include <cmath>
#include <tuple>
#include <vector>

#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(L2Normalize, ByHand) {
  // [3, 4] has norm 5; [0, 0] stays 0; [1e-13, 0] is below eps = 1e-12, so it is divided by eps.
  Var<double> x(Tensor<double>::from({3, 4, 0, 0, 1e-13, 0}, {3, 2}), true);
  Var<double> y = l2_normalize(x);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({0.6, 0.8, 0, 0, 0.1, 0}, {3, 2}), 1e-15, 1e-14));
  // dy = [1, 0] on every row. Row 0: (dy - y <dy, y>) / 5 = ([1, 0] - 0.6 [0.6, 0.8]) / 5 = [0.128, -0.096].
  // Rows 1 and 2 are clamped: dy / eps.
  y.backward(Tensor<double>::from({1, 0, 1, 0, 1, 0}, {3, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({0.128, -0.096, 1e12, 0, 1e12, 0}, {3, 2}), 1e-15, 1e-12));
}

TEST(L2Normalize, RowsHaveUnitNorm) {
  for (Shape s : {Shape{1, 1}, Shape{7, 3}, Shape{130, 128}}) {
    SCOPED_TRACE(s.to_string());
    Var<float> x(random_tensor<float>(s, 3, -2, 2));
    Tensor<float> y = l2_normalize(x).value();
    for (Index i = 0; i < s[0]; ++i) EXPECT_NEAR(y.matrix().row(i).norm(), 1.0f, 1e-6f);
  }
}

TEST(L2Normalize, InvariantToPositiveRescaling) {
  Tensor<double> t = random_tensor<double>({7, 5}, 4, -3, 3);
  Tensor<double> y = l2_normalize(Var<double>(t)).value();
  for (double c : {2.5, 1e-3, 1e3}) {
    SCOPED_TRACE(c);
    Tensor<double> tc = t.clone();
    tc.array() *= c;
    EXPECT_TRUE(tensors_near(l2_normalize(Var<double>(tc)).value(), y, 1e-15, 1e-14));
  }
  // A negative factor flips the direction.
  Tensor<double> tn = t.clone();
  tn.array() *= -2.0;
  Tensor<double> yn = l2_normalize(Var<double>(tn)).value();
  yn.array() *= -1.0;
  EXPECT_TRUE(tensors_near(yn, y, 1e-15, 1e-14));
}

TEST(L2Normalize, GradientIsOrthogonalToTheRow) {
  // Moving along x_i does not change y_i, so <dx_i, x_i> = 0 for every unclamped row.
  Var<double> x = random_param({7, 9}, 5, -2, 2);
  Var<double> y = l2_normalize(x);
  y.backward(random_tensor<double>({7, 9}, 6));
  for (Index i = 0; i < 7; ++i) EXPECT_NEAR(x.grad().matrix().row(i).dot(x.value().matrix().row(i)), 0.0, 1e-13);
}

TEST(L2Normalize, ZeroRowHasNoNan) {
  Var<float> x(Tensor<float>::from({0, 0, 0, 1, 2, 2}, {2, 3}), true);
  Var<float> y = l2_normalize(x);
  sum(y).backward();
  EXPECT_TRUE(tensors_near(y.value(), Tensor<float>::from({0, 0, 0, 1 / 3.f, 2 / 3.f, 2 / 3.f}, {2, 3}), 1e-7, 1e-6));
  for (float v : x.grad().span()) EXPECT_TRUE(std::isfinite(v));
  // Cosine similarity of a zero row is 0 (not NaN).
  Tensor<float> s = cosine_similarity_matrix(x, x).value();
  for (float v : s.span()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(s.at(0, 0), 0.f);
  EXPECT_NEAR(s.at(1, 1), 1.f, 1e-6f);
}

TEST(L2Normalize, Gradcheck) {
  for (Shape s : {Shape{1, 1}, Shape{3, 7}, Shape{7, 130}, Shape{130, 3}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok([](const V& v) { return l2_normalize(v[0]); }, {random_param(s, 7, 0.1, 2)}));
    EXPECT_TRUE(grad_ok([](const V& v) { return l2_normalize(v[0]); }, {random_param(s, 8, -2, 2)}));
  }
  // A large eps clamps every row of norm below 10: the map is x / 10 there.
  EXPECT_TRUE(grad_ok([](const V& v) { return l2_normalize(v[0], 10.0); }, {random_param({3, 7}, 9, -1, 1)}));
}

TEST(CosineSimilarityMatrix, ByHand) {
  Var<double> a(Tensor<double>::from({1, 0, 1, 1}, {2, 2}));
  Var<double> b(Tensor<double>::from({0, 2, 3, 0, 1, 1}, {3, 2}));
  const double h = 1 / std::sqrt(2.0);
  EXPECT_TRUE(tensors_near(cosine_similarity_matrix(a, b).value(), Tensor<double>::from({0, 1, h, h, h, 1}, {2, 3}),
                           1e-15, 1e-14));
}

TEST(CosineSimilarityMatrix, InvariantsAndSelfSimilarity) {
  Var<double> a(random_tensor<double>({9, 16}, 10, -1, 1));
  Var<double> b(random_tensor<double>({5, 16}, 11, -1, 1));
  Tensor<double> s = cosine_similarity_matrix(a, b).value();
  EXPECT_EQ(s.shape(), (Shape{9, 5}));
  for (double v : s.span()) EXPECT_LE(std::abs(v), 1.0 + 1e-15);
  // Symmetric: S(a, b) = S(b, a)^T; scale-free in both arguments.
  EXPECT_TRUE(tensors_near(cosine_similarity_matrix(b, a).value(), transpose(Var<double>(s)).value(), 1e-15, 0));
  Tensor<double> a3 = a.value().clone();
  a3.array() *= 3.0;
  EXPECT_TRUE(tensors_near(cosine_similarity_matrix(Var<double>(a3), b).value(), s, 1e-15, 1e-14));
  Tensor<double> self = cosine_similarity_matrix(a, a).value();
  for (Index i = 0; i < 9; ++i) EXPECT_NEAR(self.at(i, i), 1.0, 1e-15);
}

TEST(CosineSimilarityMatrix, Gradcheck) {
  EXPECT_TRUE(grad_ok([](const V& v) { return cosine_similarity_matrix(v[0], v[1]); },
                      {random_param({7, 5}, 12), random_param({3, 5}, 13)}));
  EXPECT_TRUE(grad_ok([](const V& v) { return cosine_similarity_matrix(v[0], v[1]); },
                      {random_param({1, 130}, 14), random_param({1, 130}, 15)}));
  // The same Var on both sides, as SimCLR compares a batch with itself.
  EXPECT_TRUE(grad_ok([](const V& v) { return cosine_similarity_matrix(v[0], v[0]); }, {random_param({6, 4}, 16)}));
  // Only one side trainable.
  Var<double> fixed(random_tensor<double>({4, 5}, 17));
  EXPECT_TRUE(grad_ok([&](const V& v) { return cosine_similarity_matrix(v[0], fixed); }, {random_param({3, 5}, 18)}));
}

TEST(L2Normalize, SameBitsWithOneAndTwoThreads) {
  Tensor<float> t = random_tensor<float>({512, 128}, 19, -1, 1);
  Tensor<float> g = random_tensor<float>({512, 128}, 20, -1, 1);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true);
    Var<float> y = l2_normalize(x);
    y.backward(g);
    return std::make_tuple(y.value().clone(), x.grad().clone());
  };
  auto [y1, g1] = run(1);
  auto [y2, g2] = run(2);
  EXPECT_TRUE(tensors_near(y1, y2, 0, 0));
  EXPECT_TRUE(tensors_near(g1, g2, 0, 0));
}

TEST(Normalize, Errors) {
  Var<double> x(Tensor<double>::zeros({2, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([] { l2_normalize(Var<double>(Tensor<double>::zeros({2, 3, 4}))); },
                                      {"l2_normalize", "[2, 3, 4]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { l2_normalize(x, 0.0); }, {"l2_normalize", "eps 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { cosine_similarity_matrix(x, Var<double>(Tensor<double>::zeros({4, 5}))); },
                                      {"cosine_similarity_matrix", "[2, 3]", "[4, 5]", "3 and 5"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { cosine_similarity_matrix(x, Var<double>(Tensor<double>::zeros({3}))); },
                                      {"cosine_similarity_matrix", "[2, 3]", "[3]"}));
}

}  // namespace
}  // namespace simile
