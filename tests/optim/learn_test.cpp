// End-to-end checks that the autodiff, the layers and the optimizers learn together: logistic
// regression on two Gaussian blobs and an MLP on XOR, each within a small fixed budget of optimizer steps
// (counted, not timed: a wall-clock bound would fail on a loaded machine and pass a slow regression on a
// fast one).

#include "simile/nn.hpp"
#include "simile/ops/softmax.hpp"
#include "simile/optim.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {

/// Two blobs N((-2.5, -2.5), I) and N((2.5, 2.5), I), n points each, shuffled by the seed; labels 0 / 1.
struct Blobs {
  Tensor<double> x;
  std::vector<std::int64_t> y;
};
Blobs blobs(Index n, std::uint64_t seed) {
  Blobs b{Tensor<double>::empty({2 * n, 2}), {}};
  Rng rng(seed);
  for (Index i = 0; i < 2 * n; ++i) {
    std::int64_t label = static_cast<std::int64_t>(rng.below(2));
    double c = label ? 2.5 : -2.5;
    b.x.at(i, 0) = rng.normal(c, 1.0);
    b.x.at(i, 1) = rng.normal(c, 1.0);
    b.y.push_back(label);
  }
  return b;
}

double accuracy_of_scores(const Tensor<double>& z, const std::vector<std::int64_t>& y) {
  Index right = 0;
  for (Index i = 0; i < z.rows(); ++i) right += (z.data()[i] > 0) == (y[static_cast<std::size_t>(i)] == 1);
  return static_cast<double>(right) / static_cast<double>(z.rows());
}

double accuracy_of_logits(const Tensor<double>& z, const std::vector<std::int64_t>& y) {
  Index right = 0;
  for (Index i = 0; i < z.rows(); ++i) right += (z.at(i, 1) > z.at(i, 0)) == (y[static_cast<std::size_t>(i)] == 1);
  return static_cast<double>(right) / static_cast<double>(z.rows());
}

TEST(Learn, LogisticRegressionSeparatesTwoBlobs) {
  const std::uint64_t seed = 2024;
  Blobs train = blobs(200, seed), test = blobs(200, seed + 1);
  Rng rng(seed);
  nn::Linear<double> model(nn::LinearOptions{2, 1}, rng);
  optim::SGD<double> opt(model.parameters(), {.lr = 0.5, .momentum = 0.9});
  // Binary cross-entropy with logits: mean log(1 + exp(-s z)), s = +1 / -1 for label 1 / 0.
  Tensor<double> sign = Tensor<double>::empty({train.x.rows(), 1});
  for (Index i = 0; i < sign.numel(); ++i) sign.data()[i] = train.y[static_cast<std::size_t>(i)] ? 1.0 : -1.0;
  Var<double> x(train.x), s(sign);
  double first_loss = 0, loss_value = 0;
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    Var<double> loss = mean(log(exp(-(model(x) * s)) + 1.0));
    loss.backward();
    opt.step();
    loss_value = loss.item();
    if (step == 0) first_loss = loss_value;
  }
  EXPECT_LT(loss_value, 0.1 * first_loss) << "seed " << seed;
  double train_acc = accuracy_of_scores(model(x).value(), train.y);
  double test_acc = accuracy_of_scores(model(Var<double>(test.x)).value(), test.y);
  EXPECT_GE(train_acc, 0.99) << "seed " << seed;
  EXPECT_GE(test_acc, 0.99) << "seed " << seed;
  // The boundary is near the blobs' bisector w0 x0 + w1 x1 + b = 0 with w0 ~ w1 and b ~ 0.
  const Tensor<double>& w = model.weight().value();
  EXPECT_GT(w.at(0, 0), 0);
  EXPECT_GT(w.at(0, 1), 0);
  EXPECT_LT(std::abs(model.bias().value().item()), 0.5 * (w.at(0, 0) + w.at(0, 1)));
  EXPECT_EQ(opt.steps(), 100);  // learned within the budget
}

/// XOR: the four corners of the unit square, label = x0 xor x1. No linear model separates them.
Var<double> xor_inputs() { return Var<double>(Tensor<double>::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2})); }
const std::vector<std::int64_t> xor_labels = {0, 1, 1, 0};

template <class MakeOpt>
void learn_xor(std::uint64_t seed, MakeOpt make_opt, int steps) {
  Rng rng(seed);
  nn::Sequential<double> mlp{std::make_shared<nn::Linear<double>>(nn::LinearOptions{2, 8}, rng),
                             std::make_shared<nn::Tanh<double>>(),
                             std::make_shared<nn::Linear<double>>(nn::LinearOptions{8, 2}, rng)};
  auto opt = make_opt(mlp.parameters());
  Var<double> x = xor_inputs();
  double loss_value = 0;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    Var<double> loss = cross_entropy(mlp(x), xor_labels);
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.05) << "seed " << seed;
  EXPECT_EQ(accuracy_of_logits(mlp(x).value(), xor_labels), 1.0) << "seed " << seed;
  EXPECT_EQ(opt.steps(), steps);  // learned within the budget
}

TEST(Learn, MlpLearnsXorWithAdam) {
  for (std::uint64_t seed : {1, 2, 3})
    learn_xor(seed, [](const std::vector<Var<double>>& ps) { return optim::Adam<double>(ps, {.lr = 0.05}); }, 300);
}

TEST(Learn, MlpLearnsXorWithNesterovSgd) {
  for (std::uint64_t seed : {1, 2, 3})
    learn_xor(seed, [](const std::vector<Var<double>>& ps) {
      return optim::SGD<double>(ps, {.lr = 0.2, .momentum = 0.9, .nesterov = true});
    }, 500);
}

}  // namespace
}  // namespace simile
