#include <cmath>
#include <numeric>
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

/// 0, 1, ..., 15 in a [1, 1, 4, 4] plane.
Tensor<double> iota_4x4() {
  Tensor<double> t = Tensor<double>::empty({1, 1, 4, 4});
  std::iota(t.begin(), t.end(), 0.0);
  return t;
}

/// Distinct values 0.1 apart in a random order (no ties, so max pooling is differentiable everywhere
/// the finite differences probe).
Var<double> distinct_param(const Shape& s, std::uint64_t seed) {
  Tensor<double> t = Tensor<double>::empty(s);
  std::vector<double> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(i);
  Rng rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
  std::copy(v.begin(), v.end(), t.begin());
  return Var<double>(t, true);
}

TEST(MaxPool2d, ByHand4x4) {
  Var<double> x(iota_4x4(), true);
  Var<double> y = max_pool2d(x, 2);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({5, 7, 13, 15}, {1, 1, 2, 2})));
  y.backward(Tensor<double>::from({1, 2, 3, 4}, {1, 1, 2, 2}));
  EXPECT_TRUE(tensors_near(x.grad(),
                           Tensor<double>::from({0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}, {1, 1, 4, 4})));
  // Kernel 3, stride 2, padding 1: windows rows/cols [-1, 2) and [1, 4) -> maxima at (1,1), (1,3), (3,1), (3,3).
  EXPECT_TRUE(tensors_near(max_pool2d(Var<double>(iota_4x4()), 3, 2, 1).value(),
                           Tensor<double>::from({5, 7, 13, 15}, {1, 1, 2, 2})));
  // Overlapping windows (kernel 3, stride 1): the maxima 10, 11, 14, 15.
  EXPECT_TRUE(tensors_near(max_pool2d(Var<double>(iota_4x4()), 3, 1).value(),
                           Tensor<double>::from({10, 11, 14, 15}, {1, 1, 2, 2})));
}

TEST(MaxPool2d, NegativeValuesIgnorePadding) {
  // Padding must not act as a zero: a plane of negatives keeps its negative maxima.
  Tensor<double> t = iota_4x4();
  t.array() = -1.0 - t.array();
  EXPECT_TRUE(tensors_near(max_pool2d(Var<double>(t), 2, 2, 1).value(),
                           Tensor<double>::from({-1, -2, -4, -5, -6, -8, -13, -14, -16}, {1, 1, 3, 3})));
}

TEST(MaxPool2d, TiesGoToTheFirstMaximum) {
  Var<double> x(Tensor<double>::full({1, 1, 2, 4}, 3.0), true);
  max_pool2d(x, 2).backward(Tensor<double>::ones({1, 1, 1, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({1, 0, 1, 0, 0, 0, 0, 0}, {1, 1, 2, 4})));
}

TEST(MaxPool2d, OddSizesFloorLikePyTorch) {
  // 7x7 under a 2x2 window: 3x3 output; row and column 6 are never read and get no gradient.
  Var<double> x = distinct_param({2, 3, 7, 7}, 1);
  Var<double> y = max_pool2d(x, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3, 3}));
  sum(y).backward();
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c)
      for (Index k = 0; k < 7; ++k) {
        EXPECT_EQ(x.grad().at(n, c, 6, k), 0.0);
        EXPECT_EQ(x.grad().at(n, c, k, 6), 0.0);
      }
  // Every output is the max of its own 2x2 block.
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) {
      const Tensor<double>& v = x.value();
      double m = std::max({v.at(1, 2, 2 * i, 2 * j), v.at(1, 2, 2 * i + 1, 2 * j), v.at(1, 2, 2 * i, 2 * j + 1),
                           v.at(1, 2, 2 * i + 1, 2 * j + 1)});
      EXPECT_EQ(y.value().at(1, 2, i, j), m);
    }
  EXPECT_EQ(max_pool2d(x, 3, 2, 1).shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(avg_pool2d(x, 2).shape(), (Shape{2, 3, 3, 3}));
}

TEST(MaxPool2d, MatchesBruteForceWithTiesAndNan) {
  // Values from {0, 1, 2} (many ties) and a few NaNs, against a direct loop over each window taking the
  // first maximum in row-major order, NaN winning. Covers the 2x2 fast path (even and odd widths) and the
  // general path.
  for (auto [s, k, st, p] : std::vector<std::tuple<Shape, Index, Index, Index>>{
           {{2, 3, 8, 6}, 2, 2, 0}, {{2, 3, 7, 9}, 2, 2, 0}, {{1, 2, 9, 9}, 3, 2, 1}, {{1, 2, 6, 7}, 2, 1, 0}}) {
    SCOPED_TRACE(s.to_string() + " k" + std::to_string(k) + " s" + std::to_string(st) + " p" + std::to_string(p));
    Tensor<float> t = Tensor<float>::empty(s);
    Rng rng(s.numel());
    for (float& v : t.span()) v = rng.bernoulli(0.02) ? NAN : static_cast<float>(rng.below(3));
    Var<float> x(t, true);
    Var<float> y = max_pool2d(x, k, st, p);
    Tensor<float> g = Tensor<float>::empty(y.shape());
    for (Index i = 0; i < g.numel(); ++i) g.data()[i] = static_cast<float>(i + 1);
    y.backward(g);
    const Index H = s[2], W = s[3], OH = y.dim(2), OW = y.dim(3);
    Tensor<float> expect_grad = Tensor<float>::zeros(s);
    for (Index n = 0; n < s[0]; ++n)
      for (Index c = 0; c < s[1]; ++c)
        for (Index i = 0; i < OH; ++i)
          for (Index j = 0; j < OW; ++j) {
            float best = 0;
            Index bh = -1, bw = -1;
            for (Index a = i * st - p; a < i * st - p + k; ++a)
              for (Index b = j * st - p; b < j * st - p + k; ++b) {
                if (a < 0 || a >= H || b < 0 || b >= W) continue;
                float v = t.at(n, c, a, b);
                if (bh < 0 || v > best || (std::isnan(v) && !std::isnan(best))) best = v, bh = a, bw = b;
              }
            float got = y.value().at(n, c, i, j);
            EXPECT_TRUE(got == best || (std::isnan(got) && std::isnan(best))) << n << c << i << j;
            expect_grad.at(n, c, bh, bw) += g.at(n, c, i, j);
          }
    EXPECT_TRUE(tensors_near(x.grad(), expect_grad, 0, 0));
  }
}

TEST(MaxPool2d, Gradcheck) {
  for (auto [s, k, st, p] : std::vector<std::tuple<Shape, Index, Index, Index>>{
           {{2, 3, 7, 7}, 2, 2, 0}, {{1, 2, 5, 5}, 3, 2, 1}, {{1, 1, 4, 4}, 3, 1, 0}, {{3, 1, 1, 1}, 1, 1, 0},
           {{1, 2, 6, 5}, 2, 1, 1}}) {
    SCOPED_TRACE(s.to_string() + " k" + std::to_string(k) + " s" + std::to_string(st) + " p" + std::to_string(p));
    EXPECT_TRUE(grad_ok([&](const V& v) { return max_pool2d(v[0], k, st, p); }, {distinct_param(s, 2)}));
  }
}

TEST(AvgPool2d, ByHand4x4) {
  Var<double> x(iota_4x4(), true);
  Var<double> y = avg_pool2d(x, 2);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2})));
  y.backward(Tensor<double>::from({4, 8, 12, 16}, {1, 1, 2, 2}));
  EXPECT_TRUE(tensors_near(x.grad(),
                           Tensor<double>::from({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4})));
  // Kernel 3, stride 2, padding 1, padded zeros counted: corner window {0, 1, 4, 5} / 9 = 10 / 9;
  // window rows [-1, 2) x cols [1, 4): {1, 2, 3, 5, 6, 7} / 9 = 24 / 9; rows [1, 4) x cols [-1, 2):
  // {4, 5, 8, 9, 12, 13} / 9 = 51 / 9; rows [1, 4) x cols [1, 4): {5, 6, 7, 9, 10, 11, 13, 14, 15} / 9 = 90 / 9.
  Var<double> z(iota_4x4(), true);
  Var<double> yz = avg_pool2d(z, 3, 2, 1);
  EXPECT_TRUE(tensors_near(yz.value(), Tensor<double>::from({10 / 9.0, 24 / 9.0, 51 / 9.0, 10}, {1, 1, 2, 2}), 1e-15,
                           1e-14));
  // Each input's gradient is (number of windows holding it) / 9.
  sum(yz).backward();
  Tensor<double> expected = Tensor<double>::from({1, 2, 1, 1, 2, 4, 2, 2, 1, 2, 1, 1, 1, 2, 1, 1}, {1, 1, 4, 4});
  expected.array() /= 9.0;
  EXPECT_TRUE(tensors_near(z.grad(), expected, 1e-15, 1e-14));
}

TEST(AvgPool2d, ConstantPlaneStaysConstantWithoutPadding) {
  Var<float> x(Tensor<float>::full({2, 3, 9, 9}, 1.5f));
  for (Index k : {1, 2, 3}) {
    Tensor<float> y = avg_pool2d(x, k, 1).value();
    for (float v : y.span()) EXPECT_FLOAT_EQ(v, 1.5f);
  }
}

TEST(AvgPool2d, Gradcheck) {
  for (auto [s, k, st, p] : std::vector<std::tuple<Shape, Index, Index, Index>>{
           {{2, 3, 7, 7}, 2, 2, 0}, {{1, 2, 5, 5}, 3, 2, 1}, {{1, 1, 4, 4}, 3, 1, 1}, {{3, 1, 1, 1}, 1, 1, 0}}) {
    SCOPED_TRACE(s.to_string() + " k" + std::to_string(k));
    EXPECT_TRUE(grad_ok([&](const V& v) { return avg_pool2d(v[0], k, st, p); }, {random_param(s, 3)}));
  }
}

TEST(GlobalAvgPool2d, ByHandAndGradcheck) {
  Var<double> x(iota_4x4().reshape({1, 2, 2, 4}), true);
  Var<double> y = global_avg_pool2d(x);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({3.5, 11.5}, {1, 2})));
  y.backward(Tensor<double>::from({8, 16}, {1, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2}, {1, 2, 2, 4})));
  // Matches avg_pool2d with the whole plane as its window.
  Var<double> z(random_tensor<double>({3, 5, 7, 7}, 4));
  EXPECT_TRUE(tensors_near(global_avg_pool2d(z).value(), avg_pool2d(z, 7).value().reshape({3, 5}), 1e-15, 1e-14));
  for (Shape s : {Shape{1, 1, 1, 1}, Shape{2, 3, 7, 5}, Shape{1, 130, 2, 2}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok([](const V& v) { return global_avg_pool2d(v[0]); }, {random_param(s, 5)}));
  }
}

TEST(AdaptiveAvgPool2d, ByHandAndGradcheck) {
  // A 3x3 plane 0..8 onto 2x2: cells rows/columns [0, 2) and [1, 3), overlapping in the middle.
  Var<double> x(Tensor<double>::from({0, 1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3}), true);
  Var<double> y = adaptive_avg_pool2d(x, 2, 2);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({2, 3, 5, 6}, {1, 1, 2, 2})));
  y.backward(Tensor<double>::ones({1, 1, 2, 2}));
  // Each element gets 1/4 from every cell that covers it: corners 1, edges 2, the centre 4 cells.
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({.25, .5, .25, .5, 1, .5, .25, .5, .25}, {1, 1, 3, 3})));
  // 7x7 onto 2x2 is a 4x4 window at stride 3 (PyTorch's cells for the encoders' last map).
  Var<double> z(random_tensor<double>({3, 5, 7, 7}, 4));
  EXPECT_TRUE(tensors_near(adaptive_avg_pool2d(z, 2, 2).value(), avg_pool2d(z, 4, 3).value(), 1e-15, 1e-14));
  // One cell is the global average; as many cells as pixels is the identity; a divisor is plain pooling.
  EXPECT_TRUE(
      tensors_near(adaptive_avg_pool2d(z, 1, 1).value().reshape({3, 5}), global_avg_pool2d(z).value(), 1e-15, 1e-14));
  EXPECT_TRUE(tensors_near(adaptive_avg_pool2d(z, 7, 7).value(), z.value(), 0, 0));
  Var<double> q(random_tensor<double>({2, 3, 8, 6}, 5));
  EXPECT_TRUE(tensors_near(adaptive_avg_pool2d(q, 4, 3).value(), avg_pool2d(q, 2).value(), 1e-15, 1e-14));
  for (auto [s, oh, ow] : {std::tuple{Shape{1, 1, 1, 1}, 1, 1}, std::tuple{Shape{2, 3, 7, 5}, 2, 3},
                           std::tuple{Shape{1, 4, 3, 3}, 5, 2}, std::tuple{Shape{2, 2, 7, 7}, 2, 2}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok([oh, ow](const V& v) { return adaptive_avg_pool2d(v[0], oh, ow); }, {random_param(s, 5)}));
  }
}

TEST(Pool2d, SameBitsWithOneAndTwoThreads) {
  Tensor<float> t = random_tensor<float>({16, 32, 14, 14}, 6);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true);
    Var<float> y = max_pool2d(x, 3, 2, 1);
    Var<float> z = avg_pool2d(x, 2);
    Var<float> w = global_avg_pool2d(x);
    Var<float> u = adaptive_avg_pool2d(x, 3, 2);
    Var<float> l = sum(y) + sum(z) * 2.f + sum(w) * 3.f + sum(u) * 4.f;
    l.backward();
    return std::make_tuple(y.value().clone(), z.value().clone(), w.value().clone(), u.value().clone(),
                           x.grad().clone());
  };
  auto a = run(1);
  auto b = run(2);
  EXPECT_TRUE(tensors_near(std::get<0>(a), std::get<0>(b), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<1>(a), std::get<1>(b), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<2>(a), std::get<2>(b), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<3>(a), std::get<3>(b), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<4>(a), std::get<4>(b), 0, 0));
}

TEST(Pool2d, Errors) {
  Var<double> x(Tensor<double>::zeros({1, 2, 4, 4}));
  Var<double> flat(Tensor<double>::zeros({2, 16}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { max_pool2d(flat, 2); }, {"max_pool2d", "[2, 16]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { avg_pool2d(flat, 2); }, {"avg_pool2d", "[2, 16]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { global_avg_pool2d(flat); }, {"global_avg_pool2d", "[2, 16]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { adaptive_avg_pool2d(flat, 2, 2); }, {"adaptive_avg_pool2d", "[2, 16]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [] {
        adaptive_avg_pool2d(Var<double>(Tensor<double>::zeros({1, 2, 3, 0})), 1, 1);
      },
      {"adaptive_avg_pool2d", "[1, 2, 3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { adaptive_avg_pool2d(x, 0, 2); }, {"adaptive_avg_pool2d", "0x2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { adaptive_avg_pool2d(x, 2, -1); }, {"adaptive_avg_pool2d", "2x-1"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { global_avg_pool2d(Var<double>(Tensor<double>::zeros({1, 2, 0, 3}))); },
                                      {"global_avg_pool2d", "[1, 2, 0, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { max_pool2d(x, 0); }, {"max_pool2d", "kernel 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { avg_pool2d(x, 2, 0); }, {"avg_pool2d", "stride 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { max_pool2d(x, 2, 2, 2); }, {"max_pool2d", "padding 2", "kernel 2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { avg_pool2d(x, 3, 1, -1); }, {"avg_pool2d", "padding -1"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { max_pool2d(x, 5); }, {"max_pool2d", "[1, 2, 4, 4]", "kernel 5"}));
}

}  // namespace
}  // namespace simile
