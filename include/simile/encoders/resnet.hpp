#pragma once
/// \file
/// ResNet-18 (He, Zhang, Ren, Sun 2016, "Deep Residual Learning for Image Recognition") as the encoder of
/// SimCLR, MoCo and BYOL: torchvision's `resnet18` without its `fc` (the encoder returns the 512-d pooled
/// features h), with the small-image stem that SimCLR uses on CIFAR (Chen et al. 2020, appendix B.9: a 3x3
/// stride-1 first convolution and no max pool) or torchvision's ImageNet stem. Module and parameter names are
/// torchvision's, so a state dict moves between the two with the `fc.` keys left out.

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/conv2d.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/module.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/blocked.hpp"
#include "simile/ops/pool.hpp"
#include "simile/ops/shape.hpp"
#include "simile/ops/unary.hpp"

namespace simile::encoders {

/// Configuration of a `BasicBlock`.
struct BasicBlockOptions {
  Index in_channels = 0;   ///< C_in (> 0)
  Index out_channels = 0;  ///< C_out (> 0)
  Index stride = 1;        ///< of conv1 and of the shortcut (1 or 2)
};

namespace detail {
/// A bias-free conv with torchvision's ResNet initialization: kaiming_normal, fan_out, relu gain.
template <Real T>
std::shared_ptr<nn::Conv2d<T>> resnet_conv(Index in, Index out, Index kernel, Index stride, Rng& rng) {
  auto conv = std::make_shared<nn::Conv2d<T>>(nn::Conv2dOptions{.in_channels = in,
                                                                 .out_channels = out,
                                                                 .kernel_size = kernel,
                                                                 .stride = stride,
                                                                 .padding = kernel / 2,
                                                                 .bias = false,
                                                                 .backend = std::nullopt},
                                               rng);
  nn::init::kaiming_normal(conv->weight().value(), rng);
  return conv;
}
template <Real T>
std::shared_ptr<nn::BatchNorm2d<T>> resnet_bn(Index channels) {
  nn::BatchNormOptions o;
  o.num_features = channels;
  return std::make_shared<nn::BatchNorm2d<T>>(o);
}
}  // namespace detail

/// torchvision's `BasicBlock`: two 3x3 convolutions with a residual connection,
///   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
/// shortcut(x) = x, or `downsample` = Sequential(conv 1x1 stride s, BatchNorm2d) when the stride is not 1 or
/// the channel count changes. x [N, C_in, H, W] -> y [N, C_out, ceil(H / s), ceil(W / s)]; a channel-blocked
/// x (`ops/blocked.hpp`) gives a blocked y (every op of the block takes that layout).
/// Names: `conv1.weight` [C_out, C_in, 3, 3], `bn1.*`, `conv2.weight` [C_out, C_out, 3, 3], `bn2.*`, and
/// `downsample.0.weight` [C_out, C_in, 1, 1], `downsample.1.*` when present.
template <Real T>
class BasicBlock : public nn::Cloneable<BasicBlock<T>, T> {
 public:
  /// Convolution weights drawn from `rng` (kaiming_normal, fan_out) in the order conv1, conv2, downsample.
  BasicBlock(const BasicBlockOptions& options, Rng& rng) : options_(options) {
    const BasicBlockOptions& o = options;
    check(o.in_channels > 0 && o.out_channels > 0, "BasicBlock: in_channels ", o.in_channels, " and out_channels ",
          o.out_channels, " must be positive");
    check(o.stride == 1 || o.stride == 2, "BasicBlock: stride ", o.stride, " must be 1 or 2");
    conv1_ = this->register_module("conv1", detail::resnet_conv<T>(o.in_channels, o.out_channels, 3, o.stride, rng));
    bn1_ = this->register_module("bn1", detail::resnet_bn<T>(o.out_channels));
    conv2_ = this->register_module("conv2", detail::resnet_conv<T>(o.out_channels, o.out_channels, 3, 1, rng));
    bn2_ = this->register_module("bn2", detail::resnet_bn<T>(o.out_channels));
    if (o.stride != 1 || o.in_channels != o.out_channels) {
      auto ds = std::make_shared<nn::Sequential<T>>();
      ds->push_back(detail::resnet_conv<T>(o.in_channels, o.out_channels, 1, o.stride, rng));
      ds->push_back(detail::resnet_bn<T>(o.out_channels));
      downsample_ = this->register_module("downsample", ds);
    }
  }

  Var<T> forward(const Var<T>& x) override {
    const Shape s = simile::detail::unblocked_shape(x.shape());
    check<ShapeError>(s.rank() == 4 && s[1] == options_.in_channels, "BasicBlock: input of shape ", x.shape(),
                      " is not [N, ", options_.in_channels, ", H, W] nor its blocked form");
    Var<T> y = this->get(bn1_).forward_relu(this->get(conv1_).forward(x));
    y = this->get(bn2_).forward(this->get(conv2_).forward(y));
    return relu(add(y, downsample_ ? this->get(*downsample_).forward(x) : x));
  }

  std::string type_name() const override { return "BasicBlock"; }
  /// The options it was built with.
  const BasicBlockOptions& options() const { return options_; }

 private:
  BasicBlockOptions options_;
  nn::ChildId<nn::Conv2d<T>> conv1_, conv2_;
  nn::ChildId<nn::BatchNorm2d<T>> bn1_, bn2_;
  std::optional<nn::ChildId<nn::Sequential<T>>> downsample_;
};

/// The first layers of a ResNet.
enum class ResNetStem {
  small_image,  ///< conv 3x3 stride 1 padding 1, bn, relu (SimCLR on CIFAR: keeps 32x32 resolution)
  imagenet,     ///< torchvision's: conv 7x7 stride 2 padding 3, bn, relu, max pool 3x3 stride 2 padding 1
};

/// Configuration of a `ResNet18`.
struct ResNet18Options {
  Index in_channels = 3;                   ///< image channels (> 0)
  ResNetStem stem = ResNetStem::small_image;  ///< the first layers: small images or ImageNet's
  /// Keep the activations channel-blocked (`ops/blocked.hpp`) from conv1 to the pool where that can run
  /// (see `ResNet18::runs_blocked`); the same function, values equal to the NCHW path's up to float
  /// rounding. false: NCHW throughout.
  bool blocked = true;
};

/// ResNet-18 encoder: stem (conv1, bn1, relu [, maxpool]), then layer1..layer4, each two `BasicBlock`s with
/// 64, 128, 256, 512 channels (layer2..4 start with stride 2 and a downsample shortcut), then a global average
/// pool: x [N, C_in, H, W] -> h [N, 512]. No fc.
/// Names as torchvision's `resnet18()`: `conv1.weight` [64, C_in, 3, 3] (7x7 for the ImageNet stem), `bn1.*`,
/// `layer1.0.conv1.weight`, ..., `layer2.0.downsample.0.weight` [128, 64, 1, 1], `layer2.0.downsample.1.*`, ...,
/// `layer4.1.bn2.*`; 11,168,832 parameters with the small-image stem and 3 channels (torchvision's 11,689,512
/// less the fc's 513,000 and less 9408 - 1728 for the smaller first kernel).
/// Initialization as torchvision: convolutions kaiming_normal (fan_out, relu), BatchNorm weight 1, bias 0.
template <Real T>
class ResNet18 : public nn::Cloneable<ResNet18<T>, T> {
 public:
  /// Weights drawn from `rng` in registration order.
  ResNet18(const ResNet18Options& options, Rng& rng) : options_(options) {
    check(options.in_channels > 0, "ResNet18: in_channels ", options.in_channels, " must be positive");
    const bool small = options.stem == ResNetStem::small_image;
    auto conv1 = std::make_shared<nn::Conv2d<T>>(nn::Conv2dOptions{.in_channels = options.in_channels,
                                                                    .out_channels = 64,
                                                                    .kernel_size = small ? 3 : 7,
                                                                    .stride = small ? 1 : 2,
                                                                    .padding = small ? 1 : 3,
                                                                    .bias = false,
                                                                 .backend = std::nullopt},
                                                  rng);
    nn::init::kaiming_normal(conv1->weight().value(), rng);
    conv1_ = this->register_module("conv1", conv1);
    bn1_ = this->register_module("bn1", detail::resnet_bn<T>(64));
    const std::array<Index, 5> widths = {64, 64, 128, 256, 512};
    for (std::size_t i = 0; i < 4; ++i) {
      auto layer = std::make_shared<nn::Sequential<T>>();
      layer->push_back(std::make_shared<BasicBlock<T>>(
          BasicBlockOptions{.in_channels = widths[i], .out_channels = widths[i + 1], .stride = i == 0 ? 1 : 2}, rng));
      layer->push_back(std::make_shared<BasicBlock<T>>(
          BasicBlockOptions{.in_channels = widths[i + 1], .out_channels = widths[i + 1], .stride = 1}, rng));
      layers_[i] = this->register_module("layer" + std::to_string(i + 1), layer);
    }
  }

  /// x [N, in_channels, H, W] -> h [N, 512].
  Var<T> forward(const Var<T>& x) override {
    check<ShapeError>(x.shape().rank() == 4 && x.dim(1) == options_.in_channels, "ResNet18: input of shape ",
                      x.shape(), " is not [N, ", options_.in_channels, ", H, W]");
    const bool blocked = runs_blocked();
    Var<T> y = blocked ? this->get(conv1_).forward_blocked(x) : this->get(conv1_).forward(x);
    // The ImageNet stem's bn -> relu -> 3x3/2 max pool through one fused op.
    y = options_.stem == ResNetStem::imagenet ? this->get(bn1_).forward_relu_max_pool(y, 3, Index(2), 1)
                                              : this->get(bn1_).forward_relu(y);
    for (const auto& layer : layers_) y = this->get(layer).forward(y);
    return blocked ? flatten(from_blocked(adaptive_avg_pool2d_blocked(y, 1, 1))) : global_avg_pool2d(y);
  }

  /// True when `forward` keeps the activations channel-blocked: `options().blocked`, T float, the
  /// process-wide convolution backend resolving to oneDNN, a channel block on this CPU
  /// (`blocked_layout_available`), and no synchronized batch norm.
  bool runs_blocked() const {
    return options_.blocked && blocked_layout_available<T>({64, 128, 256, 512}) && !nn::has_synchronized_batch_norm(*this);
  }

  /// Size of the representation h: 512.
  Index output_dim() const { return 512; }

  std::string type_name() const override { return "ResNet18"; }
  std::string extra_repr() const override {
    return simile::detail::str("in_channels=", options_.in_channels,
                               ", stem=", options_.stem == ResNetStem::small_image ? "small_image" : "imagenet");
  }
  /// The options it was built with.
  const ResNet18Options& options() const { return options_; }

 private:
  ResNet18Options options_;
  nn::ChildId<nn::Conv2d<T>> conv1_;
  nn::ChildId<nn::BatchNorm2d<T>> bn1_;
  std::array<nn::ChildId<nn::Sequential<T>>, 4> layers_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_RESNET(P, T) \
  P template class BasicBlock<T>; \
  P template class ResNet18<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_RESNET)

}  // namespace simile::encoders
