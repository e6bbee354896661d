#include <cmath>

#include "simile/nn.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(Linear, ByHand) {
  Rng rng(1);
  nn::Linear<double> fc(nn::LinearOptions{3, 2}, rng);
  Tensor<double>::from({1, 2, 3, 4, 5, 6}, {2, 3}).copy_to(fc.weight().value());
  Tensor<double>::from({0.5, -1}, {2}).copy_to(fc.bias().value());
  Var<double> x(Tensor<double>::from({1, 0, -1, 2, 1, 0}, {2, 3}), true);
  Var<double> y = fc(x);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({-1.5, -3, 4.5, 12}, {2, 2})));
  sum(y).backward();
  // dW = G^T x with G = ones: every row of dW is the column sum of x; db = row count; dx = G W.
  EXPECT_TRUE(tensors_near(fc.weight().grad(), Tensor<double>::from({3, 1, -1, 3, 1, -1}, {2, 3})));
  EXPECT_TRUE(tensors_near(fc.bias().grad(), Tensor<double>::from({2, 2}, {2})));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({5, 7, 9, 5, 7, 9}, {2, 3})));
}

TEST(Linear, ShapesAndParameterNames) {
  Rng rng(2);
  nn::Linear<float> fc(nn::LinearOptions{7, 3}, rng);
  EXPECT_EQ(fc.weight().shape(), (Shape{3, 7}));
  EXPECT_EQ(fc.bias().shape(), (Shape{3}));
  EXPECT_EQ(fc.named_parameters().at(0).first, "weight");
  EXPECT_EQ(fc.named_parameters().at(1).first, "bias");
  EXPECT_EQ(fc(Var<float>(Tensor<float>::zeros({5, 7}))).shape(), (Shape{5, 3}));
  EXPECT_EQ(fc(Var<float>(Tensor<float>::zeros({2, 4, 7}))).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(fc(Var<float>(Tensor<float>::zeros({7}))).shape(), (Shape{3}));
  nn::Linear<float> nobias(nn::LinearOptions{.in_features = 7, .out_features = 3, .bias = false}, rng);
  EXPECT_EQ(nobias.parameters().size(), 1u);
  EXPECT_TRUE(throws_with<ValueError>([&] { nobias.bias(); }, {"Linear::bias", "without a bias"}));
  // Without a bias, a zero input gives a zero output.
  EXPECT_TRUE(tensors_near(nobias(Var<float>(Tensor<float>::zeros({2, 7}))).value(), Tensor<float>::zeros({2, 3})));
}

TEST(Linear, GradcheckOverBatchSizesAndRanks) {
  Rng rng(3);
  nn::Linear<double> fc(nn::LinearOptions{7, 3}, rng);
  for (Shape s : {Shape{1, 7}, Shape{5, 7}, Shape{130, 7}, Shape{2, 3, 7}, Shape{7}}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_TRUE(grad_ok([&](const V& in) { return fc(in[0]); }, {random_param(s, 4), fc.weight(), fc.bias()}));
  }
  nn::Linear<double> nobias(nn::LinearOptions{3, 1, false}, rng);
  EXPECT_TRUE(grad_ok([&](const V& in) { return nobias(in[0]); }, {random_param({4, 3}, 5), nobias.weight()}));
}

TEST(Linear, RankThreeMatchesRowByRow) {
  Rng rng(6);
  nn::Linear<double> fc(nn::LinearOptions{4, 2}, rng);
  Tensor<double> x = random_tensor<double>({3, 5, 4}, 7);
  Tensor<double> y = fc(Var<double>(x)).value();
  Tensor<double> y2 = fc(Var<double>(x.reshape({15, 4}))).value();
  EXPECT_TRUE(tensors_near(y.reshape({15, 2}), y2, 0, 0));
}

TEST(Linear, Errors) {
  Rng rng(8);
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::Linear<double>(nn::LinearOptions{0, 3}, rng); },
                                      {"Linear", "in_features 0", "out_features 3"}));
  nn::Linear<double> fc(nn::LinearOptions{4, 2}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { fc(Var<double>(Tensor<double>::zeros({3, 5}))); },
                                      {"Linear", "[3, 5]", "in_features = 4"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { fc(Var<double>(Tensor<double>::scalar(1))); }, {"Linear", "[]"}));
}

TEST(Activations, ValuesByHandAndGradcheck) {
  Var<double> x(Tensor<double>::from({-2, -0.5, 0.5, 3}, {2, 2}));
  EXPECT_TRUE(tensors_near(nn::ReLU<double>()(x).value(), Tensor<double>::from({0, 0, 0.5, 3}, {2, 2})));
  EXPECT_TRUE(tensors_near(nn::LeakyReLU<double>(nn::LeakyReLUOptions{0.1})(x).value(),
                           Tensor<double>::from({-0.2, -0.05, 0.5, 3}, {2, 2})));
  EXPECT_TRUE(tensors_near(nn::LeakyReLU<double>()(x).value(), Tensor<double>::from({-0.02, -0.005, 0.5, 3}, {2, 2})));
  EXPECT_TRUE(tensors_near(nn::Tanh<double>()(x).value(),
                           Tensor<double>::from({std::tanh(-2.0), std::tanh(-0.5), std::tanh(0.5), std::tanh(3.0)}, {2, 2})));
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  EXPECT_TRUE(tensors_near(nn::Sigmoid<double>()(x).value(), Tensor<double>::from({sig(-2), sig(-0.5), sig(0.5), sig(3)}, {2, 2})));
  auto gelu = [](double v) { return v * 0.5 * (1 + std::erf(v / std::sqrt(2.0))); };
  EXPECT_TRUE(tensors_near(nn::GELU<double>()(x).value(), Tensor<double>::from({gelu(-2), gelu(-0.5), gelu(0.5), gelu(3)}, {2, 2}), 1e-12));

  std::vector<std::shared_ptr<nn::Module<double>>> acts = {
      std::make_shared<nn::ReLU<double>>(), std::make_shared<nn::LeakyReLU<double>>(nn::LeakyReLUOptions{0.2}),
      std::make_shared<nn::GELU<double>>(), std::make_shared<nn::Tanh<double>>(), std::make_shared<nn::Sigmoid<double>>(),
      std::make_shared<nn::Identity<double>>()};
  for (auto& act : acts)
    for (Shape s : {Shape{1}, Shape{3, 7}, Shape{2, 3, 5, 5}}) {
      SCOPED_TRACE(act->type_name() + " " + s.to_string());
      Var<double> in = random_param(s, 9);
      for (double& v : in.value().span())
        if (std::abs(v) < 1e-3) v = 0.1;  // away from the kinks of ReLU and LeakyReLU
      EXPECT_TRUE(grad_ok([&](const V& xs) { return act->forward(xs[0]); }, {in}));
      EXPECT_EQ(act->forward(in).shape(), s);
      EXPECT_TRUE(act->parameters().empty());
    }
}

TEST(Flatten, ShapesGradientAndErrors) {
  nn::Flatten<double> flat;
  Var<double> x = random_param({2, 3, 4, 5}, 10);
  Var<double> y = flat(x);
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  EXPECT_TRUE(y.value().shares_storage(x.value()));
  EXPECT_EQ(nn::Flatten<double>(nn::FlattenOptions{1, 2})(x).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(nn::Flatten<double>(nn::FlattenOptions{0, -1})(x).shape(), (Shape{120}));
  EXPECT_EQ(nn::Flatten<double>(nn::FlattenOptions{-2, -1})(x).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(nn::Flatten<double>(nn::FlattenOptions{3, 3})(x).shape(), (Shape{2, 3, 4, 5}));
  EXPECT_TRUE(grad_ok([&](const V& in) { return flat(in[0]) * 3.0; }, {x}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::Flatten<double>(nn::FlattenOptions{2, 1})(x); },
                                      {"Flatten", "[2, 1]", "[2, 3, 4, 5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { flat(Var<double>(Tensor<double>::zeros({4}))); }, {"Flatten", "[4]"}));
}

TEST(Sequential, ComposesInOrderAndGradchecks) {
  Rng rng(11);
  auto fc1 = std::make_shared<nn::Linear<double>>(nn::LinearOptions{5, 4}, rng);
  auto fc2 = std::make_shared<nn::Linear<double>>(nn::LinearOptions{4, 3}, rng);
  nn::Sequential<double> net{fc1, std::make_shared<nn::Tanh<double>>(), fc2};
  EXPECT_EQ(net.size(), 3u);
  EXPECT_EQ(&net[2], fc2.get());
  Var<double> x = random_param({6, 5}, 12);
  EXPECT_TRUE(tensors_near(net(x).value(), (*fc2)(tanh((*fc1)(x))).value(), 0, 0));
  EXPECT_TRUE(grad_ok([&](const V& in) { return net(in[0]); },
                      {x, fc1->weight(), fc1->bias(), fc2->weight(), fc2->bias()}));
  nn::Sequential<double> empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty(x).node(), x.node());
  net.push_back(std::make_shared<nn::Sigmoid<double>>());
  EXPECT_EQ(net.named_children().back().first, "3");
}

}  // namespace
}  // namespace simile
