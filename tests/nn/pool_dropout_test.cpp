#include "simile/nn/dropout.hpp"
#include "simile/nn/pool.hpp"
#include "simile/nn/sequential.hpp"
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

// 4x4 plane 0..15 (row-major), one image, one channel.
Var<double> ramp() {
  Tensor<double> t = Tensor<double>::empty({1, 1, 4, 4});
  for (Index i = 0; i < 16; ++i) t.data()[i] = static_cast<double>(i);
  return Var<double>(t);
}

TEST(Pool, MaxAndAvgByHand) {
  nn::MaxPool2d<double> maxpool;  // 2x2, stride 2
  EXPECT_TRUE(tensors_near(maxpool(ramp()).value(), Tensor<double>::from({5, 7, 13, 15}, {1, 1, 2, 2})));
  nn::AvgPool2d<double> avgpool;
  EXPECT_TRUE(tensors_near(avgpool(ramp()).value(), Tensor<double>::from({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2})));
  // 3x3 windows, stride 1: max is the bottom-right of each window.
  nn::MaxPool2d<double> overlapping(nn::Pool2dOptions{.kernel_size = 3, .stride = 1});
  EXPECT_TRUE(tensors_near(overlapping(ramp()).value(), Tensor<double>::from({10, 11, 14, 15}, {1, 1, 2, 2})));
  // Padding 1 on a 2x2 window, stride 2: corners see one real value, the average counts the zeros.
  nn::AvgPool2d<double> padded(nn::Pool2dOptions{.kernel_size = 2, .stride = 2, .padding = 1});
  Tensor<double> y = padded(ramp()).value();
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_DOUBLE_EQ(y.at(0, 0, 0, 0), 0.0 / 4);
  EXPECT_DOUBLE_EQ(y.at(0, 0, 0, 1), (1 + 2) / 4.0);
  EXPECT_DOUBLE_EQ(y.at(0, 0, 2, 2), 15 / 4.0);
  nn::GlobalAvgPool2d<double> gap;
  Tensor<double> g = gap(ramp()).value();
  EXPECT_EQ(g.shape(), (Shape{1, 1}));
  EXPECT_DOUBLE_EQ(g.item(), 7.5);
  EXPECT_EQ(maxpool.to_string(), "MaxPool2d(kernel_size=2, stride=2, padding=0)");
}

TEST(Pool, Gradcheck) {
  Var<double> x = random_param({2, 3, 6, 5}, 1);  // distinct values: max is unique in each window
  std::vector<std::shared_ptr<nn::Module<double>>> layers = {
      std::make_shared<nn::MaxPool2d<double>>(), std::make_shared<nn::MaxPool2d<double>>(nn::Pool2dOptions{3, 2, 1}),
      std::make_shared<nn::AvgPool2d<double>>(nn::Pool2dOptions{3, 1, 1}), std::make_shared<nn::GlobalAvgPool2d<double>>()};
  for (auto& layer : layers) {
    SCOPED_TRACE(layer->to_string());
    EXPECT_TRUE(grad_ok([&](const V& in) { return layer->forward(in[0]); }, {x}));
    EXPECT_TRUE(layer->parameters().empty());
  }
}

TEST(Pool, Errors) {
  nn::MaxPool2d<double> pool(nn::Pool2dOptions{.kernel_size = 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { pool(Var<double>(Tensor<double>::zeros({2, 4, 4}))); }, {"max_pool2d", "[2, 4, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { pool(Var<double>(Tensor<double>::zeros({1, 1, 2, 2}))); }, {"max_pool2d"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::AvgPool2d<double>(nn::Pool2dOptions{.kernel_size = 0})(ramp()); }, {"avg_pool2d"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { nn::GlobalAvgPool2d<double>()(Var<double>(Tensor<double>::zeros({3}))); },
                                      {"global_avg_pool2d"}));
}

TEST(Dropout, TrainingDropsAndScalesEvalIsIdentity) {
  nn::Dropout<double> drop(nn::DropoutOptions{.p = 0.25}, 42);
  Var<double> x(Tensor<double>::ones({100, 100}), true);
  Var<double> y = drop(x);
  Index kept = 0;
  for (double v : y.value().span()) {
    EXPECT_TRUE(v == 0 || std::abs(v - 1 / 0.75) < 1e-15);
    kept += v != 0;
  }
  EXPECT_NEAR(static_cast<double>(kept) / 10000, 0.75, 0.02);
  // The gradient flows only through kept elements, with the same scale.
  sum(y).backward();
  EXPECT_TRUE(tensors_near(x.grad(), y.value(), 0, 0));
  drop.eval();
  EXPECT_EQ(drop(x).node(), x.node());
  EXPECT_EQ(drop.to_string(), "Dropout(p=0.25)");
}

TEST(Dropout, SeededReproducibleAndCloneContinuesTheStream) {
  Var<double> x(Tensor<double>::ones({64, 33}));
  nn::Dropout<double> a(nn::DropoutOptions{}, 7), b(nn::DropoutOptions{}, 7), c(nn::DropoutOptions{}, 8);
  Tensor<double> ya = a(x).value();
  EXPECT_TRUE(tensors_near(ya, b(x).value(), 0, 0));
  EXPECT_FALSE(tensors_near(ya, c(x).value(), 0, 0));
  // Successive calls draw new masks.
  auto copy = a.clone();
  Tensor<double> next = a(x).value();
  EXPECT_FALSE(tensors_near(ya, next, 0, 0));
  EXPECT_TRUE(tensors_near((*copy)(x).value(), next, 0, 0));
  // The stream state is what a checkpoint saves and restores.
  RngState saved = a.rng().state();
  Tensor<double> after = a(x).value();
  a.rng() = Rng(saved);
  EXPECT_TRUE(tensors_near(a(x).value(), after, 0, 0));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Dropout<double>(nn::DropoutOptions{.p = 1}, 0); }, {"Dropout", "p 1"}));
  // A Sequential's eval() reaches the dropout inside it.
  nn::Sequential<double> net{std::make_shared<nn::Dropout<double>>(nn::DropoutOptions{.p = 0.9}, 1)};
  net.eval();
  EXPECT_TRUE(tensors_near(net(x).value(), x.value(), 0, 0));
}

}  // namespace
}  // namespace simile
