#include <cstdint>
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
using Ids = Tensor<std::int32_t>;

/// Random ids in [0, n) from a fixed seed.
Ids random_ids(const Shape& shape, std::int32_t n, std::uint64_t seed) {
  Ids t = Ids::empty(shape);
  Rng rng(seed);
  for (std::int32_t& v : t.span()) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n)));
  return t;
}

TEST(Embedding, ByHand) {
  Var<double> w(Tensor<double>::from({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2}), true);
  Ids ids = Ids::from({1, 3, 1, 0, 2, 1}, {2, 3});
  Var<double> y = embedding(w, ids);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({10, 11, 30, 31, 10, 11, 0, 1, 20, 21, 10, 11}, {2, 3, 2}), 0, 0));
  // dy at position p (flat) is [p + 1, 10 (p + 1)]. Row 1 occurs at positions 0, 2 and 5: 1 + 3 + 6 = 10.
  y.backward(Tensor<double>::from({1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}, {2, 3, 2}));
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::from({4, 40, 10, 100, 5, 50, 2, 20}, {4, 2}), 0, 0));
}

TEST(Embedding, ScalarAndEmptyIds) {
  Var<double> w(Tensor<double>::from({1, 2, 3, 4, 5, 6}, {3, 2}), true);
  Var<double> y = embedding(w, Ids::scalar(2));
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({5, 6}, {2}), 0, 0));
  Var<double> e = embedding(w, Ids::empty({0, 4}));
  EXPECT_EQ(e.shape(), (Shape{0, 4, 2}));
}

TEST(Embedding, PaddingRowGetsNoGradient) {
  // padding_idx = 2: the forward still returns row 2 (PyTorch), the backward skips it.
  Var<double> w(Tensor<double>::from({1, 1, 2, 2, 3, 3, 4, 4}, {4, 2}), true);
  Ids ids = Ids::from({2, 0, 2, 3}, {4});
  Var<double> y = embedding(w, ids, 2);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({3, 3, 1, 1, 3, 3, 4, 4}, {4, 2}), 0, 0));
  sum(y).backward();
  // Row 1 never occurs and row 2 is padding: both zero.
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::from({1, 1, 0, 0, 0, 0, 1, 1}, {4, 2}), 0, 0));
}

TEST(Embedding, RepeatedIdsSumAndGradientsAccumulate) {
  Var<double> w = random_param({5, 3}, 1);
  Ids ids = Ids::from({4, 4, 4, 4, 4, 4, 4}, {7});
  Tensor<double> g = random_tensor<double>({7, 3}, 2);
  embedding(w, ids).backward(g);
  Tensor<double> expected = Tensor<double>::zeros({5, 3});
  for (Index p = 0; p < 7; ++p)
    for (Index k = 0; k < 3; ++k) expected.at(4, k) += g.at(p, k);
  EXPECT_TRUE(tensors_near(w.grad(), expected, 1e-15, 1e-15));
  // A second graph adds to the gradient; untouched rows stay zero.
  embedding(w, Ids::from({0, 4}, {2})).backward(Tensor<double>::ones({2, 3}));
  for (Index k = 0; k < 3; ++k) {
    expected.at(0, k) += 1;
    expected.at(4, k) += 1;
  }
  EXPECT_TRUE(tensors_near(w.grad(), expected, 1e-15, 1e-15));
}

TEST(Embedding, CallerMayReuseIdsBeforeBackward) {
  Var<double> w(Tensor<double>::zeros({3, 1}), true);
  Ids ids = Ids::from({0, 0}, {2});
  Var<double> y = embedding(w, ids);
  ids.fill(2);
  sum(y).backward();
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::from({2, 0, 0}, {3, 1}), 0, 0));
}

TEST(Embedding, Gradcheck) {
  for (Shape s : {Shape{}, Shape{1}, Shape{9}, Shape{3, 5}, Shape{2, 3, 4}}) {
    SCOPED_TRACE(s.to_string());
    Ids ids = random_ids(s, 6, 3);
    EXPECT_TRUE(grad_ok([&](const V& v) { return embedding(v[0], ids); }, {random_param({6, 3}, 4)}));
  }
  // With padding: the padding positions of the output are multiplied by 0, so the finite differences
  // see no dependence on the padding row either, and both gradients must be zero there.
  Ids ids = Ids::from({0, 2, 1, 2, 3, 1, 1, 2}, {2, 4});
  Tensor<double> keep = Tensor<double>::ones({2, 4, 5});
  for (Index p = 0; p < 8; ++p)
    if (ids.data()[p] == 2)
      for (Index k = 0; k < 5; ++k) keep.data()[p * 5 + k] = 0;
  EXPECT_TRUE(grad_ok([&](const V& v) { return embedding(v[0], ids, 2) * Var<double>(keep); },
                      {random_param({4, 5}, 5)}));
}

TEST(Embedding, SameBitsWithOneAndTwoThreads) {
  // Many repeats of few ids (a Zipf-like vocabulary use), so several positions add into each row.
  Tensor<float> w0 = random_tensor<float>({300, 64}, 6);
  Ids ids = random_ids({64, 128}, 300, 7);
  Tensor<float> g = random_tensor<float>({64, 128, 64}, 8);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> w(w0.clone(), true);
    Var<float> y = embedding(w, ids, 5);
    y.backward(g);
    return std::make_tuple(y.value().clone(), w.grad().clone());
  };
  auto [y1, g1] = run(1);
  auto [y2, g2] = run(2);
  EXPECT_TRUE(tensors_near(y1, y2, 0, 0));
  EXPECT_TRUE(tensors_near(g1, g2, 0, 0));
  for (Index k = 0; k < 64; ++k) EXPECT_EQ(g1.at(5, k), 0.f);
}

TEST(Embedding, Errors) {
  Var<double> w(Tensor<double>::zeros({4, 3}));
  EXPECT_TRUE(throws_with<ValueError>([&] { embedding(w, Ids::from({0, 1, 2, 3, 1, 4}, {2, 3})); },
                                      {"embedding", "id 4", "position [1, 2]", "[2, 3]", "4 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { embedding(w, Ids::from({-1}, {1})); },
                                      {"embedding", "id -1", "position [0]", "4 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { embedding(w, Ids::from({0}, {1}), 4); },
                                      {"embedding", "padding_idx 4", "[-1, 4)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { embedding(w, Ids::from({0}, {1}), -2); }, {"embedding", "padding_idx -2"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { embedding(Var<double>(Tensor<double>::zeros({4})), Ids::from({0}, {1})); },
                                      {"embedding", "[V, D]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { embedding(Var<double>(Tensor<double>::zeros({4, 3, 2})), Ids::from({0}, {1})); },
      {"embedding", "[4, 3, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { embedding(w, Ids()); }, {"embedding", "undefined"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { embedding(w, Ids::zeros({1, 1, 1, 1, 1, 1})); },
                                      {"embedding", "[1, 1, 1, 1, 1, 1]", "rank 6"}));
}

}  // namespace
}  // namespace simile
