#include <cmath>
#include <optional>
#include <string>
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

/// Per-channel mean and biased variance of x viewed as [N, C, S], computed the plain way.
std::pair<std::vector<double>, std::vector<double>> channel_stats(const Tensor<double>& x) {
  const Index N = x.dim(0), C = x.dim(1), S = x.numel() / (N * C);
  std::vector<double> m(static_cast<std::size_t>(C), 0.0), v(static_cast<std::size_t>(C), 0.0);
  for (Index c = 0; c < C; ++c) {
    auto k = static_cast<std::size_t>(c);
    for (Index n = 0; n < N; ++n)
      for (Index s = 0; s < S; ++s) m[k] += x.data()[(n * C + c) * S + s];
    m[k] /= double(N * S);
    for (Index n = 0; n < N; ++n)
      for (Index s = 0; s < S; ++s) v[k] += std::pow(x.data()[(n * C + c) * S + s] - m[k], 2);
    v[k] /= double(N * S);
  }
  return {m, v};
}

TEST(BatchNorm, ByHandStatisticsAndRunningUpdate) {
  // Channel 0: {1, 2, 3, 4}: mean 2.5, biased var 1.25, unbiased 5/3. Channel 1: {2, 2, 2, 6}: mean 3,
  // biased var 3, unbiased 4.
  Var<double> x(Tensor<double>::from({1, 2, 2, 2, 3, 2, 4, 6}, {4, 2}), true);
  Var<double> w(Tensor<double>::from({2, 1}, {2}), true);
  Var<double> b(Tensor<double>::from({0, 1}, {2}), true);
  Tensor<double> rm = Tensor<double>::zeros({2}), rv = Tensor<double>::ones({2});
  Var<double> y = batch_norm(x, w, b, rm, rv);
  const double s0 = 1 / std::sqrt(1.25 + 1e-5), s1 = 1 / std::sqrt(3 + 1e-5);
  EXPECT_TRUE(tensors_near(y.value(),
                           Tensor<double>::from({2 * -1.5 * s0, -s1 + 1, 2 * -0.5 * s0, -s1 + 1, 2 * 0.5 * s0, -s1 + 1,
                                                 2 * 1.5 * s0, 3 * s1 + 1},
                                                {4, 2}),
                           1e-14, 1e-13));
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::from({0.25, 0.3}, {2}), 1e-15, 1e-14));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::from({0.9 + 0.1 * 5 / 3.0, 0.9 + 0.4}, {2}), 1e-15, 1e-14));
  // With dy = 1 everywhere: dbeta = n = 4, dgamma = sum(xhat) = 0, and dx = 0 (a constant shift of y is
  // absorbed by the mean).
  sum(y).backward();
  EXPECT_TRUE(tensors_near(b.grad(), Tensor<double>::from({4, 4}, {2}), 1e-14, 0));
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::zeros({2}), 1e-14, 0));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::zeros({4, 2}), 1e-14, 0));
}

TEST(BatchNorm, BackwardByHand) {
  // One channel {-1, 1}: mean 0, var 1, xhat = {-1, 1} / sqrt(1 + eps). With dy = {1, 0} and gamma 1:
  // sum(dy) = 1, sum(dy xhat) = -invstd, dx = invstd (dy - 1/2 - xhat (-invstd) / 2) = invstd {1/2 - invstd^2/2,
  // -1/2 + invstd^2/2}: (nearly) zero, because two points normalized to +-1 cannot move.
  const double eps = 1e-5, is = 1 / std::sqrt(1 + eps);
  Var<double> x(Tensor<double>::from({-1, 1}, {2, 1}), true);
  Var<double> w(Tensor<double>::ones({1}), true);
  Var<double> b(Tensor<double>::zeros({1}), true);
  batch_norm(x, w, b, Tensor<double>(), Tensor<double>()).backward(Tensor<double>::from({1, 0}, {2, 1}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({is * (0.5 - is * is / 2), -is * (0.5 - is * is / 2)}, {2, 1}),
                           1e-15, 1e-12));
  EXPECT_NEAR(w.grad().item(), -is, 1e-15);
  EXPECT_NEAR(b.grad().item(), 1.0, 1e-15);
}

TEST(BatchNorm, TrainingOutputIsStandardizedPerChannel) {
  for (Shape s : {Shape{8, 3, 5, 5}, Shape{130, 7}, Shape{2, 4, 7}, Shape{130, 32}, Shape{9, 24}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<double> t = random_tensor<double>(s, 1, -3, 5);
    Var<double> y = batch_norm(Var<double>(t), Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>());
    auto [m, v] = channel_stats(y.value());
    auto [m0, v0] = channel_stats(t);
    for (std::size_t c = 0; c < m.size(); ++c) {
      EXPECT_NEAR(m[c], 0.0, 1e-14);
      EXPECT_NEAR(v[c], v0[c] / (v0[c] + 1e-5), 1e-12);  // 1 up to eps
    }
    // With gamma and beta: mean beta, standard deviation |gamma|.
    Var<double> w(Tensor<double>::full({s[1]}, -2.0)), b(Tensor<double>::full({s[1]}, 0.5));
    auto [ma, va] = channel_stats(batch_norm(Var<double>(t), w, b, Tensor<double>(), Tensor<double>()).value());
    for (std::size_t c = 0; c < ma.size(); ++c) {
      EXPECT_NEAR(ma[c], 0.5, 1e-13);
      EXPECT_NEAR(va[c], 4 * v0[c] / (v0[c] + 1e-5), 1e-12);
    }
  }
}

TEST(BatchNorm, FloatStableWithLargeMean) {
  // Values 1e4 + U(-1, 1) in float: E[x^2] - E[x]^2 would lose everything; the two-pass variance of the
  // plain kernel keeps it, and so do the one-pass statistics of the blocked kernel that rows [N, 16] run.
  for (Shape s : {Shape{64, 2, 6, 6}, Shape{512, 16}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<float> t = random_tensor<float>(s, 2, -1, 1);
    t.array() += 1e4f;
    Tensor<float> y = batch_norm(Var<float>(t), Var<float>(), Var<float>(), Tensor<float>(), Tensor<float>()).value();
    auto [m, v] = channel_stats(y.to<double>());
    for (std::size_t c = 0; c < m.size(); ++c) {
      EXPECT_NEAR(m[c], 0.0, 1e-3);
      EXPECT_NEAR(v[c], 1.0, 2e-3);
    }
  }
}

TEST(BatchNorm, RunningStatisticsAfterTwoSteps) {
  const double mom = 0.3;
  Tensor<double> rm = random_tensor<double>({3}, 3), rv = random_tensor<double>({3}, 4, 0.5, 2);
  std::vector<double> em(rm.begin(), rm.end()), ev(rv.begin(), rv.end());
  Var<double> w = random_param({3}, 5), b = random_param({3}, 6);
  for (std::uint64_t step = 0; step < 2; ++step) {
    Tensor<double> t = random_tensor<double>({5, 3, 2, 3}, 10 + step, -2, 3);
    batch_norm(Var<double>(t), w, b, rm, rv, {.training = true, .momentum = mom});
    auto [m, v] = channel_stats(t);
    const double n = 5 * 2 * 3;
    for (std::size_t c = 0; c < 3; ++c) {
      em[c] = (1 - mom) * em[c] + mom * m[c];
      ev[c] = (1 - mom) * ev[c] + mom * v[c] * n / (n - 1);
    }
  }
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::from(em, {3}), 1e-15, 1e-13));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::from(ev, {3}), 1e-15, 1e-13));
}

TEST(BatchNorm, EvalUsesRunningStatisticsAndLeavesThem) {
  Tensor<double> rm = Tensor<double>::from({1, -2}, {2}), rv = Tensor<double>::from({4, 0.25}, {2});
  Var<double> x(Tensor<double>::from({3, 0, -1, -1.5}, {2, 2}), true);
  Var<double> w(Tensor<double>::from({2, 3}, {2}), true), b(Tensor<double>::from({0.5, 0}, {2}), true);
  const double eps = 1e-5;
  Var<double> y = batch_norm(x, w, b, rm, rv, {.training = false, .eps = eps});
  const double i0 = 1 / std::sqrt(4 + eps), i1 = 1 / std::sqrt(0.25 + eps);
  EXPECT_TRUE(tensors_near(y.value(),
                           Tensor<double>::from({2 * 2 * i0 + 0.5, 3 * 2 * i1, 2 * -2 * i0 + 0.5, 3 * 0.5 * i1}, {2, 2}),
                           1e-14, 1e-13));
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::from({1, -2}, {2}), 0, 0));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::from({4, 0.25}, {2}), 0, 0));
  // Affine backward: dx = gamma invstd dy.
  y.backward(Tensor<double>::ones({2, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({2 * i0, 3 * i1, 2 * i0, 3 * i1}, {2, 2}), 1e-15, 1e-13));
  EXPECT_TRUE(tensors_near(w.grad(), Tensor<double>::from({0, 2.5 * i1}, {2}), 1e-14, 1e-13));
  // Eval with one value per channel is fine (no batch statistics involved).
  EXPECT_EQ(batch_norm(Var<double>(Tensor<double>::ones({1, 2})), w, b, rm, rv, {.training = false}).shape(),
            (Shape{1, 2}));
}

TEST(BatchNorm, WithoutAffineOrRunningStatistics) {
  Tensor<double> t = random_tensor<double>({6, 4, 3, 3}, 7);
  Var<double> ones(Tensor<double>::ones({4})), zeros(Tensor<double>::zeros({4}));
  Tensor<double> plain = batch_norm(Var<double>(t), Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>()).value();
  EXPECT_TRUE(tensors_near(
      plain, batch_norm(Var<double>(t), ones, zeros, Tensor<double>(), Tensor<double>()).value(), 0, 0));
  // No running statistics: eval mode normalizes by the batch, as PyTorch's track_running_stats = false.
  EXPECT_TRUE(tensors_near(plain,
                           batch_norm(Var<double>(t), Var<double>(), Var<double>(), Tensor<double>(), Tensor<double>(),
                                      {.training = false})
                               .value(),
                           0, 0));
}

TEST(BatchNorm, GradcheckTraining) {
  for (Shape s : {Shape{4, 3}, Shape{3, 2, 3, 3}, Shape{2, 3, 1, 1}, Shape{7, 5, 2, 3}, Shape{130, 1}, Shape{5, 16},
                  Shape{3, 8}, Shape{4, 48}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<double> rm = Tensor<double>::zeros({s[1]}), rv = Tensor<double>::ones({s[1]});
    EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm(v[0], v[1], v[2], rm, rv); },
                        {random_param(s, 20, -2, 2), random_param({s[1]}, 21), random_param({s[1]}, 22)}));
  }
  // Without affine parameters: only x.
  EXPECT_TRUE(grad_ok([](const V& v) { return batch_norm(v[0], Var<double>(), Var<double>(), Tensor<double>(),
                                                         Tensor<double>()); },
                      {random_param({5, 3, 2, 2}, 23)}));
}

TEST(BatchNorm, RowsOfWholeChannelBlocksMatchThePlainKernel) {
  // Rows [N, C] with C a multiple of 8 run the channel-vectorized kernel; the same values as [N, C, 1, 1]
  // (the plain kernel) give the same output, running statistics and gradients to rounding, in training
  // and eval, with and without the ReLU (float at a large mean: FloatStableWithLargeMean).
  for (Shape s : {Shape{37, 16}, Shape{6, 24}, Shape{2, 48}, Shape{300, 64}})
    for (bool training : {true, false})
      for (bool relu : {false, true}) {
        SCOPED_TRACE(s.to_string() + (training ? " training" : " eval") + (relu ? " relu" : ""));
        const Index c = s[1];
        Tensor<double> t = random_tensor<double>(s, 60, -3, 5), g = random_tensor<double>(s, 61);
        Tensor<double> rm1 = random_tensor<double>({c}, 62), rv1 = random_tensor<double>({c}, 63, 0.5, 2);
        Tensor<double> rm2 = rm1.clone(), rv2 = rv1.clone();
        Var<double> x1(t.clone(), true), w1 = random_param({c}, 64), b1 = random_param({c}, 65);
        Var<double> x2(t.reshape({s[0], c, 1, 1}).clone(), true), w2(w1.value().clone(), true),
            b2(b1.value().clone(), true);
        const BatchNormOptions opt{.training = training};
        auto op = [&](const Var<double>& x, const Var<double>& w, const Var<double>& b, Tensor<double>& rm,
                      Tensor<double>& rv) {
          return relu ? batch_norm_relu(x, w, b, rm, rv, opt) : batch_norm(x, w, b, rm, rv, opt);
        };
        Var<double> rows = op(x1, w1, b1, rm1, rv1), plain = op(x2, w2, b2, rm2, rv2);
        ASSERT_EQ(rows.shape(), s);
        EXPECT_TRUE(tensors_near(rows.value(), plain.value().reshape(s), 1e-13, 1e-13));
        EXPECT_TRUE(tensors_near(rm1, rm2, 1e-14, 1e-14));
        EXPECT_TRUE(tensors_near(rv1, rv2, 1e-14, 1e-14));
        rows.backward(g);
        plain.backward(g.reshape({s[0], c, 1, 1}));
        EXPECT_TRUE(tensors_near(x1.grad(), x2.grad().reshape(s), 1e-13, 1e-12));
        EXPECT_TRUE(tensors_near(w1.grad(), w2.grad(), 1e-13, 1e-12));
        EXPECT_TRUE(tensors_near(b1.grad(), b2.grad(), 1e-13, 1e-12));
      }
}

TEST(BatchNorm, GradcheckEval) {
  for (Shape s : {Shape{4, 3}, Shape{3, 3, 3, 3}, Shape{1, 3, 1, 1}, Shape{3, 16}, Shape{2, 8}}) {
    SCOPED_TRACE(s.to_string());
    Tensor<double> rm = random_tensor<double>({s[1]}, 24), rv = random_tensor<double>({s[1]}, 25, 0.2, 3);
    EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm(v[0], v[1], v[2], rm, rv, {.training = false}); },
                        {random_param(s, 26), random_param({s[1]}, 27), random_param({s[1]}, 28)}));
  }
}

TEST(BatchNormRelu, MatchesSeparateOpsAndGradchecks) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    Tensor<double> t = random_tensor<double>({6, 3, 4, 5}, 30);
    Tensor<double> rm1 = random_tensor<double>({3}, 31), rv1 = random_tensor<double>({3}, 32, 0.5, 2);
    Tensor<double> rm2 = rm1.clone(), rv2 = rv1.clone();
    Tensor<double> g = random_tensor<double>({6, 3, 4, 5}, 33);
    Var<double> x1(t.clone(), true), w1 = random_param({3}, 34), b1 = random_param({3}, 35);
    Var<double> x2(t.clone(), true), w2(w1.value().clone(), true), b2(b1.value().clone(), true);
    Var<double> fused = batch_norm_relu(x1, w1, b1, rm1, rv1, {.training = training});
    Var<double> separate = relu(batch_norm(x2, w2, b2, rm2, rv2, {.training = training}));
    EXPECT_TRUE(tensors_near(fused.value(), separate.value(), 0, 0));
    EXPECT_TRUE(tensors_near(rm1, rm2, 0, 0));
    EXPECT_TRUE(tensors_near(rv1, rv2, 0, 0));
    fused.backward(g);
    separate.backward(g);
    EXPECT_TRUE(tensors_near(x1.grad(), x2.grad(), 1e-15, 1e-12));
    EXPECT_TRUE(tensors_near(w1.grad(), w2.grad(), 1e-15, 1e-12));
    EXPECT_TRUE(tensors_near(b1.grad(), b2.grad(), 1e-15, 1e-12));
    Tensor<double> rm = rm1.clone(), rv = rv1.clone();
    EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm_relu(v[0], v[1], v[2], rm, rv, {.training = training}); },
                        {random_param({5, 3, 2, 3}, 36), random_param({3}, 37), random_param({3}, 38)}));
  }
}

/// op(x, weight, bias, running_mean, running_var) in float gives the same output, x and weight
/// gradients and running variance, bit for bit, with 1 and 2 threads; x has shape `xs`, the output `ys`.
template <class Op>
void expect_same_bits_with_one_and_two_threads(Op op, const Shape& xs, const Shape& ys) {
  SCOPED_TRACE(xs.to_string());
  const Index c = xs[1];
  Tensor<float> t = random_tensor<float>(xs, 40, -2, 2);
  Tensor<float> g = random_tensor<float>(ys, 41);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Var<float> x(t.clone(), true), w(Tensor<float>::full({c}, 1.5f), true), b(Tensor<float>::full({c}, 0.1f), true);
    Tensor<float> rm = Tensor<float>::zeros({c}), rv = Tensor<float>::ones({c});
    Var<float> y = op(x, w, b, rm, rv);
    y.backward(g);
    return std::make_tuple(y.value().clone(), x.grad().clone(), w.grad().clone(), rv);
  };
  auto one = run(1);
  auto two = run(2);
  EXPECT_TRUE(tensors_near(std::get<0>(one), std::get<0>(two), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<1>(one), std::get<1>(two), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<2>(one), std::get<2>(two), 0, 0));
  EXPECT_TRUE(tensors_near(std::get<3>(one), std::get<3>(two), 0, 0));
}

/// The fused op against relu, batch_norm and max_pool2d as separate ops: same values and running
/// statistics bit for bit, same gradients to rounding.
void expect_fused_pool_matches(const Shape& s, Index kernel, std::optional<Index> stride, Index padding,
                               bool training) {
  Tensor<double> t = random_tensor<double>(s, 50, -2, 2);
  Tensor<double> rm1 = random_tensor<double>({s[1]}, 51), rv1 = random_tensor<double>({s[1]}, 52, 0.5, 2);
  Tensor<double> rm2 = rm1.clone(), rv2 = rv1.clone();
  Var<double> x1(t.clone(), true), w1 = random_param({s[1]}, 53), b1 = random_param({s[1]}, 54);
  Var<double> x2(t.clone(), true), w2(w1.value().clone(), true), b2(b1.value().clone(), true);
  const BatchNormOptions opt{.training = training};
  Var<double> fused = batch_norm_relu_max_pool2d(x1, w1, b1, rm1, rv1, opt, kernel, stride, padding);
  Var<double> separate = max_pool2d(relu(batch_norm(x2, w2, b2, rm2, rv2, opt)), kernel, stride, padding);
  ASSERT_EQ(fused.shape(), separate.shape());
  EXPECT_EQ(std::string(fused.op()), "batch_norm_relu_max_pool2d");
  EXPECT_TRUE(tensors_near(fused.value(), separate.value(), 0, 0));
  EXPECT_TRUE(tensors_near(rm1, rm2, 0, 0));
  EXPECT_TRUE(tensors_near(rv1, rv2, 0, 0));
  Tensor<double> g = random_tensor<double>(fused.shape(), 55);
  fused.backward(g);
  separate.backward(g);
  EXPECT_TRUE(tensors_near(x1.grad(), x2.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(w1.grad(), w2.grad(), 1e-14, 1e-12));
  EXPECT_TRUE(tensors_near(b1.grad(), b2.grad(), 1e-14, 1e-12));
}

TEST(BatchNormReluMaxPool, MatchesSeparateOps) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    expect_fused_pool_matches({6, 3, 4, 6}, 2, std::nullopt, 0, training);  // the 2x2 fast path
    expect_fused_pool_matches({5, 2, 7, 7}, 2, std::nullopt, 0, training);  // odd plane: the last row dropped
    expect_fused_pool_matches({4, 3, 7, 5}, 3, 2, 1, training);             // overlapping, padded windows
    expect_fused_pool_matches({3, 130, 2, 2}, 2, std::nullopt, 0, training);  // many channels per block
  }
}

TEST(BatchNormReluMaxPool, Gradcheck) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    Tensor<double> rm = random_tensor<double>({3}, 56), rv = random_tensor<double>({3}, 57, 0.5, 2);
    const BatchNormOptions opt{.training = training};
    EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm_relu_max_pool2d(v[0], v[1], v[2], rm, rv, opt, 2); },
                        {random_param({4, 3, 4, 5}, 58, -2, 2), random_param({3}, 59), random_param({3}, 60)}));
    EXPECT_TRUE(grad_ok([&](const V& v) { return batch_norm_relu_max_pool2d(v[0], v[1], v[2], rm, rv, opt, 3, 2, 1); },
                        {random_param({3, 3, 5, 5}, 61, -2, 2), random_param({3}, 62), random_param({3}, 63)}));
  }
}

TEST(BatchNormReluMaxPool, ByHand) {
  // One channel, two 2x2 images: {1, 2, 3, 4} and {-1, -2, -3, -4}. Mean 0, biased variance 30 / 4 = 7.5.
  Var<double> x(Tensor<double>::from({1, 2, 3, 4, -1, -2, -3, -4}, {2, 1, 2, 2}), true);
  Var<double> w(Tensor<double>::ones({1}), true), b(Tensor<double>::zeros({1}), true);
  Tensor<double> rm = Tensor<double>::zeros({1}), rv = Tensor<double>::ones({1});
  Var<double> y = batch_norm_relu_max_pool2d(x, w, b, rm, rv, {}, 2);
  const double is = 1 / std::sqrt(7.5 + 1e-5);
  ASSERT_EQ(y.shape(), (Shape{2, 1, 1, 1}));
  // The first image's window keeps 4 is; the second is all negative, so the ReLU makes it 0.
  EXPECT_NEAR(y.value().data()[0], 4 * is, 1e-15);
  EXPECT_EQ(y.value().data()[1], 0.0);
  y.backward(Tensor<double>::ones({2, 1, 1, 1}));
  // dy is 1 at the 4 only: sum(dy) = 1, sum(dy xhat) = 4 is, and
  // dx = is (dy - 1/8 - xhat (4 is) / 8) = is (dy - 1/8 - x is^2 / 2).
  EXPECT_NEAR(b.grad().item(), 1.0, 1e-15);
  EXPECT_NEAR(w.grad().item(), 4 * is, 1e-15);
  const double xs[8] = {1, 2, 3, 4, -1, -2, -3, -4};
  for (int k = 0; k < 8; ++k) {
    const double dy = k == 3 ? 1 : 0;
    EXPECT_NEAR(x.grad().data()[k], is * (dy - 0.125 - xs[k] * is * is / 2), 1e-14) << "k = " << k;
  }
}

TEST(BatchNormReluMaxPool, SameBitsWithOneAndTwoThreads) {
  expect_same_bits_with_one_and_two_threads(
      [](auto&&... args) { return batch_norm_relu_max_pool2d(args..., {}, 2); }, {16, 8, 14, 14}, {16, 8, 7, 7});
}

TEST(BatchNormReluMaxPool, Errors) {
  Var<double> w(Tensor<double>::ones({3})), b(Tensor<double>::zeros({3}));
  Tensor<double> rm = Tensor<double>::zeros({3}), rv = Tensor<double>::ones({3});
  Var<double> x2d(Tensor<double>::zeros({4, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm_relu_max_pool2d(x2d, w, b, rm, rv, {}, 2); },
                                      {"batch_norm_relu_max_pool2d", "[4, 3]"}));
  Var<double> x(Tensor<double>::zeros({4, 3, 2, 2}));
  EXPECT_TRUE(throws_with<ValueError>([&] { batch_norm_relu_max_pool2d(x, w, b, rm, rv, {}, 0); },
                                      {"batch_norm_relu_max_pool2d", "kernel 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm_relu_max_pool2d(x, w, b, rm, rv, {}, 3); },
                                      {"batch_norm_relu_max_pool2d", "smaller than the kernel 3"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] { batch_norm_relu_max_pool2d(x, Var<double>(Tensor<double>::ones({4})), b, rm, rv, {}, 2); },
      {"batch_norm_relu_max_pool2d", "weight", "[4]", "3 channels"}));
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::zeros({3}), 0, 0));
}

TEST(BatchNorm, SameBitsWithOneAndTwoThreads) {
  auto op = [](auto&&... args) { return batch_norm_relu(args...); };
  expect_same_bits_with_one_and_two_threads(op, {32, 16, 7, 7}, {32, 16, 7, 7});
  expect_same_bits_with_one_and_two_threads(op, {64, 96}, {64, 96});
}

TEST(BatchNorm, Errors) {
  Var<double> w(Tensor<double>::ones({3})), b(Tensor<double>::zeros({3}));
  Tensor<double> rm = Tensor<double>::zeros({3}), rv = Tensor<double>::ones({3});
  Var<double> x(Tensor<double>::zeros({4, 3, 2, 2}));
  EXPECT_TRUE(throws_with<ValueError>([&] { batch_norm(Var<double>(Tensor<double>::zeros({1, 3})), w, b, rm, rv); },
                                      {"batch_norm", "more than 1 value per channel", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { batch_norm_relu(Var<double>(Tensor<double>::zeros({1, 3, 1, 1})), w, b, rm, rv); },
      {"batch_norm_relu", "more than 1 value per channel", "[1, 3, 1, 1]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(Var<double>(Tensor<double>::zeros({3})), w, b, rm, rv); },
                                      {"batch_norm", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(x, Var<double>(Tensor<double>::ones({4})), b, rm, rv); },
                                      {"batch_norm", "weight", "[4]", "3 channels"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(x, w, Var<double>(Tensor<double>::ones({2})), rm, rv); },
                                      {"batch_norm", "bias", "[2]", "3 channels"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(x, w, b, Tensor<double>::zeros({5}), rv); },
                                      {"batch_norm", "running_mean [5]", "3 channels"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { batch_norm(x, w, b, rm, Tensor<double>()); },
                                      {"batch_norm", "running_mean and running_var"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { batch_norm(x, w, b, rm, rv, {.eps = 0}); }, {"batch_norm", "eps 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { batch_norm(x, w, b, rm, rv, {.momentum = 1.5}); },
                                      {"batch_norm", "momentum 1.5"}));
  // A failed call leaves the running statistics untouched.
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::zeros({3}), 0, 0));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::ones({3}), 0, 0));
}

}  // namespace
}  // namespace simile
