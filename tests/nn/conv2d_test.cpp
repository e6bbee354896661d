#include "simile/nn/conv2d.hpp"

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

/// The convolution written as its definition, seven nested loops, zero outside the input.
Tensor<double> direct_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b, Index stride,
                           Index pad) {
  const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), K = w.dim(2);
  const Index OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  Tensor<double> y = Tensor<double>::zeros({N, O, OH, OW});
  for (Index n = 0; n < N; ++n)
    for (Index o = 0; o < O; ++o)
      for (Index i = 0; i < OH; ++i)
        for (Index j = 0; j < OW; ++j) {
          double s = b.defined() ? b.at(o) : 0.0;
          for (Index c = 0; c < C; ++c)
            for (Index u = 0; u < K; ++u)
              for (Index v = 0; v < K; ++v) {
                Index r = i * stride - pad + u, q = j * stride - pad + v;
                if (r >= 0 && r < H && q >= 0 && q < W) s += w.at(o, c, u, v) * x.at(n, c, r, q);
              }
          y.at(n, o, i, j) = s;
        }
  return y;
}

TEST(Conv2d, ParametersAsPyTorch) {
  Rng rng(1);
  nn::Conv2d<float> conv(nn::Conv2dOptions{.in_channels = 3, .out_channels = 16, .kernel_size = 3, .padding = 1}, rng);
  auto named = conv.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{16, 3, 3, 3}));
  EXPECT_EQ(named[1].first, "bias");
  EXPECT_EQ(named[1].second.shape(), (Shape{16}));
  // Default init: |w| and |b| <= 1/sqrt(fan_in), fan_in = 3 * 3 * 3 = 27.
  for (auto& [name, p] : named)
    for (float v : p.value().span()) EXPECT_LE(std::abs(v), 1 / std::sqrt(27.0f) + 1e-6f) << name;
  nn::Conv2d<float> nobias(nn::Conv2dOptions{.in_channels = 3, .out_channels = 4, .kernel_size = 1, .bias = false}, rng);
  EXPECT_EQ(nobias.parameters().size(), 1u);
  EXPECT_EQ(conv.to_string(), "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(nobias.to_string(), "Conv2d(3, 4, kernel_size=(1, 1), stride=(1, 1), bias=false)");
}

TEST(Conv2d, MatchesDirectConvolution) {
  struct Case {
    Index n, c, o, h, w, k, stride, pad;
    bool bias;
  };
  for (Case t : {Case{2, 3, 4, 7, 7, 3, 1, 1, true}, Case{1, 2, 3, 8, 6, 3, 2, 1, true}, Case{3, 1, 2, 5, 5, 1, 1, 0, false},
                 Case{2, 4, 5, 9, 7, 5, 2, 2, true}, Case{1, 3, 2, 4, 4, 4, 1, 0, false}}) {
    SCOPED_TRACE("k=" + std::to_string(t.k) + " stride=" + std::to_string(t.stride) + " pad=" + std::to_string(t.pad));
    Rng rng(2);
    nn::Conv2d<double> conv(nn::Conv2dOptions{.in_channels = t.c, .out_channels = t.o, .kernel_size = t.k,
                                              .stride = t.stride, .padding = t.pad, .bias = t.bias},
                            rng);
    Tensor<double> x = random_tensor<double>({t.n, t.c, t.h, t.w}, 3);
    Tensor<double> want = direct_conv(x, conv.weight().value(), t.bias ? conv.bias().value() : Tensor<double>(),
                                      t.stride, t.pad);
    EXPECT_TRUE(tensors_near(conv(Var<double>(x)).value(), want, 1e-12, 1e-12));
  }
}

TEST(Conv2d, ByHandOnOneChannel) {
  // A 2x2 kernel of ones sums each 2x2 window; the bias adds 10.
  Rng rng(4);
  nn::Conv2d<double> conv(nn::Conv2dOptions{.in_channels = 1, .out_channels = 1, .kernel_size = 2}, rng);
  conv.weight().value().fill(1);
  conv.bias().value().fill(10);
  Var<double> x(Tensor<double>::from({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}));
  EXPECT_TRUE(tensors_near(conv(x).value(), Tensor<double>::from({22, 26, 34, 38}, {1, 1, 2, 2})));
}

TEST(Conv2d, Gradcheck) {
  Rng rng(5);
  for (Index stride : {1, 2}) {
    nn::Conv2d<double> conv(nn::Conv2dOptions{.in_channels = 2, .out_channels = 3, .kernel_size = 3, .stride = stride,
                                              .padding = 1},
                            rng);
    SCOPED_TRACE(stride);
    EXPECT_TRUE(grad_ok([&](const V& in) { return conv(in[0]); },
                        {random_param({2, 2, 5, 6}, 6), conv.weight(), conv.bias()}));
  }
  // Two layers in a Sequential: gradients flow through both.
  auto c1 = std::make_shared<nn::Conv2d<double>>(nn::Conv2dOptions{.in_channels = 1, .out_channels = 2, .kernel_size = 3}, rng);
  auto c2 = std::make_shared<nn::Conv2d<double>>(
      nn::Conv2dOptions{.in_channels = 2, .out_channels = 1, .kernel_size = 1, .bias = false}, rng);
  nn::Sequential<double> net{c1, c2};
  EXPECT_TRUE(grad_ok([&](const V& in) { return net(in[0]); },
                      {random_param({1, 1, 5, 5}, 7), c1->weight(), c1->bias(), c2->weight()}));
}

TEST(Conv2d, Errors) {
  Rng rng(8);
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::Conv2d<double>(nn::Conv2dOptions{.in_channels = 0, .out_channels = 1}, rng); },
                                      {"Conv2d", "in_channels 0"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { nn::Conv2d<double>(nn::Conv2dOptions{.in_channels = 1, .out_channels = 1, .kernel_size = 3, .stride = 0}, rng); },
      {"Conv2d", "stride 0"}));
  nn::Conv2d<double> conv(nn::Conv2dOptions{.in_channels = 3, .out_channels = 2, .kernel_size = 3}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv(Var<double>(Tensor<double>::zeros({1, 2, 5, 5}))); },
                                      {"Conv2d", "[1, 2, 5, 5]", "[N, 3, H, W]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { conv(Var<double>(Tensor<double>::zeros({3, 5, 5}))); }, {"Conv2d", "[3, 5, 5]"}));
  EXPECT_TRUE(throws_with<Error>([&] { conv(Var<double>(Tensor<double>::zeros({1, 3, 2, 2}))); }, {"conv2d"}));
}

}  // namespace
}  // namespace simile
