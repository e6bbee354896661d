#pragma once
/// \file
/// `Conv2d`: the 2-D convolution layer over NCHW tensors, PyTorch's `nn.Conv2d` (square kernel, no
/// dilation, no groups) with the same parameter names, shapes and default initialization.

#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/conv.hpp"

namespace simile::nn {

/// Configuration of a `Conv2d` layer.
struct Conv2dOptions {
  Index in_channels = 0;   ///< C_in (> 0)
  Index out_channels = 0;  ///< C_out (> 0)
  Index kernel_size = 1;   ///< k: the window is k x k (> 0)
  Index stride = 1;        ///< step of the window on both axes (> 0)
  Index padding = 0;       ///< zeros added on each side of both axes (>= 0)
  bool bias = true;        ///< add a learned bias per output channel
  std::optional<ConvBackend> backend{};  ///< unset: the process-wide `conv_backend()`
};

/// y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] x[n, c, i s - p + u, j s - p + v]  (see `conv2d`).
/// - Parameters: `weight` [out_channels, in_channels, k, k], `bias` [out_channels] (when `bias`).
/// - Input [N, in_channels, H, W], output [N, out_channels, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1].
/// - Initialization (PyTorch's default): W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
///   fan_in = in_channels k^2. ResNets usually re-initialize W with `init::kaiming_normal`.
template <Real T>
class Conv2d : public Cloneable<Conv2d<T>, T> {
 public:
  /// Registers and initializes the parameters from `rng` (weight first, then bias).
  Conv2d(const Conv2dOptions& options, Rng& rng) : options_(options) {
    const Conv2dOptions& o = options;
    check(o.in_channels > 0 && o.out_channels > 0, "Conv2d: in_channels ", o.in_channels, " and out_channels ",
          o.out_channels, " must be positive");
    check(o.kernel_size > 0 && o.stride > 0 && o.padding >= 0, "Conv2d: kernel_size ", o.kernel_size, " and stride ",
          o.stride, " must be positive, padding ", o.padding, " non-negative");
    weight_ = this->register_parameter(
        "weight", Tensor<T>::empty({o.out_channels, o.in_channels, o.kernel_size, o.kernel_size}));
    if (o.bias) bias_ = this->register_parameter("bias", Tensor<T>::empty({o.out_channels}));
    init::default_layer_init(weight().value(), o.bias ? bias().value() : Tensor<T>(), rng);
  }

  /// x [N, in_channels, H, W]; a channel-blocked x (rank 5) goes through `forward_blocked`.
  Var<T> forward(const Var<T>& x) override {
    if (x.shape().rank() == 5) return forward_blocked(x);
    check<ShapeError>(x.shape().rank() == 4 && x.shape()[1] == options_.in_channels, "Conv2d: input of shape ",
                      x.shape(), " is not [N, ", options_.in_channels, ", H, W]");
    return conv2d(x, weight(), bias_ ? this->get(*bias_) : Var<T>(), op_options());
  }

  /// The same layer through `conv2d_blocked`: x NCHW or channel-blocked [N, in_channels / B, H, W, B],
  /// output blocked [N, out_channels / B, H', W', B] (`ops/blocked.hpp`); oneDNN and float only.
  Var<T> forward_blocked(const Var<T>& x) {
    const Shape plain = simile::detail::unblocked_shape(x.shape());
    check<ShapeError>(plain.rank() == 4 && plain[1] == options_.in_channels, "Conv2d: input of shape ", x.shape(),
                      " is not [N, ", options_.in_channels, ", H, W] nor its blocked form");
    return conv2d_blocked(x, weight(), bias_ ? this->get(*bias_) : Var<T>(), op_options());
  }
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override {
    const Conv2dOptions& o = options_;
    std::string padding = o.padding ? simile::detail::str(", padding=(", o.padding, ", ", o.padding, ")") : "";
    return simile::detail::str(o.in_channels, ", ", o.out_channels, ", kernel_size=(", o.kernel_size, ", ",
                               o.kernel_size, "), stride=(", o.stride, ", ", o.stride, ")", padding,
                               o.bias ? "" : ", bias=false");
  }

  /// The options it was built with.
  const Conv2dOptions& options() const { return options_; }
  /// The kernel [out_channels, in_channels, kernel_size, kernel_size].
  const Var<T>& weight() const { return this->get(weight_); }
  /// The bias; requires `options().bias`.
  const Var<T>& bias() const {
    check(bias_.has_value(), "Conv2d::bias: this layer was built without a bias");
    return this->get(*bias_);
  }
  /// The options of the `conv2d` op this layer runs: its stride and padding, and its backend if set.
  simile::Conv2dOptions op_options() const {
    simile::Conv2dOptions op(options_.stride, options_.padding);
    op.backend = options_.backend;
    return op;
  }

 private:
  Conv2dOptions options_;
  ParameterId weight_;
  std::optional<ParameterId> bias_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_CONV2D(P, T) \
  P template class Conv2d<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_CONV2D)

}  // namespace simile::nn
