#include <cmath>
#include <cstdint>
#include <limits>
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
using Mask = Tensor<std::uint8_t>;

/// A [B, L] mask whose row b keeps its first lengths[b] positions.
Mask prefix_mask(Index L, const std::vector<Index>& lengths) {
  Mask m = Mask::zeros({static_cast<Index>(lengths.size()), L});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (Index l = 0; l < lengths[b]; ++l) m.at(static_cast<Index>(b), l) = 1;
  return m;
}

TEST(MaskedMean, ByHand) {
  // Sequence 0 keeps positions 0 and 1 (the 100s are padding); sequence 1 is all padding.
  Var<double> x(Tensor<double>::from({1, 2, 3, 4, 100, 100, 7, 8, 9, 10, 11, 12}, {2, 3, 2}), true);
  Mask mask = Mask::from({1, 1, 0, 0, 0, 0}, {2, 3});
  Var<double> y = masked_mean(x, mask);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({2, 3, 0, 0}, {2, 2}), 0, 0));
  // dx[b, l] = mask[b, l] dy[b] / n_b: dy[0] / 2 at the kept positions, 0 elsewhere.
  y.backward(Tensor<double>::from({1, 2, 5, 6}, {2, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({0.5, 1, 0.5, 1, 0, 0, 0, 0, 0, 0, 0, 0}, {2, 3, 2}), 0, 0));
}

TEST(MaskedMean, IgnoresPaddedPositions) {
  Tensor<double> t = random_tensor<double>({3, 5, 4}, 1);
  Mask mask = prefix_mask(5, {5, 2, 3});
  Tensor<double> y = masked_mean(Var<double>(t), mask).value();
  // Anything at a padded position, infinities and NaN included, leaves the output unchanged.
  Tensor<double> u = t.clone();
  for (Index k = 0; k < 4; ++k) {
    u.at(1, 3, k) = std::numeric_limits<double>::infinity();
    u.at(1, 4, k) = std::numeric_limits<double>::quiet_NaN();
    u.at(2, 4, k) = 1e300;
  }
  EXPECT_TRUE(tensors_near(masked_mean(Var<double>(u), mask).value(), y, 0, 0));
  // Each row is the plain mean of its kept prefix.
  Tensor<double> prefix = t.slice_rows(1, 2).reshape({5, 4}).slice_rows(0, 2).clone();
  EXPECT_TRUE(tensors_near(y.slice_rows(1, 2).reshape({4}), mean(Var<double>(prefix), 0).value(), 1e-15, 1e-15));
}

TEST(MaskedMean, FullMaskIsTheMean) {
  Tensor<double> t = random_tensor<double>({4, 6, 3}, 2);
  Mask all = Mask::ones({4, 6});
  EXPECT_TRUE(tensors_near(masked_mean(Var<double>(t), all).value(), mean(Var<double>(t), 1).value(), 1e-15, 1e-14));
}

TEST(MaskedMean, EmptySequenceGivesZerosNotNan) {
  Var<float> x(random_tensor<float>({2, 3, 4}, 3), true);
  Mask mask = prefix_mask(3, {0, 3});
  Var<float> y = masked_mean(x, mask);
  for (Index k = 0; k < 4; ++k) EXPECT_EQ(y.value().at(0, k), 0.f);
  // Even an infinite upstream gradient passes nothing to an empty sequence.
  Tensor<float> g = Tensor<float>::ones({2, 4});
  g.at(0, 1) = std::numeric_limits<float>::infinity();
  y.backward(g);
  for (Index l = 0; l < 3; ++l)
    for (Index k = 0; k < 4; ++k) {
      EXPECT_EQ(x.grad().at(0, l, k), 0.f);
      EXPECT_NEAR(x.grad().at(1, l, k), 1.f / 3, 1e-7);
    }
  // L = 0: every sequence is empty.
  EXPECT_TRUE(tensors_near(masked_mean(Var<float>(Tensor<float>::zeros({2, 0, 3})), Mask::zeros({2, 0})).value(),
                           Tensor<float>::zeros({2, 3}), 0, 0));
}

TEST(MaskedMean, Gradcheck) {
  EXPECT_TRUE(grad_ok([](const V& v) { return masked_mean(v[0], Mask::ones({1, 1})); }, {random_param({1, 1, 1}, 4)}));
  // Padding in each row, one fully masked row, a hole in the middle of a row.
  Mask holes = Mask::from({1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, {3, 4});
  EXPECT_TRUE(grad_ok([&](const V& v) { return masked_mean(v[0], holes); }, {random_param({3, 4, 5}, 5)}));
  Mask lengths = prefix_mask(7, {7, 1, 0});
  EXPECT_TRUE(grad_ok([&](const V& v) { return masked_mean(v[0], lengths); }, {random_param({3, 7, 130}, 6)}));
}

TEST(MaskedMean, SameBitsWithOneAndTwoThreads) {
  Tensor<float> t = random_tensor<float>({64, 32, 64}, 7);
  Tensor<float> g = random_tensor<float>({64, 64}, 8);
  std::vector<Index> lengths;
  for (Index b = 0; b < 64; ++b) lengths.push_back((b * 7) % 33);
  Mask mask = prefix_mask(32, lengths);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true);
    Var<float> y = masked_mean(x, mask);
    y.backward(g);
    return std::make_tuple(y.value().clone(), x.grad().clone());
  };
  auto [y1, g1] = run(1);
  auto [y2, g2] = run(2);
  EXPECT_TRUE(tensors_near(y1, y2, 0, 0));
  EXPECT_TRUE(tensors_near(g1, g2, 0, 0));
}

TEST(MaskedMean, Errors) {
  Var<double> x(Tensor<double>::zeros({2, 3, 4}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { masked_mean(Var<double>(Tensor<double>::zeros({2, 3})), Mask::ones({2, 3})); },
                                      {"masked_mean", "[B, L, D]", "[2, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { masked_mean(x, Mask::ones({2, 4})); },
                                      {"masked_mean", "mask of shape [2, 4]", "[2, 3, 4]", "expected [2, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { masked_mean(x, Mask::ones({6})); }, {"masked_mean", "[6]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { masked_mean(x, Mask()); }, {"masked_mean", "mask"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { masked_mean(x, Mask::from({1, 1, 0, 1, 2, 0}, {2, 3})); },
                                      {"masked_mean", "value 2", "[1, 1]", "0 (padding) or 1"}));
}

}  // namespace
}  // namespace simile
