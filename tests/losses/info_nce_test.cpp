#include <cmath>
#include <numbers>

#include "simile/losses.hpp"
#include "simile/ops/shape.hpp"
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

struct Result {
  double loss;
  Tensor<double> gq, gk;
};

template <class F>
Result run(const Tensor<double>& q, const Tensor<double>& k, F&& loss_fn) {
  Var<double> vq(q.clone(), true), vk(k.clone(), true);
  Var<double> l = loss_fn(vq, vk);
  l.backward();
  return {l.item(), vq.grad(), vk.grad()};
}

TEST(InfoNce, TwoPairsByHand) {
  // q = (1,0), (0,1); k = (1,0), (1,1); tau = 1: row 0 logits (1, r), row 1 logits (0, r), r = 1/sqrt(2).
  Var<double> q(Tensor<double>::from({1, 0, 0, 1}, {2, 2}), true);
  Var<double> k(Tensor<double>::from({1, 0, 1, 1}, {2, 2}), true);
  const double r = 1 / std::numbers::sqrt2;
  double l0 = std::log(std::exp(1.0) + std::exp(r)) - 1;
  double l1 = std::log(1 + std::exp(r)) - r;
  EXPECT_NEAR(info_nce(q, k, {.temperature = 1.0}).item(), (l0 + l1) / 2, 1e-12);
  // Explicit negatives (0,1) and (-1,0) for the single query (1,0) with key (2,0), tau = 0.5:
  // logits 2 (positive), 0, -2.
  Var<double> q1(Tensor<double>::from({1, 0}, {1, 2}), true);
  Var<double> k1(Tensor<double>::from({2, 0}, {1, 2}), true);
  Tensor<double> neg = Tensor<double>::from({0, 1, -1, 0}, {2, 2});
  EXPECT_NEAR(info_nce(q1, k1, neg, {.temperature = 0.5}).item(),
              std::log(std::exp(2.0) + 1 + std::exp(-2.0)) - 2, 1e-12);
}

TEST(InfoNce, InBatchEqualsCrossEntropyWrittenOut) {
  // The in-batch form is cross_entropy(normalize(q) normalize(k)^T / tau, 0..N-1): value and both gradients.
  Tensor<double> q = random_tensor<double>({9, 5}, 1), k = random_tensor<double>({9, 5}, 2);
  std::vector<std::int64_t> labels(9);
  for (std::int64_t i = 0; i < 9; ++i) labels[static_cast<std::size_t>(i)] = i;
  for (Index tile : {0, 4}) {
    Result fused = run(q, k, [&](auto& a, auto& b) { return info_nce(a, b, {.temperature = 0.2, .tile = tile}); });
    Result ref = run(q, k, [&](auto& a, auto& b) {
      return cross_entropy(matmul(l2_normalize(a), l2_normalize(b), false, true) * 5.0, labels);
    });
    EXPECT_NEAR(fused.loss, ref.loss, 1e-12);
    EXPECT_TRUE(tensors_near(fused.gq, ref.gq, 1e-12, 1e-9));
    EXPECT_TRUE(tensors_near(fused.gk, ref.gk, 1e-12, 1e-9));
  }
  // Without normalization the logits are raw dot products.
  Result raw = run(q, k, [](auto& a, auto& b) { return info_nce(a, b, {.temperature = 0.5, .normalize = false}); });
  Result ref = run(q, k, [&](auto& a, auto& b) { return cross_entropy(matmul(a, b, false, true) * 2.0, labels); });
  EXPECT_NEAR(raw.loss, ref.loss, 1e-12);
  EXPECT_TRUE(tensors_near(raw.gq, ref.gq, 1e-12, 1e-9));
}

TEST(InfoNce, QueueFormEqualsCrossEntropyWithThePositiveFirst) {
  Tensor<double> q = random_tensor<double>({6, 4}, 3), k = random_tensor<double>({6, 4}, 4);
  Tensor<double> queue = random_tensor<double>({11, 4}, 5);
  Result fused = run(q, k, [&](auto& a, auto& b) { return info_nce(a, b, queue, {.temperature = 0.1}); });
  Result ref = run(q, k, [&](auto& a, auto& b) {
    Var<double> qn = l2_normalize(a), kn = l2_normalize(b);
    Var<double> pos = sum(qn * kn, 1, true);                                     // [N, 1]
    Var<double> negs = matmul(qn, l2_normalize(Var<double>(queue)), false, true);  // [N, M]
    return cross_entropy(concat<double>({pos, negs}, 1) * 10.0, std::vector<std::int64_t>(6, 0));
  });
  EXPECT_NEAR(fused.loss, ref.loss, 1e-12);
  EXPECT_TRUE(tensors_near(fused.gq, ref.gq, 1e-12, 1e-9));
  EXPECT_TRUE(tensors_near(fused.gk, ref.gk, 1e-12, 1e-9));
}

/// Debiased / hard-negative InfoNCE written out as in the authors' code (naive exponentials, double,
/// moderate temperature), for one query: logits a (positive) and l (negatives).
double debiased_reference(double a, const std::vector<double>& l, double tau, double tau_plus, double beta) {
  const double m = static_cast<double>(l.size());
  double pos = std::exp(a), imp_sum = 0, weighted = 0;
  for (double x : l) imp_sum += std::exp(beta * x);
  for (double x : l) weighted += std::exp(beta * x) / (imp_sum / m) * std::exp(x);
  double ng = std::max((-tau_plus * m * pos + weighted) / (1 - tau_plus), m * std::exp(-1 / tau));
  return -std::log(pos / (pos + ng));
}

TEST(InfoNce, DebiasedAndHardNegativesMatchTheirDefinitions) {
  Tensor<double> q = random_tensor<double>({5, 3}, 6), k = random_tensor<double>({5, 3}, 7);
  Tensor<double> queue = random_tensor<double>({8, 3}, 8);
  const double tau = 0.5;
  for (auto [tp, beta] : {std::pair{0.1, 0.0}, {0.0, 1.0}, {0.1, 0.5}}) {
    for (bool in_batch : {true, false}) {
      InfoNceOptions opt{.temperature = tau, .tau_plus = tp, .beta = beta};
      Var<double> vq(q), vk(k);
      double got = in_batch ? info_nce(vq, vk, opt).item() : info_nce(vq, vk, queue, opt).item();
      Tensor<double> qn = l2_normalize(vq).value(), kn = l2_normalize(vk).value();
      Tensor<double> nn = l2_normalize(Var<double>(queue)).value();
      double want = 0;
      for (Index i = 0; i < 5; ++i) {
        double a = qn.matrix().row(i).dot(kn.matrix().row(i)) / tau;
        std::vector<double> l;
        if (in_batch) {
          for (Index j = 0; j < 5; ++j)
            if (j != i) l.push_back(qn.matrix().row(i).dot(kn.matrix().row(j)) / tau);
        } else {
          for (Index j = 0; j < 8; ++j) l.push_back(qn.matrix().row(i).dot(nn.matrix().row(j)) / tau);
        }
        want += debiased_reference(a, l, tau, tp, beta) / 5;
      }
      EXPECT_NEAR(got, want, 1e-12) << "tau_plus " << tp << " beta " << beta << " in-batch " << in_batch;
    }
  }
}

TEST(InfoNce, Gradcheck) {
  Tensor<double> queue = random_tensor<double>({7, 4}, 9);
  for (Index n : {1, 3, 10})
    for (Index tile : {0, 3})
      for (auto [tp, beta] : {std::pair{0.0, 0.0}, {0.1, 0.0}, {0.0, 1.0}, {0.2, 0.5}})
        for (bool normalize : {true, false}) {
          if (n == 1 && tp + beta > 0) continue;  // no in-batch negative to debias
          SCOPED_TRACE("n " + std::to_string(n) + " tile " + std::to_string(tile) + " tau+ " + std::to_string(tp) +
                       " beta " + std::to_string(beta) + " normalize " + std::to_string(normalize));
          InfoNceOptions opt{.temperature = 0.3, .normalize = normalize, .tau_plus = tp, .beta = beta, .tile = tile};
          V in = {random_param({n, 4}, 20 + static_cast<std::uint64_t>(n)),
                  random_param({n, 4}, 30 + static_cast<std::uint64_t>(n))};
          EXPECT_TRUE(grad_ok([&](const V& x) { return info_nce(x[0], x[1], opt); }, in));
          EXPECT_TRUE(grad_ok([&](const V& x) { return info_nce(x[0], x[1], queue, opt); }, in));
        }
}

TEST(InfoNce, StopGradientOnKeysAndNoneToTheQueue) {
  Var<double> q = random_param({4, 3}, 40), k = random_param({4, 3}, 41);
  Tensor<double> queue = random_tensor<double>({5, 3}, 42);
  Tensor<double> before = queue.clone();
  info_nce(q, k.detach(), queue).backward();
  EXPECT_TRUE(q.has_grad());
  EXPECT_FALSE(k.has_grad());
  EXPECT_TRUE(tensors_near(queue, before, 0, 0));
}

TEST(InfoNce, StableAtTemperature001) {
  const Index n = 48, d = 16;
  Tensor<float> q = random_tensor<float>({n, d}, 50);
  Tensor<float> k = q.clone();
  k.array() += 1e-3f * random_tensor<float>({n, d}, 51).array();
  Tensor<float> queue = random_tensor<float>({300, d}, 52);
  for (auto [tp, beta] : {std::pair{0.0, 0.0}, {0.1, 1.0}})
    for (Index tile : {0, 7}) {
      InfoNceOptions opt{.temperature = 0.01, .tau_plus = tp, .beta = beta, .tile = tile};
      for (bool queued : {false, true}) {
        Var<float> vq(q.clone(), true), vk(k.clone(), true);
        Var<float> l = queued ? info_nce(vq, vk, queue, opt) : info_nce(vq, vk, opt);
        l.backward();
        Var<double> dq(q.to<double>(), true), dk(k.to<double>(), true);
        Var<double> ld = queued ? info_nce(dq, dk, queue.to<double>(), opt) : info_nce(dq, dk, opt);
        ld.backward();
        EXPECT_TRUE(std::isfinite(l.item()));
        EXPECT_TRUE(vq.grad().matrix().allFinite() && vk.grad().matrix().allFinite());
        EXPECT_NEAR(l.item(), ld.item(), 1e-4 * std::max(1.0, ld.item()));
        EXPECT_TRUE(tensors_near(vq.grad().to<double>(), dq.grad(), 1e-3, 1e-3));
      }
    }
  // Positives opposite: logits -100 against negatives up to +100, a loss near 200, finite.
  Var<float> vq(q.clone(), true), vk(Tensor<float>(q.clone()), true);
  vk.value().array() *= -1.0f;
  Var<float> l = info_nce(vq, vk, queue, {.temperature = 0.01});
  l.backward();
  EXPECT_TRUE(std::isfinite(l.item()) && l.item() > 100);
  EXPECT_TRUE(vq.grad().matrix().allFinite());
}

TEST(InfoNce, TiledEqualsPlainWhenTheTileDoesNotDivide) {
  const Index n = 203, d = 32;
  Tensor<float> q = random_tensor<float>({n, d}, 60), k = random_tensor<float>({n, d}, 61);
  Tensor<float> queue = random_tensor<float>({517, d}, 62);
  for (auto [tp, beta] : {std::pair{0.0, 0.0}, {0.1, 0.5}})
    for (bool queued : {false, true}) {
      auto go = [&](Index tile) {
        Var<float> vq(q.clone(), true), vk(k.clone(), true);
        InfoNceOptions opt{.temperature = 0.1, .tau_plus = tp, .beta = beta, .tile = tile};
        Var<float> l = queued ? info_nce(vq, vk, queue, opt) : info_nce(vq, vk, opt);
        l.backward();
        return std::tuple{l.item(), vq.grad(), vk.grad()};
      };
      auto [l0, gq0, gk0] = go(0);
      for (Index tile : {1, 9, 64, 202, 1000}) {
        SCOPED_TRACE("tile " + std::to_string(tile) + " queued " + std::to_string(queued));
        auto [l, gq, gk] = go(tile);
        EXPECT_NEAR(l, l0, 1e-5 * std::abs(l0));
        EXPECT_TRUE(tensors_near(gq, gq0, 1e-6, 1e-4));
        EXPECT_TRUE(tensors_near(gk, gk0, 1e-6, 1e-4));
      }
    }
}

TEST(InfoNce, ErrorsNameTheValues) {
  Var<float> q(Tensor<float>::ones({4, 8})), k(Tensor<float>::ones({4, 7}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { info_nce(q, k); }, {"info_nce", "[4, 8]", "[4, 7]"}));
  Var<float> k8(Tensor<float>::ones({4, 8}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { info_nce(q, k8, Tensor<float>::ones({10, 6})); },
                                      {"info_nce", "negatives", "[10, 6]", "[M, 8]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { info_nce(q, k8, {.temperature = 0}); }, {"info_nce", "temperature 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { info_nce(q, k8, {.tau_plus = 1}); }, {"info_nce", "tau_plus 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { info_nce(q, k8, {.beta = -1}); }, {"info_nce", "beta -1"}));
  Var<float> one(Tensor<float>::ones({1, 8}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { info_nce(one, one, {.tau_plus = 0.1}); }, {"info_nce", "1 row"}));
}

}  // namespace
}  // namespace simile
