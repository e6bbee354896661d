#pragma once
/// \file
/// 2-D convolution (cross-correlation, as PyTorch's `torch.nn.functional.conv2d`) on NCHW tensors, with
/// two backends behind the one op:
///
/// - `ConvBackend::eigen`: im2col lowering + Eigen GEMM, parallel over images (`detail/conv_eigen.hpp`).
///   Portable, float and double.
/// - `ConvBackend::onednn`: oneDNN 2.6 primitives, cached per shape (`detail/conv_onednn.hpp`). Float only;
///   present when simile was built with oneDNN (the macro SIMILE_WITH_ONEDNN).
/// - `ConvBackend::automatic`: oneDNN for float when it is compiled in, Eigen otherwise (always for double).
///
/// The backend of a call is its `Conv2dOptions::backend` when set, else the process-wide one
/// (`set_conv_backend`, default automatic). The backward pass uses the backend of the forward.
///
/// Precision (`ops/precision.hpp`): with `Precision::bf16` (the call's `Conv2dOptions::precision`, else
/// the process-wide `compute_precision()`) the oneDNN backend computes float convolutions in bfloat16 with
/// float accumulation; the Eigen backend and double ignore it.
///
/// Algorithm (`ops/conv_algorithm.hpp`): the oneDNN backend computes 3x3 convolutions by Winograd's
/// F(4x4, 3x3) where oneDNN expects it to be faster (`ConvAlgorithm::automatic`, the default), or always
/// directly (`ConvAlgorithm::direct`); the call's `Conv2dOptions::algorithm`, else `conv_algorithm()`.

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <optional>
#include <type_traits>

#include "simile/autograd/var.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/blocked.hpp"
#include "simile/ops/conv_algorithm.hpp"
#include "simile/ops/detail/conv_eigen.hpp"
#include "simile/ops/detail/conv_onednn.hpp"
#include "simile/ops/precision.hpp"

namespace simile {

/// Which implementation computes a convolution.
enum class ConvBackend { automatic, eigen, onednn };

/// "automatic", "eigen" or "onednn", as the command-line tool spells them.
inline const char* to_string(ConvBackend b) {
  switch (b) {
    case ConvBackend::eigen: return "eigen";
    case ConvBackend::onednn: return "onednn";
    default: return "automatic";
  }
}

/// True when simile was built with oneDNN, so `ConvBackend::onednn` can run (in float).
constexpr bool onednn_available() {
#if defined(SIMILE_WITH_ONEDNN)
  return true;
#else
  return false;
#endif
}

namespace detail {
inline std::atomic<ConvBackend>& conv_backend_setting() {
  static std::atomic<ConvBackend> b{ConvBackend::automatic};
  return b;
}
}  // namespace detail

/// The process-wide backend for convolutions whose options name none.
inline ConvBackend conv_backend() { return detail::conv_backend_setting().load(std::memory_order_relaxed); }

/// Sets the process-wide convolution backend. Requesting oneDNN in a build without it throws ValueError
/// here rather than at the first convolution.
inline void set_conv_backend(ConvBackend b) {
  check(b != ConvBackend::onednn || onednn_available(),
        "set_conv_backend: oneDNN requested but simile was built without it (SIMILE_WITH_ONEDNN undefined)");
  detail::conv_backend_setting().store(b, std::memory_order_relaxed);
}

/// Options of `conv2d`: `Conv2dOptions{stride, padding}` sets both axes; the fields set one axis;
/// chained setters read `Conv2dOptions{}.stride(2).padding(1).use_backend(ConvBackend::eigen)`.
struct Conv2dOptions {
  /// @{
  /// Step of the window along H and W, >= 1.
  Index stride_h = 1, stride_w = 1;
  /// @}
  /// @{
  /// Zeros added on both sides of H and of W, >= 0.
  Index padding_h = 0, padding_w = 0;
  /// @}
  std::optional<ConvBackend> backend;  ///< unset: the process-wide `conv_backend()`
  std::optional<Precision> precision;  ///< unset: the process-wide `compute_precision()`
  std::optional<ConvAlgorithm> algorithm;  ///< unset: the process-wide `conv_algorithm()`

  Conv2dOptions() = default;
  /// The same stride and padding on both axes: `conv2d(x, w, b, {2, 1})`.
  Conv2dOptions(Index stride, Index padding = 0)  // NOLINT: implicit, so that {stride, padding} reads well
      : stride_h(stride), stride_w(stride), padding_h(padding), padding_w(padding) {}
  /// Sets the stride of both axes; returns `*this`.
  Conv2dOptions& stride(Index s) {
    stride_h = stride_w = s;
    return *this;
  }
  /// Sets the padding of both axes; returns `*this`.
  Conv2dOptions& padding(Index p) {
    padding_h = padding_w = p;
    return *this;
  }
  /// Sets the backend of this call (overriding the process-wide one); returns `*this`.
  Conv2dOptions& use_backend(ConvBackend b) {
    backend = b;
    return *this;
  }
  /// Sets the precision of this call (overriding the process-wide one); returns `*this`. bf16 where it
  /// is not available (`bf16_available()`) makes the call throw ValueError.
  Conv2dOptions& use_precision(Precision p) {
    precision = p;
    return *this;
  }
  /// Sets the algorithm of this call (overriding the process-wide one); returns `*this`.
  Conv2dOptions& use_algorithm(ConvAlgorithm a) {
    algorithm = a;
    return *this;
  }
};

namespace detail {
/// The backend that runs a call in T: resolves automatic; throws when the request cannot run.
template <Real T>
ConvBackend resolve_conv_backend(std::optional<ConvBackend> requested) {
  ConvBackend b = requested.value_or(conv_backend());
  if (b == ConvBackend::automatic)
    return onednn_available() && std::is_same_v<T, float> ? ConvBackend::onednn : ConvBackend::eigen;
  if (b == ConvBackend::onednn) {
    check(onednn_available(),
          "conv2d: the oneDNN backend was requested but simile was built without oneDNN (SIMILE_WITH_ONEDNN)");
    check(std::is_same_v<T, float>,
          "conv2d: the oneDNN backend computes in float only; a double convolution needs ConvBackend::eigen "
          "or automatic");
  }
  return b;
}

}  // namespace detail

/// True when a network can keep its activations channel-blocked (`ops/blocked.hpp`, `conv2d_blocked`):
/// T float, the process-wide convolution backend resolving to oneDNN, a channel block B > 0 on this CPU,
/// and every count in `channels` a multiple of B.
template <Real T>
bool blocked_layout_available(std::initializer_list<Index> channels) {
  if constexpr (!std::is_same_v<T, float>) {
    return (void)channels, false;
  } else {
    const Index b = channel_block<T>();
    if (b == 0 || detail::resolve_conv_backend<T>(std::nullopt) != ConvBackend::onednn) return false;
    return std::all_of(channels.begin(), channels.end(), [b](Index c) { return c % b == 0; });
  }
}

namespace detail {
/// Checks the operands of conv2d and returns the geometry.
inline ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Shape* b, const Conv2dOptions& opt) {
  check<ShapeError>(x.rank() == 4, "conv2d: input x has shape ", x, ", expected rank 4 [N, C_in, H, W]");
  check<ShapeError>(w.rank() == 4, "conv2d: weight has shape ", w, ", expected rank 4 [C_out, C_in, kh, kw]");
  ConvGeometry g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.o = w[0], g.kh = w[2], g.kw = w[3];
  check<ShapeError>(g.o > 0 && w[1] > 0 && g.kh > 0 && g.kw > 0, "conv2d: weight ", w,
                    " has an empty dimension");
  check<ShapeError>(w[1] == g.c, "conv2d: input x ", x, " has ", g.c, " channels but weight ", w, " expects ",
                    w[1], " (C_in)");
  if (b)
    check<ShapeError>(b->rank() == 1 && (*b)[0] == g.o, "conv2d: bias has shape ", *b, ", expected [", g.o,
                      "] for weight ", w);
  g.sh = opt.stride_h, g.sw = opt.stride_w;
  g.ph = opt.padding_h, g.pw = opt.padding_w;
  check(g.sh >= 1 && g.sw >= 1, "conv2d: stride ", g.sh, "x", g.sw, " must be at least 1");
  check(g.ph >= 0 && g.pw >= 0, "conv2d: padding ", g.ph, "x", g.pw, " must not be negative");
  check<ShapeError>(g.kh <= g.h + 2 * g.ph && g.kw <= g.w + 2 * g.pw, "conv2d: kernel ", g.kh, "x", g.kw,
                    " of weight ", w, " is larger than the padded input ", g.h + 2 * g.ph, "x", g.w + 2 * g.pw,
                    " (input x ", x, ", padding ", g.ph, "x", g.pw, ")");
  g.oh = (g.h + 2 * g.ph - g.kh) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

#if defined(SIMILE_WITH_ONEDNN)
/// conv2d through oneDNN with x and y in the layouts of `user` (`g` checked by the caller).
inline Var<float> conv2d_onednn(const Var<float>& x, const Var<float>& weight, const Var<float>& bias,
                                const ConvGeometry& g, const Conv2dOptions& options,
                                const conv_onednn::UserLayout& user) {
  const Precision precision = options.precision.value_or(compute_precision());
  check(precision != Precision::bf16 || bf16_available(), "conv2d: bfloat16 requested but not available: ",
        bf16_unavailable_reason());
  auto saved = conv_onednn::make_saved();
  Tensor<float> y =
      conv_onednn::forward(g, x.value(), weight.value(), bias.defined() ? bias.value() : Tensor<float>(),
                           precision == Precision::bf16, options.algorithm.value_or(conv_algorithm()), user, *saved,
                           grad_enabled() && weight.requires_grad());
  auto back = [g, saved](Node<float>& self) {
    const auto gx = self.grad_target(0);  // written whole by a reorder: assigned when fresh
    Tensor<float>* gw = self.grad_for(1);
    Tensor<float>* gb = self.inputs.size() > 2 ? self.grad_for(2) : nullptr;
    conv_onednn::backward(g, *saved, self.grad, gx.data, gx.assign, gw ? gw->data() : nullptr,
                          gb ? gb->data() : nullptr);
  };
  if (bias.defined()) return make_op<float>("conv2d", std::move(y), {x, weight, bias}, std::move(back));
  return make_op<float>("conv2d", std::move(y), {x, weight}, std::move(back));
}
#endif
}  // namespace detail

/// 2-D convolution, PyTorch's conv2d (cross-correlation, zero padding, no dilation, no groups):
///
///   y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[n, c, i s_h - p_h + u, j s_w - p_w + v]
///
/// with x read as 0 outside [0, H) x [0, W).
/// Shapes: x [N, C_in, H, W], weight [C_out, C_in, kh, kw], bias [C_out] or an undefined Var for none;
/// y [N, C_out, H_out, W_out] with H_out = (H + 2 p_h - kh) / s_h + 1 (floor), W_out likewise.
/// Backward accumulates dx = conv_transpose(dy, w), dw = sum_n dy_n (x) x_n correlated, db = sum of dy
/// over N, H_out, W_out, into the inputs that require a gradient.
/// Requires: strides >= 1, paddings >= 0, the kernel no larger than the padded input, matching C_in;
/// throws ShapeError / ValueError naming conv2d and the shapes otherwise. Deterministic at a given thread
/// count on either backend.
template <Real T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dOptions& options = {}) {
  const Shape* bias_shape = bias.defined() ? &bias.shape() : nullptr;
  const detail::ConvGeometry g = detail::conv_geometry(x.shape(), weight.shape(), bias_shape, options);
  ConvBackend backend = detail::resolve_conv_backend<T>(options.backend);
  if (g.n == 0) backend = ConvBackend::eigen;  // nothing to compute; oneDNN rejects empty batches
  const Tensor<T> xv = x.value(), wv = weight.value();
  const Tensor<T> bv = bias.defined() ? bias.value() : Tensor<T>();

#if defined(SIMILE_WITH_ONEDNN)
  if constexpr (std::is_same_v<T, float>)
    if (backend == ConvBackend::onednn) return detail::conv2d_onednn(x, weight, bias, g, options, {});
#endif

  Tensor<T> y = Tensor<T>::empty({g.n, g.o, g.oh, g.ow});
  detail::conv_eigen::forward(g, xv.data(), wv.data(), bv.defined() ? bv.data() : nullptr, y.data());
  auto back = [g, xv, wv](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    Tensor<T>* gw = self.grad_for(1);
    Tensor<T>* gb = self.inputs.size() > 2 ? self.grad_for(2) : nullptr;
    if (gx) detail::conv_eigen::backward_data(g, self.grad.data(), wv.data(), gx->data());
    if (gw || gb)
      detail::conv_eigen::backward_weights(g, xv.data(), self.grad.data(), gw ? gw->data() : nullptr,
                                           gb ? gb->data() : nullptr);
  };
  if (bias.defined()) return make_op<T>("conv2d", std::move(y), {x, weight, bias}, std::move(back));
  return make_op<T>("conv2d", std::move(y), {x, weight}, std::move(back));
}

/// conv2d without bias.
template <Real T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Conv2dOptions& options = {}) {
  return conv2d(x, weight, Var<T>(), options);
}

/// conv2d with channel-blocked activations (`ops/blocked.hpp`), the layout oneDNN's kernels work in, so
/// that a chain of blocked layers converts nothing between them: x NCHW [N, C_in, H, W] or blocked
/// [N, C_in / B, H, W, B], y blocked [N, C_out / B, H_out, W_out, B], with B = `channel_block<float>()`.
/// The values are those of to_blocked(conv2d(x in NCHW, weight, bias, options), B), and backward gives dx
/// in x's layout. oneDNN only: throws ValueError when the call's backend does not resolve to oneDNN (T
/// double, a build without it, `ConvBackend::eigen`) or the CPU has no blocked layout (B = 0), ShapeError
/// when C_out, or the channels of a 5-D x, is not a multiple of B, or x's block is not B; else as `conv2d`.
template <Real T>
Var<T> conv2d_blocked(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dOptions& options = {}) {
  const Shape& xs = x.shape();
  const bool blocked_x = xs.rank() == 5;
  const Shape plain = detail::unblocked_shape(xs);
  const Shape* bias_shape = bias.defined() ? &bias.shape() : nullptr;
  const detail::ConvGeometry g = detail::conv_geometry(plain, weight.shape(), bias_shape, options);
  const ConvBackend backend = detail::resolve_conv_backend<T>(options.backend);
  check(backend == ConvBackend::onednn, "conv2d_blocked: blocked activations need the oneDNN backend in float (",
        to_string(ConvBackend::onednn), "), this call resolves to ", to_string(backend));
#if defined(SIMILE_WITH_ONEDNN)
  if constexpr (std::is_same_v<T, float>) {
    const Index b = detail::conv_onednn::activation_block();
    check(b > 0, "conv2d_blocked: oneDNN prefers plain activations on this CPU (", detail::conv_onednn::cpu_isa_name(),
          "): no channel block");
    check<ShapeError>(!blocked_x || xs[4] == b, "conv2d_blocked: input x ", xs, " has channel block ", xs[4],
                      ", expected ", b);
    check<ShapeError>(g.o % b == 0, "conv2d_blocked: C_out ", g.o, " of weight ", weight.shape(),
                      " is not a multiple of the channel block ", b);
    check<ShapeError>(g.n > 0, "conv2d_blocked: empty batch (x ", xs, "), which oneDNN refuses");
    return detail::conv2d_onednn(x, weight, bias, g, options, {blocked_x ? b : 0, b});
  }
#endif
  throw Error("conv2d_blocked: unreachable without oneDNN");
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_CONV(P, T) \
  P template Var<T> conv2d<T>(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dOptions& options); \
  P template Var<T> conv2d<T>(const Var<T>& x, const Var<T>& weight, const Conv2dOptions& options); \
  P template Var<T> conv2d_blocked<T>(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dOptions& options); \
  P template bool blocked_layout_available<T>(std::initializer_list<Index> channels);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_CONV)

}  // namespace simile
