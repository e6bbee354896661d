#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "simile/losses.hpp"
#include "simile/ops/normalize.hpp"
#include "simile/ops/softmax.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

/// Loss and gradient of nt_xent for a fixed z (a fresh leaf each call).
template <class T>
std::pair<T, Tensor<T>> loss_and_grad(const Tensor<T>& z, const NtXentOptions& opt) {
  Var<T> x(z.clone(), true);
  Var<T> l = nt_xent(x, opt);
  l.backward();
  return {l.item(), x.grad()};
}

TEST(NtXent, FourPointsByHand) {
  // Views: a = (1,0), b = (0,1); their partners a' = (2,0) (a rescaled) and b' = (1,1). tau = 1.
  Var<double> z(Tensor<double>::from({1, 0, 0, 1, 2, 0, 1, 1}, {4, 2}), true);
  const double r = 1 / std::numbers::sqrt2, e = std::numbers::e;
  double l0 = std::log(1 + e + std::exp(r)) - 1;  // row a: sims b 0, a' 1, b' r; positive a'
  double l1 = std::log(1 + 1 + std::exp(r)) - r;  // row b: sims a 0, a' 0, b' r; positive b'
  double l2 = l0;                                 // row a': sims a 1, b 0, b' r; positive a
  double l3 = std::log(3.0);                      // row b': every sim r; positive b
  Var<double> l = nt_xent(z, {.temperature = 1.0});
  EXPECT_NEAR(l.item(), (l0 + l1 + l2 + l3) / 4, 1e-12);
  for (Index tile : {1, 3})
    EXPECT_NEAR(nt_xent(z, {.temperature = 1.0, .tile = tile}).item(), l.item(), 1e-12);
}

TEST(NtXent, EqualsTheUsualFormulationWrittenOutWithOps) {
  // normalize, 2N x 2N similarity / tau, self-similarity masked with -inf, cross-entropy with the
  // partner labels: value and gradient.
  const Index n = 7;
  Tensor<double> mask = Tensor<double>::zeros({2 * n, 2 * n});
  std::vector<std::int64_t> partner(2 * n);
  for (Index i = 0; i < 2 * n; ++i) {
    mask.at(i, i) = -INFINITY;
    partner[static_cast<std::size_t>(i)] = (i + n) % (2 * n);
  }
  for (Index tile : {0, 4}) {
    Var<double> z = random_param({2 * n, 5}, 77), z2(z.value().clone(), true);
    Var<double> fused = nt_xent(z, {.temperature = 0.25, .tile = tile});
    Var<double> u = l2_normalize(z2);
    Var<double> ref = cross_entropy(matmul(u, u, false, true) * 4.0 + Var<double>(mask), partner);
    EXPECT_NEAR(fused.item(), ref.item(), 1e-12);
    fused.backward();
    ref.backward();
    EXPECT_TRUE(tensors_near(z.grad(), z2.grad(), 1e-12, 1e-9));
  }
}

TEST(NtXent, GradcheckPlainAndTiled) {
  // 130 rows: the plain mode's fixed 128-row blocks, a full one and a remainder; 70 rows: tiles of 32, two
  // full and a remainder (a gradcheck costs rows^3: the largest case once per temperature only).
  struct Case {
    Index rows, dim;
    std::vector<Index> tiles;
  };
  for (const Case& c : {Case{2, 3, {0, 3, 64}}, Case{6, 5, {0, 3, 64}}, Case{14, 7, {0, 3, 64}},
                        Case{70, 3, {0, 32}}, Case{130, 3, {0}}})
    for (double tau : {0.5, 0.1})
      for (Index tile : c.tiles) {
        const Index rows = c.rows, dim = c.dim;
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(dim) + " tau " + std::to_string(tau) +
                     " tile " + std::to_string(tile));
        NtXentOptions opt{.temperature = tau, .tile = tile};
        EXPECT_TRUE(grad_ok([&](const V& x) { return nt_xent(x[0], opt); },
                            {random_param({rows, dim}, 100 + static_cast<std::uint64_t>(rows))}));
      }
}

TEST(NtXent, GradcheckThroughClampedNorm) {
  // Row 1 has norm below eps = 0.5: there u = z / eps, a linear map, and its gradient is checked too.
  Var<double> z = random_param({6, 4}, 7);
  for (Index j = 0; j < 4; ++j) z.value().at(1, j) *= 0.15;
  ASSERT_LT(z.value().matrix().row(1).norm(), 0.5);
  EXPECT_TRUE(grad_ok([](const V& x) { return nt_xent(x[0], {.temperature = 0.3, .eps = 0.5}); }, {z}));
}

TEST(NtXent, SymmetricInTheTwoViews) {
  Tensor<double> z = random_tensor<double>({18, 6}, 3);
  Tensor<double> swapped = Tensor<double>::empty(z.shape());
  swapped.matrix().topRows(9) = z.matrix().bottomRows(9);
  swapped.matrix().bottomRows(9) = z.matrix().topRows(9);
  auto [l1, g1] = loss_and_grad(z, {.temperature = 0.2});
  auto [l2, g2] = loss_and_grad(swapped, {.temperature = 0.2});
  EXPECT_NEAR(l1, l2, 1e-12);
  EXPECT_TRUE(tensors_near(Tensor<double>(g2.slice_rows(9, 18)), g1.slice_rows(0, 9).clone(), 1e-12));
}

TEST(NtXent, InvariantToRescalingEachRow) {
  Tensor<double> z = random_tensor<double>({10, 4}, 5);
  Tensor<double> scaled = z.clone();
  Rng rng(9);
  for (Index i = 0; i < 10; ++i) scaled.matrix().row(i) *= rng.uniform(0.1, 50.0);
  EXPECT_NEAR(loss_and_grad(z, {}).first, loss_and_grad(scaled, {}).first, 1e-12);
}

TEST(NtXent, EqualEmbeddingsGiveLogOfTwoNMinusOne) {
  for (Index n : {1, 2, 5, 64}) {
    Tensor<double> z = Tensor<double>::empty({2 * n, 3});
    for (Index i = 0; i < 2 * n; ++i) z.matrix().row(i) << 0.3, -1.2, 2.0;
    for (Index tile : {0, 7}) {
      auto [l, g] = loss_and_grad(z, {.temperature = 0.07, .tile = tile});
      EXPECT_NEAR(l, std::log(2.0 * n - 1), 1e-12) << "N = " << n;
      // Every view is as close to its partner as to anything else: no direction lowers the loss.
      EXPECT_LT(g.matrix().cwiseAbs().maxCoeff(), 1e-12);
    }
  }
}

TEST(NtXent, StableAtTemperature001) {
  // Partners nearly equal and negatives spread: logits reach 100, the loss is tiny, nothing overflows.
  const Index n = 64, d = 16;
  Tensor<float> z = random_tensor<float>({2 * n, d}, 11);
  for (Index i = 0; i < n; ++i)
    z.matrix().row(n + i) = z.matrix().row(i) + 1e-3f * random_tensor<float>({1, d}, 12 + i).matrix();
  for (Index tile : {0, 24}) {
    auto [l, g] = loss_and_grad(z, {.temperature = 0.01, .tile = tile});
    auto [ld, gd] = loss_and_grad(z.to<double>(), {.temperature = 0.01, .tile = tile});
    EXPECT_TRUE(std::isfinite(l));
    EXPECT_TRUE(g.matrix().allFinite());
    EXPECT_NEAR(l, ld, 1e-4 * std::max(1.0, ld));
    EXPECT_TRUE(tensors_near(g.to<double>(), gd, 1e-4, 1e-3));
  }
  // Far from the optimum at tau 0.01 the loss itself is large (about 100) and must stay finite.
  Tensor<float> opposite = random_tensor<float>({2 * n, d}, 13);
  opposite.matrix().bottomRows(n) = -opposite.matrix().topRows(n);
  auto [l, g] = loss_and_grad(opposite, {.temperature = 0.01});
  EXPECT_TRUE(std::isfinite(l) && l > 100);
  EXPECT_TRUE(g.matrix().allFinite());
}

TEST(NtXent, TiledEqualsPlainWhenTheTileDoesNotDivide) {
  for (Index n : {37, 300}) {
    Tensor<float> z = random_tensor<float>({2 * n, 32}, 20 + static_cast<std::uint64_t>(n));
    auto [l0, g0] = loss_and_grad(z, {.temperature = 0.1});
    for (Index tile : {Index{1}, Index{5}, Index{16}, 2 * n - 1, 2 * n, Index{5000}}) {
      SCOPED_TRACE("N " + std::to_string(n) + " tile " + std::to_string(tile));
      auto [l, g] = loss_and_grad(z, {.temperature = 0.1, .tile = tile});
      EXPECT_NEAR(l, l0, 1e-5 * l0);
      EXPECT_TRUE(tensors_near(g, g0, 1e-6, 1e-4));
    }
  }
}

TEST(NtXent, SameBitsForAnyThreadCount) {
  Tensor<float> z = random_tensor<float>({2 * 500, 64}, 31);
  for (Index tile : {0, 96}) {
    std::pair<float, Tensor<float>> one, two;
    {
      ThreadScope ts(1);
      one = loss_and_grad(z, {.temperature = 0.1, .tile = tile});
    }
    {
      ThreadScope ts(2);
      two = loss_and_grad(z, {.temperature = 0.1, .tile = tile});
    }
    EXPECT_EQ(one.first, two.first);
    EXPECT_TRUE(std::equal(one.second.begin(), one.second.end(), two.second.begin()));
  }
}

TEST(NtXent, ErrorsNameTheValues) {
  Var<float> odd(Tensor<float>::zeros({255, 8}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nt_xent(odd); }, {"nt_xent", "255 rows", "even"}));
  Var<float> flat(Tensor<float>::zeros({8}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nt_xent(flat); }, {"nt_xent", "[8]"}));
  Var<float> none(Tensor<float>::zeros({0, 8}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nt_xent(none); }, {"nt_xent", "0 rows"}));
  Var<float> z(Tensor<float>::ones({4, 8}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nt_xent(z, {.temperature = 0}); }, {"nt_xent", "temperature 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nt_xent(z, {.temperature = -0.5}); }, {"temperature -0.5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nt_xent(z, {.tile = -3}); }, {"nt_xent", "tile -3"}));
}

}  // namespace
}  // namespace simile
