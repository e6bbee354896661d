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

/// Columns [h dh, (h + 1) dh) of sequence b of x [B, L, E], as a [L, dh] Var, through differentiable ops.
Var<double> head_of(const Var<double>& x, Index b, Index h, Index dh) {
  Var<double> xb = reshape(slice_rows(x, b, b + 1), Shape{x.dim(1), x.dim(2)});
  return transpose(slice_rows(transpose(xb), h * dh, (h + 1) * dh));
}

/// Attention composed from the existing ops (matmul, softmax, concat), masked keys getting -inf scores.
/// Every query must have at least one key left.
Var<double> reference_attention(const Var<double>& q, const Var<double>& k, const Var<double>& v, int heads,
                                const Mask& mask, double s) {
  const Index B = q.dim(0), Lq = q.dim(1), E = q.dim(2), Lk = k.dim(1), dh = E / heads;
  std::vector<Var<double>> rows;
  for (Index b = 0; b < B; ++b) {
    std::vector<Var<double>> outs;
    for (Index h = 0; h < heads; ++h) {
      Var<double> scores = scale(matmul(head_of(q, b, h, dh), head_of(k, b, h, dh), false, true), s);
      if (mask.defined()) {
        Tensor<double> bias = Tensor<double>::zeros({Lk});
        for (Index j = 0; j < Lk; ++j)
          if (!mask.at(b, j)) bias.data()[j] = -std::numeric_limits<double>::infinity();
        scores = scores + Var<double>(bias);
      }
      outs.push_back(matmul(softmax(scores), head_of(v, b, h, dh)));
    }
    rows.push_back(concat(outs, 1));
  }
  return reshape(concat(rows, 0), Shape{B, Lq, E});
}

TEST(MultiHeadAttention, ByHand) {
  // One query, two keys, scale 1: scores [ln 3, 0], P = [3/4, 1/4], O = 3/4 [4, 8] + 1/4 [0, -4] = [3, 5].
  const double ln3 = std::log(3.0);
  Var<double> q(Tensor<double>::from({1, 0}, {1, 1, 2}), true);
  Var<double> k(Tensor<double>::from({ln3, 0, 0, 0}, {1, 2, 2}), true);
  Var<double> v(Tensor<double>::from({4, 8, 0, -4}, {1, 2, 2}), true);
  Var<double> o = multi_head_attention(q, k, v, 1, {}, 1.0);
  EXPECT_TRUE(tensors_near(o.value(), Tensor<double>::from({3, 5}, {1, 1, 2}), 1e-15, 1e-15));
  // dO = [1, 0]: dV = P^T dO = [[3/4, 0], [1/4, 0]]; dP = dO V^T = [4, 0], rowsum(dP P) = 3,
  // dS = P (dP - 3) = [3/4, -3/4]; dQ = dS K = [3/4 ln 3, 0]; dK = dS^T Q = [[3/4, 0], [-3/4, 0]].
  o.backward(Tensor<double>::from({1, 0}, {1, 1, 2}));
  EXPECT_TRUE(tensors_near(v.grad(), Tensor<double>::from({0.75, 0, 0.25, 0}, {1, 2, 2}), 1e-15, 1e-15));
  EXPECT_TRUE(tensors_near(q.grad(), Tensor<double>::from({0.75 * ln3, 0}, {1, 1, 2}), 1e-15, 1e-15));
  EXPECT_TRUE(tensors_near(k.grad(), Tensor<double>::from({0.75, 0, -0.75, 0}, {1, 2, 2}), 1e-15, 1e-15));
}

TEST(MultiHeadAttention, TwoHeadsByHand) {
  // E = 2, two heads of one column each, default scale 1 / sqrt(1) = 1; the third key is masked out.
  // Head 0: q column 0 is 0, scores [0, 0], P = [1/2, 1/2], output column 0 = (1 + 3) / 2 = 2.
  // Head 1: q column 1 is 1, k column 1 is [ln 3, 0], P = [3/4, 1/4], output column 1 = 3/4 10 + 1/4 30 = 15.
  const double ln3 = std::log(3.0);
  Var<double> q(Tensor<double>::from({0, 1}, {1, 1, 2}));
  Var<double> k(Tensor<double>::from({5, ln3, -7, 0, 100, 100}, {1, 3, 2}));
  Var<double> v(Tensor<double>::from({1, 10, 3, 30, 1e6, 1e6}, {1, 3, 2}));
  Mask mask = Mask::from({1, 1, 0}, {1, 3});
  EXPECT_TRUE(tensors_near(multi_head_attention(q, k, v, 2, mask).value(), Tensor<double>::from({2, 15}, {1, 1, 2}),
                           1e-15, 1e-14));
}

TEST(MultiHeadAttention, OneKeyReturnsItsValue) {
  Var<double> q(random_tensor<double>({2, 5, 6}, 1));
  Var<double> k(random_tensor<double>({2, 1, 6}, 2));
  Var<double> v(random_tensor<double>({2, 1, 6}, 3));
  Tensor<double> o = multi_head_attention(q, k, v, 3).value();
  for (Index b = 0; b < 2; ++b)
    for (Index i = 0; i < 5; ++i)
      for (Index e = 0; e < 6; ++e) EXPECT_NEAR(o.at(b, i, e), v.value().at(b, 0, e), 1e-15);
  // The same with every key but one masked out.
  Var<double> k4(random_tensor<double>({2, 4, 6}, 4));
  Tensor<double> v4 = random_tensor<double>({2, 4, 6}, 5);
  Mask only = Mask::from({0, 0, 1, 0, 1, 0, 0, 0}, {2, 4});
  Tensor<double> o4 = multi_head_attention(q, k4, Var<double>(v4), 2, only).value();
  for (Index i = 0; i < 5; ++i)
    for (Index e = 0; e < 6; ++e) {
      EXPECT_NEAR(o4.at(0, i, e), v4.at(0, 2, e), 1e-15);
      EXPECT_NEAR(o4.at(1, i, e), v4.at(1, 0, e), 1e-15);
    }
}

TEST(MultiHeadAttention, SingleHeadMatchesSoftmaxOfMatmul) {
  // softmax(Q K^T / sqrt(E)) V for each sequence, values and all three gradients.
  Tensor<double> tq = random_tensor<double>({2, 4, 8}, 6, -2, 2), tk = random_tensor<double>({2, 5, 8}, 7, -2, 2),
                 tv = random_tensor<double>({2, 5, 8}, 8);
  Tensor<double> g = random_tensor<double>({2, 4, 8}, 9);
  Var<double> q(tq.clone(), true), k(tk.clone(), true), v(tv.clone(), true);
  Var<double> rq(tq.clone(), true), rk(tk.clone(), true), rv(tv.clone(), true);
  Var<double> o = multi_head_attention(q, k, v, 1);
  Var<double> r = reference_attention(rq, rk, rv, 1, {}, 1 / std::sqrt(8.0));
  EXPECT_TRUE(tensors_near(o.value(), r.value(), 1e-14, 1e-13));
  o.backward(g);
  r.backward(g);
  EXPECT_TRUE(tensors_near(q.grad(), rq.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(k.grad(), rk.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(v.grad(), rv.grad(), 1e-14, 1e-12));
}

TEST(MultiHeadAttention, MultiHeadMaskedMatchesComposedOps) {
  Tensor<double> tq = random_tensor<double>({3, 4, 12}, 10), tk = random_tensor<double>({3, 6, 12}, 11),
                 tv = random_tensor<double>({3, 6, 12}, 12);
  Tensor<double> g = random_tensor<double>({3, 4, 12}, 13);
  Mask mask = Mask::from({1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {3, 6});
  Var<double> q(tq.clone(), true), k(tk.clone(), true), v(tv.clone(), true);
  Var<double> rq(tq.clone(), true), rk(tk.clone(), true), rv(tv.clone(), true);
  Var<double> o = multi_head_attention(q, k, v, 4, mask, 0.7);
  Var<double> r = reference_attention(rq, rk, rv, 4, mask, 0.7);
  EXPECT_TRUE(tensors_near(o.value(), r.value(), 1e-14, 1e-13));
  o.backward(g);
  r.backward(g);
  EXPECT_TRUE(tensors_near(q.grad(), rq.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(k.grad(), rk.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(v.grad(), rv.grad(), 1e-14, 1e-12));
}

TEST(MultiHeadAttention, PaddedKeysDoNotMatter) {
  Var<double> q(random_tensor<double>({2, 3, 4}, 14));
  Tensor<double> tk = random_tensor<double>({2, 5, 4}, 15), tv = random_tensor<double>({2, 5, 4}, 16);
  Mask mask = Mask::from({1, 1, 1, 0, 0, 1, 0, 1, 0, 1}, {2, 5});
  Tensor<double> o = multi_head_attention(q, Var<double>(tk), Var<double>(tv), 2, mask).value();
  Tensor<double> k2 = tk.clone(), v2 = tv.clone();
  for (Index e = 0; e < 4; ++e) {
    k2.at(0, 3, e) = 1e3, v2.at(0, 3, e) = -1e6;
    k2.at(0, 4, e) = -1e3, v2.at(0, 4, e) = 1e300;
    k2.at(1, 1, e) = 50, v2.at(1, 1, e) = 7;
  }
  EXPECT_TRUE(tensors_near(multi_head_attention(q, Var<double>(k2), Var<double>(v2), 2, mask).value(), o, 0, 0));
  // The gradients of padded keys and values are zero.
  Var<double> k(tk.clone(), true), v(tv.clone(), true);
  multi_head_attention(q, k, v, 2, mask).backward(random_tensor<double>({2, 3, 4}, 17));
  for (Index e = 0; e < 4; ++e)
    for (auto [b, j] : std::vector<std::pair<Index, Index>>{{0, 3}, {0, 4}, {1, 1}, {1, 3}}) {
      EXPECT_EQ(k.grad().at(b, j, e), 0.0);
      EXPECT_EQ(v.grad().at(b, j, e), 0.0);
    }
}

TEST(MultiHeadAttention, FullyMaskedSequenceGivesZerosNotNan) {
  Var<double> q = random_param({2, 3, 4}, 18), k = random_param({2, 2, 4}, 19), v = random_param({2, 2, 4}, 20);
  Mask mask = Mask::from({0, 0, 1, 1}, {2, 2});
  Var<double> o = multi_head_attention(q, k, v, 2, mask);
  o.backward(random_tensor<double>({2, 3, 4}, 21));
  for (Index i = 0; i < 3; ++i)
    for (Index e = 0; e < 4; ++e) {
      EXPECT_EQ(o.value().at(0, i, e), 0.0);
      EXPECT_EQ(q.grad().at(0, i, e), 0.0);
    }
  for (Tensor<double> t : {o.value(), q.grad(), k.grad(), v.grad()})
    for (double x : t.span()) EXPECT_TRUE(std::isfinite(x));
  // Lk = 0: no key at all.
  Tensor<float> none = multi_head_attention(Var<float>(Tensor<float>::ones({2, 3, 4})), Var<float>(Tensor<float>::ones({2, 0, 4})),
                                            Var<float>(Tensor<float>::ones({2, 0, 4})), 2)
                           .value();
  EXPECT_TRUE(tensors_near(none, Tensor<float>::zeros({2, 3, 4}), 0, 0));
}

TEST(MultiHeadAttention, SelfAttentionAccumulatesAllThreePaths) {
  Tensor<double> tx = random_tensor<double>({2, 5, 6}, 22);
  Tensor<double> g = random_tensor<double>({2, 5, 6}, 23);
  Mask mask = Mask::from({1, 1, 1, 1, 0, 1, 0, 1, 0, 0}, {2, 5});
  Var<double> x(tx.clone(), true);
  multi_head_attention(x, x, x, 3, mask).backward(g);
  Var<double> q(tx.clone(), true), k(tx.clone(), true), v(tx.clone(), true);
  multi_head_attention(q, k, v, 3, mask).backward(g);
  Tensor<double> total = q.grad().clone();
  total.array() += k.grad().array() + v.grad().array();
  EXPECT_TRUE(tensors_near(x.grad(), total, 1e-15, 1e-13));
}

TEST(MultiHeadAttention, Gradcheck) {
  auto mha = [](int heads, Mask mask, double s = 0) {
    return [=](const V& v) { return multi_head_attention(v[0], v[1], v[2], heads, mask, s); };
  };
  EXPECT_TRUE(grad_ok(mha(1, {}), {random_param({1, 1, 1}, 24), random_param({1, 1, 1}, 25), random_param({1, 1, 1}, 26)}));
  EXPECT_TRUE(grad_ok(mha(4, {}), {random_param({2, 5, 8}, 27), random_param({2, 3, 8}, 28), random_param({2, 3, 8}, 29)}));
  // Padding in each sequence and one fully masked sequence.
  Mask mask = Mask::from({1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1}, {3, 4});
  EXPECT_TRUE(grad_ok(mha(2, mask, 0.9),
                      {random_param({3, 3, 6}, 30, -2, 2), random_param({3, 4, 6}, 31, -2, 2), random_param({3, 4, 6}, 32)}));
  // Self-attention: one input as q, k and v.
  EXPECT_TRUE(grad_ok([&](const V& v) { return multi_head_attention(v[0], v[0], v[0], 3, mask); },
                      {random_param({3, 4, 6}, 33)}));
  // Only some inputs trainable.
  Var<double> k(random_tensor<double>({2, 4, 4}, 34));
  EXPECT_TRUE(grad_ok([&](const V& v) { return multi_head_attention(v[0], k, v[1], 2); },
                      {random_param({2, 3, 4}, 35), random_param({2, 4, 4}, 36)}));
}

TEST(MultiHeadAttention, FloatAtLargeScoresStaysFinite) {
  // Scores of order 1e4: a naive exp overflows; the max-subtracted softmax is near one-hot and finite.
  Tensor<double> tq = random_tensor<double>({2, 6, 8}, 37), tk = random_tensor<double>({2, 7, 8}, 38),
                 tv = random_tensor<double>({2, 7, 8}, 39);
  Mask mask = Mask::ones({2, 7});
  mask.at(1, 2) = 0;
  const double s = 2e4;
  Var<float> q(tq.to<float>(), true), k(tk.to<float>(), true), v(tv.to<float>(), true);
  Var<float> o = multi_head_attention(q, k, v, 2, mask, float(s));
  o.backward(random_tensor<float>({2, 6, 8}, 40));
  for (const Tensor<float>& t : {o.value(), q.grad(), k.grad(), v.grad()})
    for (float x : t.span()) EXPECT_TRUE(std::isfinite(x));
  Tensor<double> od = multi_head_attention(Var<double>(tq), Var<double>(tk), Var<double>(tv), 2, mask, s).value();
  EXPECT_TRUE(tensors_near(o.value().to<double>(), od, 1e-5, 1e-5));
}

TEST(MultiHeadAttention, SameBitsWithOneAndTwoThreads) {
  Tensor<float> tq = random_tensor<float>({4, 32, 64}, 41), tk = random_tensor<float>({4, 40, 64}, 42),
                tv = random_tensor<float>({4, 40, 64}, 43);
  Tensor<float> g = random_tensor<float>({4, 32, 64}, 44);
  Mask mask = Mask::ones({4, 40});
  for (Index j = 30; j < 40; ++j) mask.at(1, j) = mask.at(3, j) = 0;
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> q(tq.clone(), true), k(tk.clone(), true), v(tv.clone(), true);
    Var<float> o = multi_head_attention(q, k, v, 4, mask);
    o.backward(g);
    return std::make_tuple(o.value().clone(), q.grad().clone(), k.grad().clone(), v.grad().clone());
  };
  auto [o1, q1, k1, v1] = run(1);
  auto [o2, q2, k2, v2] = run(2);
  EXPECT_TRUE(tensors_near(o1, o2, 0, 0));
  EXPECT_TRUE(tensors_near(q1, q2, 0, 0));
  EXPECT_TRUE(tensors_near(k1, k2, 0, 0));
  EXPECT_TRUE(tensors_near(v1, v2, 0, 0));
}

TEST(MultiHeadAttention, Errors) {
  Var<double> q(Tensor<double>::zeros({2, 3, 6})), k(Tensor<double>::zeros({2, 4, 6}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { multi_head_attention(Var<double>(Tensor<double>::zeros({3, 6})), k, k, 2); },
                                      {"multi_head_attention", "q [3, 6]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { multi_head_attention(q, Var<double>(Tensor<double>::zeros({3, 4, 6})), k, 2); },
                                      {"multi_head_attention", "k [3, 4, 6]", "v [2, 4, 6]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { multi_head_attention(q, k, Var<double>(Tensor<double>::zeros({2, 5, 6})), 2); },
                                      {"multi_head_attention", "v [2, 5, 6]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        Var<double> k8(Tensor<double>::zeros({2, 4, 8}));
        multi_head_attention(q, k8, k8, 2);
      },
      {"multi_head_attention", "q [2, 3, 6]", "k [2, 4, 8]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { multi_head_attention(q, k, k, 4); },
                                      {"multi_head_attention", "4 heads", "E = 6"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { multi_head_attention(q, k, k, 0); }, {"multi_head_attention", "heads 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { multi_head_attention(q, k, k, 2, Mask::ones({2, 3})); },
                                      {"multi_head_attention", "key_mask of shape [2, 3]", "expected [2, 4]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { multi_head_attention(q, k, k, 2, Mask::from({1, 1, 1, 1, 1, 1, 1, 255}, {2, 4})); },
                                      {"multi_head_attention", "key_mask value 255", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { multi_head_attention(q, k, k, 2, {}, std::numeric_limits<double>::infinity()); },
      {"multi_head_attention", "scale inf"}));
}

}  // namespace
}  // namespace simile
