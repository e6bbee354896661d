#include <cmath>
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

TEST(Dropout, FractionDroppedAndScale) {
  const Index n = 1 << 20;
  Var<float> x(Tensor<float>::ones({n}));
  for (double p : {0.1, 0.5, 0.9}) {
    SCOPED_TRACE(p);
    Rng rng(1);
    Tensor<float> y = dropout(x, p, true, rng).value();
    Index dropped = 0;
    const float kept = static_cast<float>(1.0 / (1.0 - p));
    for (float v : y.span()) {
      if (v == 0) ++dropped;
      else EXPECT_EQ(v, kept);
    }
    // Within 5 standard deviations of the binomial count.
    double sd = std::sqrt(p * (1 - p) / double(n));
    EXPECT_NEAR(double(dropped) / double(n), p, 5 * sd);
    // Expectation preserved: the mean stays 1 up to the same sampling noise, scaled by 1 / (1 - p).
    double mean = 0;
    for (float v : y.span()) mean += v;
    mean /= double(n);
    EXPECT_NEAR(mean, 1.0, 5 * sd / (1 - p));
  }
}

TEST(Dropout, GradientOnlyThroughKeptElements) {
  Var<double> x = random_param({7, 130}, 2, 0.5, 1.5);  // no exact zeros: y = 0 marks a dropped element
  Rng rng(3);
  Var<double> y = dropout(x, 0.3, true, rng);
  Tensor<double> g = random_tensor<double>({7, 130}, 4);
  y.backward(g);
  Index dropped = 0;
  for (Index i = 0; i < x.numel(); ++i) {
    double yi = y.value().data()[i], gi = x.grad().data()[i];
    if (yi == 0) {
      EXPECT_EQ(gi, 0.0);
      ++dropped;
    } else {
      EXPECT_NEAR(yi, x.value().data()[i] / 0.7, 1e-15);
      EXPECT_NEAR(gi, g.data()[i] / 0.7, 1e-15);
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, x.numel());
}

TEST(Dropout, Gradcheck) {
  // The Rng is rebuilt from its seed at every evaluation, so the mask is the same each time.
  for (Shape s : {Shape{1}, Shape{3, 7}, Shape{2, 130}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok(
        [](const V& v) {
          Rng rng(5);
          return dropout(v[0], 0.4, true, rng);
        },
        {random_param(s, 6)}));
  }
}

TEST(Dropout, DeterministicWhateverTheThreadCount) {
  const Index n = 300000;  // many random blocks, so two threads really split the work
  Var<float> x(random_tensor<float>({n}, 7));
  auto run = [&](int threads, std::uint64_t seed) {
    ThreadScope scope(threads);
    Rng rng(seed);
    Tensor<float> a = dropout(x, 0.5, true, rng).value();
    Tensor<float> b = dropout(x, 0.5, true, rng).value();  // the Rng advanced: another mask
    return std::make_tuple(a, b, rng.state());
  };
  auto [a1, b1, s1] = run(1, 8);
  auto [a2, b2, s2] = run(2, 8);
  EXPECT_TRUE(tensors_near(a1, a2, 0, 0));
  EXPECT_TRUE(tensors_near(b1, b2, 0, 0));
  EXPECT_EQ(s1, s2);
  Index differ = 0;
  for (Index i = 0; i < n; ++i) differ += (a1.data()[i] == 0) != (b1.data()[i] == 0);
  EXPECT_GT(differ, n / 4);  // independent masks at p = 0.5 differ in about half the positions
  auto [a3, b3, s3] = run(1, 9);
  EXPECT_FALSE(tensors_near(a1, a3, 0, 0));
}

TEST(Dropout, IdentityInEvalOrAtZero) {
  Var<double> x = random_param({4, 5}, 10);
  Rng rng(11);
  RngState before = rng.state();
  Var<double> e = dropout(x, 0.5, false, rng);
  Var<double> z = dropout(x, 0.0, true, rng);
  EXPECT_EQ(e.node(), x.node());
  EXPECT_EQ(z.node(), x.node());
  EXPECT_EQ(rng.state(), before);
}

TEST(Dropout, Errors) {
  Var<double> x(Tensor<double>::ones({3}));
  Rng rng(12);
  EXPECT_TRUE(throws_with<ValueError>([&] { dropout(x, 1.0, true, rng); }, {"dropout", "p 1", "[0, 1)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { dropout(x, -0.1, true, rng); }, {"dropout", "p -0.1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { dropout(x, std::nan(""), false, rng); }, {"dropout", "p nan"}));
}

}  // namespace
}  // namespace simile
