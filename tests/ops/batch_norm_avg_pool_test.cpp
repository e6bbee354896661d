// batch_norm_relu_adaptive_avg_pool2d (ops/batch_norm_avg_pool.hpp): to the bit against batch_norm_relu then
// adaptive_avg_pool2d_blocked, to rounding against the NCHW ops, its gradients against central differences, a
// case by hand, thread counts and errors.
#include <cmath>
#include <string>
#include <vector>

#include "simile/core/parallel.hpp"
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

struct ReadoutCase {
  Shape x;  // NCHW
  Index block, out_h, out_w;
};

// Blocks with a compile-time lane count (16, 8) and without (4, 1); global pooling, the tool's overlapping
// 3x3 grid on a 7x7 map, a non-square grid on a non-square map.
const ReadoutCase readout_cases[] = {
    {{3, 32, 7, 7}, 16, 1, 1}, {{2, 16, 7, 7}, 8, 3, 3}, {{4, 8, 5, 6}, 4, 2, 3}, {{3, 3, 4, 4}, 1, 2, 2}};

// Every case, training and eval, affine or not, in double: the outputs and gradients of x, gamma and beta are
// those of the two blocked ops to the bit, their running statistics to the last bit, and all of them those of
// the NCHW ops to rounding.
TEST(BatchNormAvgPool, MatchesTheSeparateOps) {
  for (const ReadoutCase& k : readout_cases)
    for (bool training : {true, false})
      for (bool affine : {true, false}) {
        SCOPED_TRACE(k.x.to_string() + " block " + std::to_string(k.block) + " grid " + std::to_string(k.out_h) + "x" +
                     std::to_string(k.out_w) + (training ? " training" : " eval") + (affine ? " affine" : ""));
        const Index C = k.x[1];
        const Tensor<double> x0 = random_tensor<double>(k.x, 1, -1, 2);
        const BatchNormOptions opt{.training = training}, blocked{.training = training, .blocked = true};
        Tensor<double> rm[3], rv[3];
        Var<double> x[3], w[3], b[3], y[3];
        for (int i = 0; i < 3; ++i) {
          rm[i] = random_tensor<double>({C}, 2, -0.5, 0.5);
          rv[i] = random_tensor<double>({C}, 3, 0.5, 2);
          x[i] = Var<double>(i == 0 ? x0.clone() : to_blocked(Var<double>(x0), k.block).value().clone(), true);
          w[i] = affine ? Var<double>(random_tensor<double>({C}, 5, -1.5, 1.5), true) : Var<double>();
          b[i] = affine ? Var<double>(random_tensor<double>({C}, 6), true) : Var<double>();
        }
        y[0] = to_blocked(adaptive_avg_pool2d(batch_norm_relu(x[0], w[0], b[0], rm[0], rv[0], opt), k.out_h, k.out_w),
                          k.block);
        y[1] = adaptive_avg_pool2d_blocked(batch_norm_relu(x[1], w[1], b[1], rm[1], rv[1], blocked), k.out_h, k.out_w);
        y[2] = batch_norm_relu_adaptive_avg_pool2d(x[2], w[2], b[2], rm[2], rv[2], blocked, k.out_h, k.out_w);
        EXPECT_EQ(std::string(y[2].op()), "batch_norm_relu_adaptive_avg_pool2d");
        ASSERT_EQ(y[2].shape(), (Shape{k.x[0], C / k.block, k.out_h, k.out_w, k.block}));
        EXPECT_TRUE(tensors_near(y[2].value(), y[1].value(), 0, 0));
        EXPECT_TRUE(tensors_near(y[2].value(), y[0].value(), 1e-13, 1e-12));
        // The running statistics' update, a * r + b * m, may pair into a fused multiply-add either way.
        EXPECT_TRUE(tensors_near(rm[2], rm[1], 0, 1e-15));
        EXPECT_TRUE(tensors_near(rv[2], rv[1], 0, 1e-15));
        EXPECT_TRUE(tensors_near(rv[2], rv[0], 1e-14, 1e-13));
        const Tensor<double> weights = random_tensor<double>(y[0].shape(), 7);
        for (int i = 0; i < 3; ++i) sum(mul(y[i], Var<double>(weights))).backward();
        EXPECT_TRUE(tensors_near(x[2].grad(), x[1].grad(), 0, 0));
        EXPECT_TRUE(tensors_near(x[2].grad(), to_blocked(Var<double>(x[0].grad()), k.block).value(), 1e-12, 1e-10));
        if (affine) {
          EXPECT_TRUE(tensors_near(w[2].grad(), w[1].grad(), 0, 0));
          EXPECT_TRUE(tensors_near(b[2].grad(), b[1].grad(), 0, 0));
          EXPECT_TRUE(tensors_near(w[2].grad(), w[0].grad(), 1e-12, 1e-10));
        }
      }
}

// x feeding the op twice: the second backward adds its dx to the first's, with batch and running statistics.
TEST(BatchNormAvgPool, AddsToAGradientAlreadyWritten) {
  const Tensor<double> x0 = random_tensor<double>({3, 16, 5, 6}, 9, -2, 3);
  const Tensor<double> rm = random_tensor<double>({16}, 10, -0.5, 0.5), rv = random_tensor<double>({16}, 11, 0.5, 2);
  const Var<double> w(random_tensor<double>({16}, 12, 0.5, 1.5)), b(random_tensor<double>({16}, 13));
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    Var<double> x[2], y[2];
    for (int k = 0; k < 2; ++k) {
      x[k] = Var<double>(x0.clone(), true);
      const BatchNormOptions opt{.training = training, .blocked = k == 1};
      const Var<double> in = k == 0 ? x[k] : to_blocked(x[k], 8);
      auto op = [&](const Var<double>& gamma, const Var<double>& beta) {
        const Var<double> out = batch_norm_relu_adaptive_avg_pool2d(in, gamma, beta, rm.clone(), rv.clone(), opt, 2, 2);
        return k == 0 ? out : from_blocked(out);
      };
      y[k] = add(op(w, b), scale(op(b, w), 0.5));
    }
    const Tensor<double> weights = random_tensor<double>(y[0].shape(), 14);
    for (int k = 0; k < 2; ++k) sum(mul(y[k], Var<double>(weights))).backward();
    EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 1e-12, 1e-10));
  }
}

// A NaN in x, in eval mode (running statistics): its cell's output is NaN, and its channel's gamma gradient
// (a sum over x) NaN, in the fused op as in the separate ops, to the bit elsewhere.
TEST(BatchNormAvgPool, NanAsTheSeparateOps) {
  Tensor<double> x0 = random_tensor<double>({2, 1, 5, 5, 8}, 16);
  x0.data()[3 * 8 + 2] = std::nan("");  // image 0, position (0, 3), lane 2
  const Tensor<double> rm = Tensor<double>::zeros({8}), rv = Tensor<double>::ones({8});
  const BatchNormOptions eval{.training = false, .blocked = true};
  Var<double> x[2], w[2], y[2];
  for (int k = 0; k < 2; ++k) {
    x[k] = Var<double>(x0.clone(), true);
    w[k] = Var<double>(Tensor<double>::full({8}, 1.5), true);
    const Var<double> none;
    y[k] = k == 0 ? adaptive_avg_pool2d_blocked(batch_norm_relu(x[k], w[k], none, rm.clone(), rv.clone(), eval), 2, 2)
                  : batch_norm_relu_adaptive_avg_pool2d(x[k], w[k], none, rm.clone(), rv.clone(), eval, 2, 2);
    sum(y[k]).backward();
  }
  auto same = [](double a, double c) { return std::isnan(a) ? std::isnan(c) : a == c; };
  for (Index i = 0; i < y[0].numel(); ++i) EXPECT_TRUE(same(y[0].value().data()[i], y[1].value().data()[i])) << i;
  EXPECT_TRUE(std::isnan(y[1].value().data()[8 + 2]));  // cell (0, 1) holds column 3: the case is what it says
  for (Index l = 0; l < 8; ++l) {
    EXPECT_TRUE(same(w[0].grad().data()[l], w[1].grad().data()[l])) << l;
    EXPECT_EQ(std::isnan(w[1].grad().data()[l]), l == 2) << l;
  }
  EXPECT_TRUE(tensors_near(x[1].grad(), x[0].grad(), 0, 0));
}

// Without `blocked` the op is the composition of the NCHW ops.
TEST(BatchNormAvgPool, NchwIsTheComposition) {
  const Tensor<double> x0 = random_tensor<double>({3, 4, 5, 5}, 8);
  Tensor<double> rm[2] = {Tensor<double>::zeros({4}), Tensor<double>::zeros({4})};
  Tensor<double> rv[2] = {Tensor<double>::ones({4}), Tensor<double>::ones({4})};
  const Var<double> none;
  const Var<double> a = adaptive_avg_pool2d(batch_norm_relu(Var<double>(x0), none, none, rm[0], rv[0], {}), 2, 2);
  const Var<double> c = batch_norm_relu_adaptive_avg_pool2d(Var<double>(x0), none, none, rm[1], rv[1], {}, 2, 2);
  EXPECT_TRUE(tensors_near(c.value(), a.value(), 0, 0));
  EXPECT_TRUE(tensors_near(rv[1], rv[0], 0, 0));
}

TEST(BatchNormAvgPool, Gradcheck) {
  // gamma of either sign, beta around 0.5: some values through the ReLU, some clamped (none near its kink
  // with these seeds).
  for (bool training : {true, false})
    for (Index out : {1, 2}) {
      SCOPED_TRACE(std::string(training ? "training" : "eval") + " grid " + std::to_string(out));
      Tensor<double> rm = random_tensor<double>({8}, 11), rv = random_tensor<double>({8}, 12, 0.5, 2);
      EXPECT_TRUE(grad_ok(
          [&](const V& v) {
            return batch_norm_relu_adaptive_avg_pool2d(v[0], v[1], v[2], rm.clone(), rv.clone(),
                                                       {.training = training, .blocked = true}, out, out);
          },
          {random_param({3, 2, 3, 3, 4}, 13), random_param({8}, 14, -1.5, 1.5), random_param({8}, 15, 0, 1)}));
    }
}

TEST(BatchNormAvgPool, ByHand) {
  // Two images of one channel (block 1), each a 1x2 plane: {1, 2} and {3, 4}. Mean 2.5, variance 1.25; the
  // first image normalizes below zero (ReLU: 0), the second to {0.5, 1.5} / s, s = sqrt(1.25 + eps), whose
  // average is 1 / s. Backward of sum(y) with batch statistics: dy = 1/2 at the second image's two
  // positions, so dx = (1 / s) (dy - mean(dy) - xhat mean(dy xhat)) with mean(dy) = 1/4, mean(dy xhat) =
  // (1/2)(0.5 + 1.5) / (4 s) = 1 / (4 s).
  const Var<double> x(Tensor<double>::from({1, 2, 3, 4}, {2, 1, 1, 2, 1}), true);
  const Var<double> y = batch_norm_relu_adaptive_avg_pool2d(x, Var<double>(), Var<double>(), Tensor<double>(),
                                                            Tensor<double>(), {.blocked = true}, 1, 1);
  ASSERT_EQ(y.shape(), (Shape{2, 1, 1, 1, 1}));
  const double s = std::sqrt(1.25 + 1e-5);
  EXPECT_NEAR(y.value().data()[0], 0.0, 1e-15);
  EXPECT_NEAR(y.value().data()[1], 1.0 / s, 1e-14);
  sum(y).backward();
  const double xs[4] = {1, 2, 3, 4}, dy[4] = {0, 0, 0.5, 0.5};
  for (int i = 0; i < 4; ++i) {
    const double xhat = (xs[i] - 2.5) / s;
    EXPECT_NEAR(x.grad().data()[i], (dy[i] - 0.25 - xhat / (4 * s)) / s, 1e-12) << i;
  }
}

TEST(BatchNormAvgPool, SameBitsWithOneAndTwoThreadsInFloat) {
  const Tensor<float> x0 = random_tensor<float>({16, 4, 7, 7, 16}, 30);
  const Tensor<float> seed = random_tensor<float>({16, 4, 3, 3, 16}, 32);
  Tensor<float> out[2], grad[2], gamma_grad[2], var[2];
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    Var<float> x(x0.clone(), true), w(Tensor<float>::full({64}, 1.5f), true), b(Tensor<float>::zeros({64}), true);
    Tensor<float> rm = Tensor<float>::zeros({64}), rv = Tensor<float>::ones({64});
    Var<float> y = batch_norm_relu_adaptive_avg_pool2d(x, w, b, rm, rv, {.blocked = true}, 3, 3);
    y.backward(seed);
    out[threads - 1] = y.value().clone(), grad[threads - 1] = x.grad().clone();
    gamma_grad[threads - 1] = w.grad().clone(), var[threads - 1] = rv;
  }
  EXPECT_TRUE(tensors_near(out[0], out[1], 0, 0));
  EXPECT_TRUE(tensors_near(grad[0], grad[1], 0, 0));
  EXPECT_TRUE(tensors_near(gamma_grad[0], gamma_grad[1], 0, 0));
  EXPECT_TRUE(tensors_near(var[0], var[1], 0, 0));
}

TEST(BatchNormAvgPool, Errors) {
  const Var<double> x(random_tensor<double>({2, 2, 3, 3, 4}, 40));
  Tensor<double> rm = Tensor<double>::zeros({8}), rv = Tensor<double>::ones({8});
  const Var<double> none;
  const char* op = "batch_norm_relu_adaptive_avg_pool2d";
  auto run = [&](const Var<double>& in, Index out_h, Index out_w, const Var<double>& gamma = Var<double>(),
                 const BatchNormOptions& opt = {.blocked = true}) {
    batch_norm_relu_adaptive_avg_pool2d(in, gamma, none, rm, rv, opt, out_h, out_w);
  };
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, 0, 1); }, {op, "output size 0x1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { run(x, 2, -1); }, {op, "output size 2x-1"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(Var<double>(Tensor<double>::zeros({2, 8, 3, 3})), 1, 1);
      },
      {op, "blocked x", "[2, 8, 3, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(Var<double>(Tensor<double>::zeros({2, 1, 3, 3, 65})), 1, 1);
      },
      {op, "[1, 64]", "[2, 1, 3, 3, 65]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(Var<double>(Tensor<double>::zeros({2, 2, 0, 3, 4})), 1, 1);
      },
      {op, "non-empty plane", "[2, 2, 0, 3, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { run(x, 1, 1, Var<double>(Tensor<double>::ones({4}))); },
                                      {op, "weight", "[4]", "8 channels"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        run(Var<double>(Tensor<double>::zeros({2, 8, 3})), 1, 1, none, {});
      },
      {op, "[N, C, H, W]", "[2, 8, 3]"}));
  // A failed call leaves the running statistics untouched.
  EXPECT_TRUE(tensors_near(rm, Tensor<double>::zeros({8}), 0, 0));
  EXPECT_TRUE(tensors_near(rv, Tensor<double>::ones({8}), 0, 0));
}

}  // namespace
}  // namespace simile
