#pragma once
/// \file
/// `SmallConvNet`: a three-block ConvNet for small images (Fashion-MNIST 28x28, CIFAR 32x32), the encoder of
/// the examples and of quick contrastive runs: 92,896 parameters for one input channel, a 128-d representation.

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/conv2d.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/blocked.hpp"
#include "simile/ops/pool.hpp"
#include "simile/ops/shape.hpp"

namespace simile::encoders {

/// Configuration of a `SmallConvNet`.
struct SmallConvNetOptions {
  Index in_channels = 1;                       ///< 1 for Fashion-MNIST / MNIST, 3 for CIFAR (> 0)
  std::array<Index, 3> widths = {32, 64, 128};  ///< channels of conv1..conv3 (> 0); only tests shrink them
  /// Where h is read: conv3's map averaged over a readout_grid x readout_grid grid of cells
  /// (`adaptive_avg_pool2d`), flattened channel-major. 1 (the default) is the global average, h of
  /// widths[2]; 2 keeps a coarse spatial layout (quadrants of the 7x7 map), h of 4 widths[2]. In [1, 7].
  Index readout_grid = 1;
  /// Keep the activations channel-blocked (`ops/blocked.hpp`) from conv1 to the readout where that can run
  /// (see `SmallConvNet::runs_blocked`): two layout conversions a step instead of four around each
  /// convolution, and the batch-norm passes vectorized across channels. The same function; the values
  /// differ from the NCHW path's by float rounding only. false: NCHW throughout.
  bool blocked = true;
  /// With the blocked path, run conv1 -> bn1 -> relu -> pool as one op where it applies
  /// (`conv2d_batch_norm_relu_max_pool2d`: an input requiring no gradient, in_channels <= 3, even H and W),
  /// so that conv1's full-size output is never stored. The same function to float rounding; false: conv1
  /// through `conv2d_blocked` (oneDNN) and bn1 through `batch_norm_relu_max_pool2d`.
  bool fuse_stem = true;
};

/// Three blocks conv 3x3 (padding 1, no bias) -> BatchNorm2d -> ReLU, the first two followed by a 2x2 max pool,
/// the last by a global average pool:
///
///   x [N, C_in, H, W] -> conv1 (C_in->32) bn1 relu maxpool2 -> [N, 32, H/2, W/2]
///                     -> conv2 (32->64)   bn2 relu maxpool2 -> [N, 64, H/4, W/4]
///                     -> conv3 (64->128)  bn3 relu          -> global average pool -> h [N, 128]
///
/// (with `readout_grid` g > 1 the last pool averages g x g cells instead: h [N, 128 g^2].)
/// (H/2 is floor(H / 2); H and W must be at least 4.) Parameters and buffers, with PyTorch's names and shapes
/// (the same module written with `nn.Conv2d(.., bias=False)` and `nn.BatchNorm2d` as attributes conv1, bn1,
/// conv2, bn2, conv3, bn3 loads this state dict): `conv1.weight` [32, C_in, 3, 3], `bn1.weight` [32],
/// `bn1.bias` [32], `bn1.running_mean`, `bn1.running_var` [32], `bn1.num_batches_tracked` [], and the same for
/// conv2/bn2 (64) and conv3/bn3 (128). `widths` replaces 32, 64, 128 (tests check gradients on a narrow copy
/// of the architecture). Initialization: PyTorch's defaults (convolutions U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)), BatchNorm weight 1 and bias 0). Training mode normalizes by the batch statistics and
/// updates the running ones; eval mode uses the running ones.
template <Real T>
class SmallConvNet : public nn::Cloneable<SmallConvNet<T>, T> {
 public:
  /// Registers conv1, bn1, conv2, bn2, conv3, bn3 in that order, weights drawn from `rng` in that order.
  SmallConvNet(const SmallConvNetOptions& options, Rng& rng) : options_(options) {
    check(options.in_channels > 0, "SmallConvNet: in_channels ", options.in_channels, " must be positive");
    check(options.readout_grid >= 1 && options.readout_grid <= 7, "SmallConvNet: readout_grid ", options.readout_grid,
          " is outside [1, 7]");
    const Index widths[4] = {options.in_channels, options.widths[0], options.widths[1], options.widths[2]};
    for (int i = 0; i < 3; ++i) {
      check(widths[i + 1] > 0, "SmallConvNet: width ", i, " is ", widths[i + 1], ", widths must be positive");
      nn::Conv2dOptions conv{.in_channels = widths[i], .out_channels = widths[i + 1], .kernel_size = 3,
                             .stride = 1, .padding = 1, .bias = false, .backend = std::nullopt};
      nn::BatchNormOptions bn;
      bn.num_features = widths[i + 1];
      std::string k = std::to_string(i + 1);
      conv_[i] = this->register_module("conv" + k, std::make_shared<nn::Conv2d<T>>(conv, rng));
      bn_[i] = this->register_module("bn" + k, std::make_shared<nn::BatchNorm2d<T>>(bn));
    }
  }

  /// x [N, in_channels, H, W] (H, W >= 4) -> h [N, output_dim()] (N >= 2 in training mode: batch statistics).
  Var<T> forward(const Var<T>& x) override {
    const Shape& s = x.shape();
    check<ShapeError>(s.rank() == 4 && s[1] == options_.in_channels && s[2] >= 4 && s[3] >= 4,
                      "SmallConvNet: input of shape ", s, " is not [N, ", options_.in_channels,
                      ", H, W] with H, W >= 4");
    const bool blocked = runs_blocked();
    Var<T> y = x;
    for (int i = 0; i < 3; ++i) {
      if (i == 0 && blocked && fuses_stem(x)) {
        // conv1 recomputed in every pass of bn1 instead of stored (see conv2d_batch_norm_relu_max_pool2d).
        const nn::Conv2d<T>& conv1 = this->get(conv_[0]);
        y = this->get(bn_[0]).forward_conv_relu_max_pool(x, conv1.weight(), conv1.op_options(), 2, channel_block<T>());
        continue;
      }
      y = blocked ? this->get(conv_[i]).forward_blocked(y) : this->get(conv_[i]).forward(y);
      // bn -> relu -> 2x2 max pool through one fused op: the full-size activation never goes to memory.
      y = i < 2 ? this->get(bn_[i]).forward_relu_max_pool(y, 2) : this->get(bn_[i]).forward_relu(y);
    }
    const Index g = options_.readout_grid;
    // Blocked: pooled in that layout, and only the pooled [N, C / B, g, g, B] converted back.
    if (blocked) return flatten(from_blocked(adaptive_avg_pool2d_blocked(y, g, g)));
    return g == 1 ? global_avg_pool2d(y) : flatten(adaptive_avg_pool2d(y, g, g));
  }

  /// True when `forward` keeps the activations channel-blocked: `options().blocked`, T float, the
  /// process-wide convolution backend resolving to oneDNN, a channel block on this CPU that divides every
  /// width (`blocked_layout_available`), and no synchronized batch norm.
  bool runs_blocked() const {
    const auto& w = options_.widths;
    return options_.blocked && blocked_layout_available<T>({w[0], w[1], w[2]}) && !nn::has_synchronized_batch_norm(*this);
  }

  /// True when `forward` on the blocked path runs conv1 -> bn1 -> relu -> pool as one op for input x
  /// [N, in_channels, H, W]: `options().fuse_stem`, x requiring no gradient, conv1 of at most
  /// `conv_batch_norm_max_taps` taps (C_in kh kw), and an even conv1 output (the 2x2 windows tile it).
  bool fuses_stem(const Var<T>& x) const {
    const nn::Conv2d<T>& conv1 = this->get(conv_[0]);
    const Shape& w = conv1.weight().shape();
    if (!options_.fuse_stem || x.requires_grad() || w[1] * w[2] * w[3] > conv_batch_norm_max_taps) return false;
    const simile::detail::ConvGeometry g = simile::detail::conv_geometry(x.shape(), w, nullptr, conv1.op_options());
    return g.oh % 2 == 0 && g.ow % 2 == 0;
  }

  /// Size of the representation h: widths[2] readout_grid^2 (128 by default).
  Index output_dim() const { return options_.widths[2] * options_.readout_grid * options_.readout_grid; }

  std::string type_name() const override { return "SmallConvNet"; }
  std::string extra_repr() const override {
    return simile::detail::str("in_channels=", options_.in_channels, ", widths=[", options_.widths[0], ", ",
                               options_.widths[1], ", ", options_.widths[2], "]",
                               options_.readout_grid == 1 ? "" : ", readout_grid=",
                               options_.readout_grid == 1 ? "" : std::to_string(options_.readout_grid));
  }
  /// The options it was built with.
  const SmallConvNetOptions& options() const { return options_; }

 private:
  SmallConvNetOptions options_;
  nn::ChildId<nn::Conv2d<T>> conv_[3];
  nn::ChildId<nn::BatchNorm2d<T>> bn_[3];
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_SMALL_CONVNET(P, T) \
  P template class SmallConvNet<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_SMALL_CONVNET)

}  // namespace simile::encoders
