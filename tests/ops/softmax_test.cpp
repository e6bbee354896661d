#include <cmath>
#include <cstdint>
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

TEST(Softmax, ByHand) {
  // Rows [0, ln 2, ln 3] and [ln 4, 0, 0]: softmax [1, 2, 3] / 6 and [4, 1, 1] / 6.
  const double l2 = std::log(2.0), l3 = std::log(3.0), l4 = std::log(4.0);
  Var<double> x(Tensor<double>::from({0, l2, l3, l4, 0, 0}, {2, 3}));
  EXPECT_TRUE(tensors_near(softmax(x).value(),
                           Tensor<double>::from({1 / 6.0, 2 / 6.0, 3 / 6.0, 4 / 6.0, 1 / 6.0, 1 / 6.0}, {2, 3}),
                           1e-15, 1e-14));
  const double l6 = std::log(6.0);
  EXPECT_TRUE(tensors_near(log_softmax(x).value(),
                           Tensor<double>::from({-l6, l2 - l6, l3 - l6, l4 - l6, -l6, -l6}, {2, 3}), 1e-15, 1e-14));
  // Along axis 0: columns [0, ln 4] -> [1, 4] / 5, [ln 2, 0] -> [2, 1] / 3, [ln 3, 0] -> [3, 1] / 4.
  EXPECT_TRUE(tensors_near(softmax(x, 0).value(),
                           Tensor<double>::from({0.2, 2 / 3.0, 0.75, 0.8, 1 / 3.0, 0.25}, {2, 3}), 1e-15, 1e-14));
}

TEST(Softmax, BackwardByHand) {
  // y = softmax([0, ln 3]) = [1/4, 3/4]; with dy = [1, 0]: dx = y * (dy - <dy, y>) = [3/16, -3/16].
  Var<double> x(Tensor<double>::from({0, std::log(3.0)}, {1, 2}), true);
  softmax(x).backward(Tensor<double>::from({1, 0}, {1, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({3 / 16.0, -3 / 16.0}, {1, 2}), 1e-15, 1e-14));
  // log-softmax with dy = [1, 0]: dx = dy - y * sum(dy) = [3/4, -3/4].
  Var<double> z(Tensor<double>::from({0, std::log(3.0)}, {1, 2}), true);
  log_softmax(z).backward(Tensor<double>::from({1, 0}, {1, 2}));
  EXPECT_TRUE(tensors_near(z.grad(), Tensor<double>::from({0.75, -0.75}, {1, 2}), 1e-15, 1e-14));
}

TEST(Softmax, RowsSumToOneOnEveryAxis) {
  Var<float> x(random_tensor<float>({3, 7, 5}, 11, -5, 5));
  for (int axis : {0, 1, 2, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    Tensor<float> y = softmax(x, axis).value();
    Tensor<double> s = sum(Var<double>(y.to<double>()), axis).value();
    EXPECT_TRUE(tensors_near(s, Tensor<double>::ones(s.shape()), 1e-6, 0));
    for (float v : y.span()) EXPECT_TRUE(v > 0 && v <= 1);
    // exp(log_softmax) is softmax.
    Tensor<float> ls = log_softmax(x, axis).value();
    ls.array() = ls.array().exp();
    EXPECT_TRUE(tensors_near(ls, y, 1e-7, 1e-5));
  }
}

TEST(Softmax, ShiftInvariance) {
  Tensor<double> t = random_tensor<double>({7, 13}, 12, -3, 3);
  Var<double> x(t);
  for (double c : {100.0, -50.0, 1e4}) {
    SCOPED_TRACE("shift " + std::to_string(c));
    Var<double> xc(t.clone());
    xc.value().array() += c;
    EXPECT_TRUE(tensors_near(softmax(xc).value(), softmax(x).value(), 1e-15, 1e-9));
    EXPECT_TRUE(tensors_near(log_softmax(xc).value(), log_softmax(x).value(), 1e-9, 1e-9));
    EXPECT_NEAR(cross_entropy(xc, {0, 3, 12, 1, 1, 5, 7}).item(), cross_entropy(x, {0, 3, 12, 1, 1, 5, 7}).item(),
                1e-9);
  }
}

TEST(Softmax, StableAtHugeLogits) {
  // Naive exp(1e4) overflows in float and double; the shifted form gives exact answers.
  Var<float> x(Tensor<float>::from({1e4f, -1e4f, 0.f, -1e4f, -1e4f, -1e4f}, {2, 3}), true);
  Tensor<float> y = softmax(x).value();
  EXPECT_TRUE(tensors_near(y, Tensor<float>::from({1, 0, 0, 1 / 3.f, 1 / 3.f, 1 / 3.f}, {2, 3}), 1e-7, 1e-6));
  Tensor<float> ly = log_softmax(x).value();
  const float l3 = std::log(3.f);
  EXPECT_TRUE(tensors_near(ly, Tensor<float>::from({0, -2e4f, -1e4f, -l3, -l3, -l3}, {2, 3}), 1e-6, 1e-7));
  // The strided path (axis 0): columns [1e4, -1e4] -> [1, 0], [-1e4, -1e4] -> [1/2, 1/2], [0, -1e4] -> [1, 0].
  EXPECT_TRUE(tensors_near(softmax(x, 0).value(), Tensor<float>::from({1, 0.5f, 1, 0, 0.5f, 0}, {2, 3}), 1e-7, 1e-6));
  const float l2 = std::log(2.f);
  EXPECT_TRUE(tensors_near(log_softmax(x, 0).value(), Tensor<float>::from({0, -l2, 0, -2e4f, -l2, -1e4f}, {2, 3}),
                           1e-6, 1e-7));
  Var<float> loss = cross_entropy(x, {1, 2});
  // Row 0 picks -1e4 against a max of 1e4: loss 2e4; row 1: ln 3. Mean (2e4 + ln 3) / 2.
  EXPECT_NEAR(loss.item(), (2e4f + l3) / 2, 1e-2);
  loss.backward();
  for (float g : x.grad().span()) EXPECT_TRUE(std::isfinite(g));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<float>::from({0.5f, -0.5f, 0, 1 / 6.f, 1 / 6.f, -1 / 3.f}, {2, 3}),
                           1e-7, 1e-6));
  for (float v : y.span()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Softmax, NanPropagates) {
  Var<double> x(Tensor<double>::from({1, NAN, 2, 1, 2, 3}, {2, 3}));
  Tensor<double> y = softmax(x).value();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(y.data()[i]));
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isfinite(y.data()[i]));
}

TEST(Softmax, Gradcheck) {
  for (Shape s : {Shape{1, 1}, Shape{3, 7}, Shape{7, 130}, Shape{1, 3}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok([](const V& v) { return softmax(v[0]); }, {random_param(s, 21, -3, 3)}));
    EXPECT_TRUE(grad_ok([](const V& v) { return log_softmax(v[0]); }, {random_param(s, 22, -3, 3)}));
  }
  for (int axis : {0, 1, 2}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    EXPECT_TRUE(grad_ok([axis](const V& v) { return softmax(v[0], axis); }, {random_param({3, 7, 5}, 23, -3, 3)}));
    EXPECT_TRUE(
        grad_ok([axis](const V& v) { return log_softmax(v[0], axis); }, {random_param({3, 7, 5}, 24, -3, 3)}));
  }
}

TEST(CrossEntropy, ByHand) {
  // Row 0: p = [1, 2, 3] / 6, label 2 -> -ln(1/2); row 1: p = [4, 1, 1] / 6, label 1 -> ln 6.
  const double l2 = std::log(2.0), l3 = std::log(3.0), l4 = std::log(4.0);
  Var<double> x(Tensor<double>::from({0, l2, l3, l4, 0, 0}, {2, 3}), true);
  Var<double> loss = cross_entropy(x, {2, 1});
  EXPECT_NEAR(loss.item(), (l2 + std::log(6.0)) / 2, 1e-15);
  loss.backward();
  // (softmax - onehot) / N.
  EXPECT_TRUE(tensors_near(
      x.grad(), Tensor<double>::from({1 / 12.0, 2 / 12.0, -3 / 12.0, 4 / 12.0, -5 / 12.0, 1 / 12.0}, {2, 3}), 1e-15,
      1e-14));
}

TEST(CrossEntropy, MatchesLogSoftmaxComposition) {
  Tensor<double> t = random_tensor<double>({7, 5}, 31, -4, 4);
  std::vector<std::int64_t> labels{0, 4, 2, 2, 1, 3, 0};
  Var<double> a(t.clone(), true), b(t.clone(), true);
  Var<double> fused = cross_entropy(a, labels);
  // -mean_i log_softmax(x)[i, y_i], as a weighted sum: the weights pick the label entries.
  Tensor<double> pick = Tensor<double>::zeros({7, 5});
  for (Index i = 0; i < 7; ++i) pick.at(i, labels[static_cast<std::size_t>(i)]) = -1.0 / 7;
  Var<double> composed = sum(log_softmax(b) * Var<double>(pick));
  EXPECT_NEAR(fused.item(), composed.item(), 1e-14);
  fused.backward();
  composed.backward();
  EXPECT_TRUE(tensors_near(a.grad(), b.grad(), 1e-15, 1e-12));
}

TEST(CrossEntropy, Gradcheck) {
  for (auto [n, c] : std::vector<std::pair<Index, Index>>{{1, 1}, {1, 3}, {3, 7}, {7, 130}}) {
    SCOPED_TRACE(std::to_string(n) + "x" + std::to_string(c));
    std::vector<std::int64_t> labels;
    Rng rng(40 + static_cast<std::uint64_t>(n));
    for (Index i = 0; i < n; ++i) labels.push_back(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(c))));
    EXPECT_TRUE(grad_ok([&](const V& v) { return cross_entropy(v[0], labels) * 3.0; },
                        {random_param({n, c}, 41, -3, 3)}));
  }
}

TEST(Softmax, SameBitsWithOneAndTwoThreads) {
  Tensor<float> t = random_tensor<float>({300, 130}, 51, -6, 6);
  std::vector<std::int64_t> labels(300);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i % 130);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true);
    Tensor<float> y = softmax(x, 0).value().clone();
    Var<float> loss = cross_entropy(x, labels);
    loss.backward();
    return std::make_tuple(y, loss.item(), x.grad().clone());
  };
  auto [y1, l1, g1] = run(1);
  auto [y2, l2, g2] = run(2);
  EXPECT_EQ(l1, l2);
  EXPECT_TRUE(tensors_near(y1, y2, 0, 0));
  EXPECT_TRUE(tensors_near(g1, g2, 0, 0));
}

TEST(Softmax, Errors) {
  Var<double> x(Tensor<double>::zeros({2, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { softmax(x, 2); }, {"softmax", "axis 2", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { log_softmax(x, -3); }, {"log_softmax", "axis -3", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { cross_entropy(x, {0, 3}); },
                                      {"cross_entropy", "label 3", "row 1", "3 classes"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { cross_entropy(x, {-1, 0}); }, {"cross_entropy", "label -1", "3 classes"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { cross_entropy(x, {0}); }, {"cross_entropy", "1 labels", "[2, 3]"}));
  Var<double> x3(Tensor<double>::zeros({2, 3, 1}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { cross_entropy(x3, {0, 0}); }, {"cross_entropy", "[2, 3, 1]"}));
}

}  // namespace
}  // namespace simile
