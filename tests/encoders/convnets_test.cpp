// Convolutional encoders: SmallConvNet, ResNet18 and its BasicBlock. Names and shapes against the lists PyTorch
// prints for the same architectures (written out below; torchvision is not installed here, so ResNet-18 was
// written out in plain torch.nn exactly as torchvision.models.resnet builds it, with a 3x3 stride-1 conv1, no
// max pool and no fc, and its named_parameters() / named_buffers() printed with /usr/bin/python3, torch 1.13),
// forward against the same computation written with the ops, gradcheck in double in training mode, deep clones.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "simile/encoders/resnet.hpp"
#include "simile/encoders/small_convnet.hpp"
#include "simile/ops.hpp"
#include "support/names.hpp"
#include "simile/encoders.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using namespace simile::testing;

// ---------------------------------------------------------------------------------------------- SmallConvNet

// PyTorch: conv1 = Conv2d(1, 32, 3, padding=1, bias=False), bn1 = BatchNorm2d(32), ... as attributes.
const Expected small_convnet_parameters = {
    {"conv1.weight", Shape{32, 1, 3, 3}}, {"bn1.weight", Shape{32}},  {"bn1.bias", Shape{32}},
    {"conv2.weight", Shape{64, 32, 3, 3}}, {"bn2.weight", Shape{64}}, {"bn2.bias", Shape{64}},
    {"conv3.weight", Shape{128, 64, 3, 3}}, {"bn3.weight", Shape{128}}, {"bn3.bias", Shape{128}},
};
const Expected small_convnet_buffers = {
    {"bn1.running_mean", Shape{32}},  {"bn1.running_var", Shape{32}},  {"bn1.num_batches_tracked", Shape{}},
    {"bn2.running_mean", Shape{64}},  {"bn2.running_var", Shape{64}},  {"bn2.num_batches_tracked", Shape{}},
    {"bn3.running_mean", Shape{128}}, {"bn3.running_var", Shape{128}}, {"bn3.num_batches_tracked", Shape{}},
};

TEST(SmallConvNet, NamesAndShapesAreTorchs) {
  Rng rng(1);
  encoders::SmallConvNet<float> net({.in_channels = 1}, rng);
  EXPECT_TRUE(names_are(net.named_parameters(), small_convnet_parameters));
  EXPECT_TRUE(names_are(net.named_buffers(), small_convnet_buffers));
  EXPECT_EQ(net.num_parameters(), 92896);  // sum(p.numel()) in PyTorch
  // state_dict order: per module its parameters then its buffers, as PyTorch's state_dict().keys().
  auto sd = net.state_dict();
  ASSERT_EQ(sd.size(), 18u);
  const char* first[] = {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                         "bn1.running_var", "bn1.num_batches_tracked", "conv2.weight", "bn2.weight"};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(sd[i].first, first[i]);

  encoders::SmallConvNet<float> rgb({.in_channels = 3}, rng);
  EXPECT_EQ(rgb.parameter("conv1.weight").shape(), (Shape{32, 3, 3, 3}));
  EXPECT_EQ(rgb.num_parameters(), 93472);
  EXPECT_EQ(rgb.output_dim(), 128);
}

TEST(SmallConvNet, OutputShapes) {
  Rng rng(2);
  for (Index c : {1, 3})
    for (Index side : {28, 32, 7, 4}) {
      encoders::SmallConvNet<float> net({.in_channels = c}, rng);
      Var<float> x(random_tensor<float>({3, c, side, side}, 5), false);
      EXPECT_EQ(net.forward(x).shape(), (Shape{3, 128})) << "channels " << c << ", side " << side;
      net.eval();
      EXPECT_EQ(net.forward(Var<float>(random_tensor<float>({1, c, side, side + 1}, 6))).shape(), (Shape{1, 128}));
    }
}

/// The same network written with the ops, reading the module's parameters and buffers.
template <Real T>
Var<T> small_convnet_by_ops(const encoders::SmallConvNet<T>& net, const Var<T>& x, bool training) {
  Var<T> y = x;
  for (int i = 1; i <= 3; ++i) {
    std::string k = std::to_string(i);
    y = conv2d(y, net.parameter("conv" + k + ".weight"), Conv2dOptions{1, 1});
    y = relu(batch_norm(y, net.parameter("bn" + k + ".weight"), net.parameter("bn" + k + ".bias"),
                        net.buffer("bn" + k + ".running_mean").clone(), net.buffer("bn" + k + ".running_var").clone(),
                        {.training = training, .momentum = 0.1, .eps = 1e-5}));
    if (i < 3) y = max_pool2d(y, 2);
  }
  const Index g = net.options().readout_grid;
  return g == 1 ? global_avg_pool2d(y) : reshape(adaptive_avg_pool2d(y, g, g), {x.dim(0), y.dim(1) * g * g});
}

TEST(SmallConvNet, ForwardIsTheOpChainInTrainAndEvalMode) {
  Rng rng(3);
  encoders::SmallConvNet<double> net({.in_channels = 2}, rng);
  Var<double> x(random_tensor<double>({4, 2, 12, 10}, 7), false);
  Var<double> expected = small_convnet_by_ops(net, x, true);
  EXPECT_TRUE(tensors_near(net.forward(x).value(), expected.value(), 1e-12, 1e-10));
  // One training forward moved the running statistics and counted one batch.
  EXPECT_EQ(net.buffer("bn2.num_batches_tracked").item(), 1.0);
  EXPECT_FALSE(tensors_near(net.buffer("bn1.running_mean"), Tensor<double>::zeros({32})));
  net.eval();
  Var<double> y = net.forward(x);
  EXPECT_EQ(net.buffer("bn2.num_batches_tracked").item(), 1.0);  // eval mode counts nothing
  EXPECT_TRUE(tensors_near(y.value(), small_convnet_by_ops(net, x, false).value(), 1e-12, 1e-10));
  // Eval mode normalizes with the running statistics: each sample's h is independent of the batch.
  Var<double> one(x.value().slice_rows(1, 2).clone(), false);
  EXPECT_TRUE(tensors_near(net.forward(one).value(), y.value().slice_rows(1, 2), 1e-12, 1e-10));
}

TEST(SmallConvNet, ReadoutGridKeepsACoarseLayout) {
  Rng rng(6);
  encoders::SmallConvNet<double> net({.in_channels = 1, .readout_grid = 2}, rng);
  EXPECT_EQ(net.output_dim(), 512);
  Var<double> x(random_tensor<double>({3, 1, 28, 28}, 8), false);
  Var<double> h = net.forward(x);
  EXPECT_EQ(h.shape(), (Shape{3, 512}));
  EXPECT_TRUE(tensors_near(h.value(), small_convnet_by_ops(net, x, true).value(), 1e-12, 1e-10));
  // The four cells of a channel average to the global readout when the cells tile the map without overlap
  // (8x8 input: a 2x2 map).
  encoders::SmallConvNet<double> global({.in_channels = 1}, rng);
  global.load_state_dict(net.state_dict());
  Var<double> small(random_tensor<double>({2, 1, 8, 8}, 9), false);
  Tensor<double> cells = net.forward(small).value().reshape({2, 128, 4});
  Tensor<double> mean = Tensor<double>::zeros({2, 128});
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 128; ++c)
      for (Index k = 0; k < 4; ++k) mean.data()[n * 128 + c] += cells.data()[(n * 128 + c) * 4 + k] / 4;
  EXPECT_TRUE(tensors_near(global.forward(small).value(), mean, 1e-12, 1e-12));
  for (Index bad : {0, 8, -1})
    EXPECT_TRUE(throws_with<ValueError>([&] { encoders::SmallConvNet<float>({.readout_grid = bad}, rng); },
                                        {"SmallConvNet", "readout_grid", std::to_string(bad), "[1, 7]"}));
}

TEST(SmallConvNet, GradcheckTinyWidthsTrainingMode) {
  // The same architecture with widths 2, 3, 4 so every parameter element can be checked: two 8x8 images
  // keep 2 * 2 * 2 = 8 values per channel in bn3.
  Rng rng(4);
  encoders::SmallConvNet<double> net({.in_channels = 2, .widths = {2, 3, 4}}, rng);
  // Non-zero BatchNorm shifts, so that the ReLUs neither pass nor cut everything.
  for (auto& [name, p] : net.named_parameters())
    if (name.find("bn") == 0) random_tensor<double>(p.shape(), 11, -0.5, 1.5).copy_to(p.value());
  Var<double> x = random_param({2, 2, 8, 8}, 12);
  std::vector<Var<double>> inputs{x};
  for (const Var<double>& p : net.parameters()) inputs.push_back(p);
  EXPECT_EQ(net.forward(x).shape(), (Shape{2, 4}));
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return net.forward(in[0]); }, inputs));
}

TEST(SmallConvNet, CloneIsDeep) {
  Rng rng(5);
  encoders::SmallConvNet<float> net({.in_channels = 1}, rng);
  Var<float> x(random_tensor<float>({2, 1, 8, 8}, 13), false);
  net.forward(x);  // moves the running statistics away from their initial values
  std::shared_ptr<encoders::SmallConvNet<float>> copy = net.clone();
  auto a = net.state_dict(), b = copy->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_NE(a[i].second.data(), b[i].second.data()) << a[i].first << " shares storage";
    EXPECT_TRUE(tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
  }
  EXPECT_EQ(copy->options().in_channels, 1);
  net.eval();
  copy->eval();
  Tensor<float> before = net.forward(x).value().clone();
  EXPECT_TRUE(tensors_near(copy->forward(x).value(), before, 0, 0));
  // Training the copy changes neither the original's parameters nor its running statistics.
  copy->train();
  copy->parameter("conv1.weight").value().fill(0.5f);
  copy->forward(x);
  net.eval();
  EXPECT_TRUE(tensors_near(net.forward(x).value(), before, 0, 0));
  EXPECT_EQ(net.buffer("bn1.num_batches_tracked").item(), 1.0f);
  EXPECT_EQ(copy->buffer("bn1.num_batches_tracked").item(), 2.0f);
}

TEST(SmallConvNet, Errors) {
  Rng rng(6);
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::SmallConvNet<float>({.in_channels = 0}, rng); },
                                      {"SmallConvNet", "in_channels 0"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { encoders::SmallConvNet<float>({.in_channels = 1, .widths = {32, 0, 128}}, rng); },
      {"SmallConvNet", "width 1 is 0"}));
  encoders::SmallConvNet<float> net({.in_channels = 1}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { net.forward(Var<float>(Tensor<float>::zeros({2, 3, 28, 28}))); },
                                      {"SmallConvNet", "[2, 3, 28, 28]", "[N, 1, H, W]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { net.forward(Var<float>(Tensor<float>::zeros({2, 1, 3, 28}))); },
                                      {"SmallConvNet", "H, W >= 4"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { net.forward(Var<float>(Tensor<float>::zeros({1, 28, 28}))); },
                                      {"SmallConvNet"}));
  // One image in training mode: BatchNorm's batch statistics need two values per channel at bn3... which a
  // single 4x4 image (1 value per channel after two pools) does not give.
  EXPECT_TRUE(throws_with<ValueError>([&] { net.forward(Var<float>(Tensor<float>::zeros({1, 1, 4, 4}))); },
                                      {"batch_norm", "more than 1 value per channel"}));
}

// ---------------------------------------------------------------------------------------------- ResNet18

// PyTorch's named_parameters() of torchvision's resnet18 with conv1 = Conv2d(3, 64, 3, 1, 1, bias=False),
// maxpool = fc = Identity.
const Expected resnet18_parameters = {
      {"conv1.weight", Shape{64, 3, 3, 3}},
      {"bn1.weight", Shape{64}},
      {"bn1.bias", Shape{64}},
      {"layer1.0.conv1.weight", Shape{64, 64, 3, 3}},
      {"layer1.0.bn1.weight", Shape{64}},
      {"layer1.0.bn1.bias", Shape{64}},
      {"layer1.0.conv2.weight", Shape{64, 64, 3, 3}},
      {"layer1.0.bn2.weight", Shape{64}},
      {"layer1.0.bn2.bias", Shape{64}},
      {"layer1.1.conv1.weight", Shape{64, 64, 3, 3}},
      {"layer1.1.bn1.weight", Shape{64}},
      {"layer1.1.bn1.bias", Shape{64}},
      {"layer1.1.conv2.weight", Shape{64, 64, 3, 3}},
      {"layer1.1.bn2.weight", Shape{64}},
      {"layer1.1.bn2.bias", Shape{64}},
      {"layer2.0.conv1.weight", Shape{128, 64, 3, 3}},
      {"layer2.0.bn1.weight", Shape{128}},
      {"layer2.0.bn1.bias", Shape{128}},
      {"layer2.0.conv2.weight", Shape{128, 128, 3, 3}},
      {"layer2.0.bn2.weight", Shape{128}},
      {"layer2.0.bn2.bias", Shape{128}},
      {"layer2.0.downsample.0.weight", Shape{128, 64, 1, 1}},
      {"layer2.0.downsample.1.weight", Shape{128}},
      {"layer2.0.downsample.1.bias", Shape{128}},
      {"layer2.1.conv1.weight", Shape{128, 128, 3, 3}},
      {"layer2.1.bn1.weight", Shape{128}},
      {"layer2.1.bn1.bias", Shape{128}},
      {"layer2.1.conv2.weight", Shape{128, 128, 3, 3}},
      {"layer2.1.bn2.weight", Shape{128}},
      {"layer2.1.bn2.bias", Shape{128}},
      {"layer3.0.conv1.weight", Shape{256, 128, 3, 3}},
      {"layer3.0.bn1.weight", Shape{256}},
      {"layer3.0.bn1.bias", Shape{256}},
      {"layer3.0.conv2.weight", Shape{256, 256, 3, 3}},
      {"layer3.0.bn2.weight", Shape{256}},
      {"layer3.0.bn2.bias", Shape{256}},
      {"layer3.0.downsample.0.weight", Shape{256, 128, 1, 1}},
      {"layer3.0.downsample.1.weight", Shape{256}},
      {"layer3.0.downsample.1.bias", Shape{256}},
      {"layer3.1.conv1.weight", Shape{256, 256, 3, 3}},
      {"layer3.1.bn1.weight", Shape{256}},
      {"layer3.1.bn1.bias", Shape{256}},
      {"layer3.1.conv2.weight", Shape{256, 256, 3, 3}},
      {"layer3.1.bn2.weight", Shape{256}},
      {"layer3.1.bn2.bias", Shape{256}},
      {"layer4.0.conv1.weight", Shape{512, 256, 3, 3}},
      {"layer4.0.bn1.weight", Shape{512}},
      {"layer4.0.bn1.bias", Shape{512}},
      {"layer4.0.conv2.weight", Shape{512, 512, 3, 3}},
      {"layer4.0.bn2.weight", Shape{512}},
      {"layer4.0.bn2.bias", Shape{512}},
      {"layer4.0.downsample.0.weight", Shape{512, 256, 1, 1}},
      {"layer4.0.downsample.1.weight", Shape{512}},
      {"layer4.0.downsample.1.bias", Shape{512}},
      {"layer4.1.conv1.weight", Shape{512, 512, 3, 3}},
      {"layer4.1.bn1.weight", Shape{512}},
      {"layer4.1.bn1.bias", Shape{512}},
      {"layer4.1.conv2.weight", Shape{512, 512, 3, 3}},
      {"layer4.1.bn2.weight", Shape{512}},
      {"layer4.1.bn2.bias", Shape{512}},
};
const Expected resnet18_buffers = {
      {"bn1.running_mean", Shape{64}},
      {"bn1.running_var", Shape{64}},
      {"bn1.num_batches_tracked", Shape{}},
      {"layer1.0.bn1.running_mean", Shape{64}},
      {"layer1.0.bn1.running_var", Shape{64}},
      {"layer1.0.bn1.num_batches_tracked", Shape{}},
      {"layer1.0.bn2.running_mean", Shape{64}},
      {"layer1.0.bn2.running_var", Shape{64}},
      {"layer1.0.bn2.num_batches_tracked", Shape{}},
      {"layer1.1.bn1.running_mean", Shape{64}},
      {"layer1.1.bn1.running_var", Shape{64}},
      {"layer1.1.bn1.num_batches_tracked", Shape{}},
      {"layer1.1.bn2.running_mean", Shape{64}},
      {"layer1.1.bn2.running_var", Shape{64}},
      {"layer1.1.bn2.num_batches_tracked", Shape{}},
      {"layer2.0.bn1.running_mean", Shape{128}},
      {"layer2.0.bn1.running_var", Shape{128}},
      {"layer2.0.bn1.num_batches_tracked", Shape{}},
      {"layer2.0.bn2.running_mean", Shape{128}},
      {"layer2.0.bn2.running_var", Shape{128}},
      {"layer2.0.bn2.num_batches_tracked", Shape{}},
      {"layer2.0.downsample.1.running_mean", Shape{128}},
      {"layer2.0.downsample.1.running_var", Shape{128}},
      {"layer2.0.downsample.1.num_batches_tracked", Shape{}},
      {"layer2.1.bn1.running_mean", Shape{128}},
      {"layer2.1.bn1.running_var", Shape{128}},
      {"layer2.1.bn1.num_batches_tracked", Shape{}},
      {"layer2.1.bn2.running_mean", Shape{128}},
      {"layer2.1.bn2.running_var", Shape{128}},
      {"layer2.1.bn2.num_batches_tracked", Shape{}},
      {"layer3.0.bn1.running_mean", Shape{256}},
      {"layer3.0.bn1.running_var", Shape{256}},
      {"layer3.0.bn1.num_batches_tracked", Shape{}},
      {"layer3.0.bn2.running_mean", Shape{256}},
      {"layer3.0.bn2.running_var", Shape{256}},
      {"layer3.0.bn2.num_batches_tracked", Shape{}},
      {"layer3.0.downsample.1.running_mean", Shape{256}},
      {"layer3.0.downsample.1.running_var", Shape{256}},
      {"layer3.0.downsample.1.num_batches_tracked", Shape{}},
      {"layer3.1.bn1.running_mean", Shape{256}},
      {"layer3.1.bn1.running_var", Shape{256}},
      {"layer3.1.bn1.num_batches_tracked", Shape{}},
      {"layer3.1.bn2.running_mean", Shape{256}},
      {"layer3.1.bn2.running_var", Shape{256}},
      {"layer3.1.bn2.num_batches_tracked", Shape{}},
      {"layer4.0.bn1.running_mean", Shape{512}},
      {"layer4.0.bn1.running_var", Shape{512}},
      {"layer4.0.bn1.num_batches_tracked", Shape{}},
      {"layer4.0.bn2.running_mean", Shape{512}},
      {"layer4.0.bn2.running_var", Shape{512}},
      {"layer4.0.bn2.num_batches_tracked", Shape{}},
      {"layer4.0.downsample.1.running_mean", Shape{512}},
      {"layer4.0.downsample.1.running_var", Shape{512}},
      {"layer4.0.downsample.1.num_batches_tracked", Shape{}},
      {"layer4.1.bn1.running_mean", Shape{512}},
      {"layer4.1.bn1.running_var", Shape{512}},
      {"layer4.1.bn1.num_batches_tracked", Shape{}},
      {"layer4.1.bn2.running_mean", Shape{512}},
      {"layer4.1.bn2.running_var", Shape{512}},
      {"layer4.1.bn2.num_batches_tracked", Shape{}},
};

TEST(ResNet18, NamesShapesAndCountAreTorchvisions) {
  Rng rng(7);
  encoders::ResNet18<float> net({.in_channels = 3, .stem = encoders::ResNetStem::small_image}, rng);
  EXPECT_TRUE(names_are(net.named_parameters(), resnet18_parameters));
  EXPECT_TRUE(names_are(net.named_buffers(), resnet18_buffers));
  EXPECT_EQ(net.num_parameters(), 11168832);
  EXPECT_EQ(net.output_dim(), 512);
  // torchvision's own stem: 11,689,512 parameters less the fc's 512 * 1000 + 1000.
  encoders::ResNet18<float> imagenet({.in_channels = 3, .stem = encoders::ResNetStem::imagenet}, rng);
  EXPECT_EQ(imagenet.parameter("conv1.weight").shape(), (Shape{64, 3, 7, 7}));
  EXPECT_EQ(imagenet.num_parameters(), 11176512);
  encoders::ResNet18<float> gray({.in_channels = 1, .stem = encoders::ResNetStem::small_image}, rng);
  EXPECT_EQ(gray.num_parameters(), 11168832 - 2 * 64 * 9);
}

TEST(ResNet18, OutputShapesAndInit) {
  Rng rng(8);
  encoders::ResNet18<float> net({.in_channels = 3, .stem = encoders::ResNetStem::small_image}, rng);
  Var<float> x(random_tensor<float>({2, 3, 8, 8}, 14), false);
  EXPECT_EQ(net.forward(x).shape(), (Shape{2, 512}));
  net.eval();
  EXPECT_EQ(net.forward(Var<float>(random_tensor<float>({1, 3, 9, 7}, 15))).shape(), (Shape{1, 512}));
  encoders::ResNet18<float> imagenet({.in_channels = 3, .stem = encoders::ResNetStem::imagenet}, rng);
  EXPECT_EQ(imagenet.forward(Var<float>(random_tensor<float>({2, 3, 32, 32}, 16))).shape(), (Shape{2, 512}));
  // torchvision's init: kaiming_normal(fan_out, relu), std = sqrt(2 / (C_out k^2)); BatchNorm weight 1, bias 0.
  Tensor<float> w = net.parameter("layer3.1.conv2.weight").value();
  double sq = 0;
  for (float v : w.span()) sq += double(v) * v;
  double expected_std = std::sqrt(2.0 / (256.0 * 9.0));
  EXPECT_NEAR(std::sqrt(sq / double(w.numel())), expected_std, 0.01 * expected_std);
  EXPECT_TRUE(tensors_near(net.parameter("layer2.0.downsample.1.weight").value(), Tensor<float>::ones({128}), 0, 0));
}

TEST(ResNet18, CloneIsDeep) {
  Rng rng(9);
  encoders::ResNet18<float> net({.in_channels = 3, .stem = encoders::ResNetStem::small_image}, rng);
  std::shared_ptr<encoders::ResNet18<float>> copy = net.clone();
  auto a = net.named_parameters(), b = copy->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_NE(a[i].second.node(), b[i].second.node());
    EXPECT_NE(a[i].second.value().data(), b[i].second.value().data());
  }
  auto ba = net.named_buffers(), bb = copy->named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (std::size_t i = 0; i < ba.size(); ++i) EXPECT_NE(ba[i].second.data(), bb[i].second.data());
  copy->buffer("layer4.1.bn2.running_var").fill(3.0f);
  EXPECT_EQ(net.buffer("layer4.1.bn2.running_var").data()[0], 1.0f);
}

TEST(BasicBlock, GradcheckWithAndWithoutDownsample) {
  Rng rng(10);
  // stride 2 and 2 -> 3 channels: the shortcut is downsample = conv 1x1 stride 2 + BatchNorm2d.
  encoders::BasicBlock<double> down({.in_channels = 2, .out_channels = 3, .stride = 2}, rng);
  EXPECT_TRUE(names_are(down.named_parameters(),
                        {{"conv1.weight", Shape{3, 2, 3, 3}}, {"bn1.weight", Shape{3}}, {"bn1.bias", Shape{3}},
                         {"conv2.weight", Shape{3, 3, 3, 3}}, {"bn2.weight", Shape{3}}, {"bn2.bias", Shape{3}},
                         {"downsample.0.weight", Shape{3, 2, 1, 1}}, {"downsample.1.weight", Shape{3}},
                         {"downsample.1.bias", Shape{3}}}));
  encoders::BasicBlock<double> same({.in_channels = 3, .out_channels = 3, .stride = 1}, rng);
  EXPECT_EQ(same.named_parameters().size(), 6u);  // identity shortcut: no downsample
  for (auto* block : {&down, &same})
    for (auto& [name, p] : block->named_parameters())
      if (name.find("bn") != std::string::npos || name.find("downsample.1") == 0)
        random_tensor<double>(p.shape(), 17, -0.5, 1.5).copy_to(p.value());

  Var<double> x = random_param({2, 2, 5, 5}, 18);
  EXPECT_EQ(down.forward(x).shape(), (Shape{2, 3, 3, 3}));
  std::vector<Var<double>> inputs{x};
  for (const Var<double>& p : down.parameters()) inputs.push_back(p);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return down.forward(in[0]); }, inputs));

  Var<double> z = random_param({2, 3, 4, 4}, 19);
  std::vector<Var<double>> inputs2{z};
  for (const Var<double>& p : same.parameters()) inputs2.push_back(p);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return same.forward(in[0]); }, inputs2));
  // The identity shortcut adds x itself: with conv2's weight zeroed, y = relu(bn2 bias + x) exactly.
  same.parameter("conv2.weight").value().fill(0.0);
  Var<double> y = same.forward(z);
  Tensor<double> beta = same.parameter("bn2.bias").value();
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c)
      for (Index k = 0; k < 16; ++k) {
        double want = std::max(0.0, z.value().data()[(n * 3 + c) * 16 + k] + beta.data()[c]);
        EXPECT_NEAR(y.value().data()[(n * 3 + c) * 16 + k], want, 1e-12);
      }
}

TEST(ResNet18, Errors) {
  Rng rng(11);
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { encoders::ResNet18<float>({.in_channels = 0, .stem = encoders::ResNetStem::small_image}, rng); },
      {"ResNet18", "in_channels 0"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { encoders::BasicBlock<float>({.in_channels = 4, .out_channels = 4, .stride = 3}, rng); },
      {"BasicBlock", "stride 3"}));
  encoders::BasicBlock<float> block({.in_channels = 4, .out_channels = 8, .stride = 2}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { block.forward(Var<float>(Tensor<float>::zeros({2, 3, 8, 8}))); },
                                      {"BasicBlock", "[2, 3, 8, 8]", "[N, 4, H, W]"}));
}

}  // namespace
