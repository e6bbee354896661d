#include <cmath>
#include <numbers>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;
using Labels = std::vector<std::int64_t>;

TEST(SupCon, FourPointsByHand) {
  // a = (1,0), b = (0,1), c = (1,1), d = (-1,0); labels 0, 0, 0, 1; tau = 1. d has no positive.
  Var<double> z(Tensor<double>::from({1, 0, 0, 1, 1, 1, -1, 0}, {4, 2}), true);
  const double r = 1 / std::numbers::sqrt2;
  double la = std::log(1 + std::exp(r) + std::exp(-1.0)) - r / 2;  // positives b (0), c (r)
  double lb = std::log(1 + std::exp(r) + 1) - r / 2;               // positives a (0), c (r)
  double lc = std::log(2 * std::exp(r) + std::exp(-r)) - r;        // positives a (r), b (r)
  Labels labels{0, 0, 0, 1};
  EXPECT_NEAR(supcon(z, labels, {.temperature = 1.0}).item(), (la + lb + lc) / 3, 1e-12);
  EXPECT_NEAR(supcon(z, labels, {.temperature = 1.0, .tile = 3}).item(), (la + lb + lc) / 3, 1e-12);
}

TEST(SupCon, OwnLabelPerSampleEqualsNtXent) {
  const Index n = 6;
  Labels labels(2 * n);
  for (Index i = 0; i < 2 * n; ++i) labels[static_cast<std::size_t>(i)] = i % n;
  for (Index tile : {0, 5}) {
    Var<double> a = random_param({2 * n, 4}, 3), b(a.value().clone(), true);
    Var<double> ls = supcon(a, labels, {.temperature = 0.2, .tile = tile});
    Var<double> ln = nt_xent(b, {.temperature = 0.2});
    EXPECT_NEAR(ls.item(), ln.item(), 1e-12);
    ls.backward();
    ln.backward();
    EXPECT_TRUE(tensors_near(a.grad(), b.grad(), 1e-12, 1e-9));
  }
}

TEST(SupCon, Gradcheck) {
  for (Index tile : {0, 4})
    for (Labels labels : {Labels{0, 1, 0, 1}, Labels{3, 3, 3, 7, 7, 9, 3}, Labels{1, 2, 1, 2, 1, 5, 5, 0, 0, 9}}) {
      const Index r = static_cast<Index>(labels.size());
      SCOPED_TRACE("rows " + std::to_string(r) + " tile " + std::to_string(tile));
      EXPECT_TRUE(grad_ok([&](const V& x) { return supcon(x[0], labels, {.temperature = 0.3, .tile = tile}); },
                          {random_param({r, 5}, 10 + static_cast<std::uint64_t>(r))}));
    }
}

TEST(SupCon, StableAtTemperature001AndTiledEqualsPlain) {
  const Index r = 150;
  Labels labels(r);
  for (Index i = 0; i < r; ++i) labels[static_cast<std::size_t>(i)] = i % 11;
  Tensor<float> z = random_tensor<float>({r, 24}, 20);
  auto go = [&](Index tile, double tau) {
    Var<float> x(z.clone(), true);
    Var<float> l = supcon(x, labels, {.temperature = tau, .tile = tile});
    l.backward();
    return std::pair{l.item(), x.grad()};
  };
  auto [l0, g0] = go(0, 0.01);
  EXPECT_TRUE(std::isfinite(l0) && l0 > 10);  // random directions at tau 0.01: logits up to 100
  EXPECT_TRUE(g0.matrix().allFinite());
  Var<double> xd(z.to<double>(), true);
  EXPECT_NEAR(l0, supcon(xd, labels, {.temperature = 0.01}).item(), 1e-5 * l0);
  for (Index tile : {1, 16, 149}) {
    auto [l, g] = go(tile, 0.01);
    EXPECT_NEAR(l, l0, 1e-5 * l0);
    EXPECT_TRUE(tensors_near(g, g0, 1e-5, 1e-3));
  }
}

TEST(SupCon, ErrorsNameTheValues) {
  Var<float> z(Tensor<float>::ones({4, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { supcon(z, Labels{0, 1, 0}); }, {"supcon", "3 labels", "4 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { supcon(z, Labels{0, 1, 2, 3}); }, {"supcon", "no row", "positive"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { supcon(z, Labels{0, 1, 0, 1}, {.temperature = -1}); },
                                      {"supcon", "temperature -1"}));
}

}  // namespace
}  // namespace simile
