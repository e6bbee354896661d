#pragma once
/// \file
/// Entry points of the oneDNN conv2d backend (users include `simile/ops/conv.hpp`), float only, present
/// when simile was built with oneDNN (SIMILE_WITH_ONEDNN). The primitives, their cache and `<dnnl.hpp>`
/// live in `conv_onednn_primitives.hpp`, which only the compiled part includes: oneDNN is a private
/// dependency of simile. The definitions are in `conv_onednn-inl.hpp`.

#if defined(SIMILE_WITH_ONEDNN)

#include <atomic>
#include <memory>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/ops/conv_algorithm.hpp"
#include "simile/ops/detail/conv_eigen.hpp"

namespace simile::detail::conv_onednn {

/// How the primitives see activations and weights: `blocked` lets oneDNN choose (nChw16c on AVX-512)
/// and reorders NCHW in and out on each call; `nchw` and `nhwc` force plain activations. See
/// `conv_onednn_primitives.hpp` for the measurements behind the default, blocked.
enum class Layout { blocked, nchw, nhwc };

/// The layout new primitives use; a knob for the benchmark's layout comparison.
std::atomic<Layout>& layout_setting();

/// True when oneDNN's CPU dispatch reaches avx512_core_bf16 (native bfloat16 dot products) or beyond.
bool bf16_supported();

/// The instruction set oneDNN dispatches to, e.g. "avx512_core_bf16" (for messages).
std::string cpu_isa_name();

/// The channel block of oneDNN's preferred layout for float activations on this CPU: 16 when it is
/// nChw16c (AVX-512), 8 for nChw8c (AVX2), 0 when it prefers a plain layout. Asked once, of a probe
/// convolution, and kept.
Index activation_block();

/// The layouts of the caller's activations: 0 for NCHW, else the channel block B of a blocked tensor
/// [N, C/B, H, W, B] (oneDNN's nChw{B}c), for the input x (and dx) and the output y (and dy).
struct UserLayout {
  Index src_block = 0, dst_block = 0;
  friend bool operator==(const UserLayout&, const UserLayout&) = default;
};

/// What the backward pass needs from the forward (the input and weights in the primitives' layouts).
struct Saved;

/// A fresh, empty `Saved`.
std::shared_ptr<Saved> make_saved();

/// y = conv(x, w) + b, x and y in the layouts of `user` (NCHW y [N, O, OH, OW] or blocked
/// [N, O/B, OH, OW, B]); b may be undefined. With `bf16` the products run in bfloat16 with float
/// accumulation (when the shape has a native kernel; else in float), x, w, b and y stay float; `algorithm`
/// as `ops/conv_algorithm.hpp` says. Fills `saved` for the backward pass, which then uses the same
/// precision, algorithm and layouts. `weight_grad` says that a backward pass will want dw: in bfloat16 the
/// forward then also keeps x in the layout of simile's weight-gradient kernel, made in the same pass as
/// the primitive's copy (false saves that pass, e.g. under NoGradGuard; the backward still works).
/// oneDNN errors become `simile::Error` naming conv2d and the shapes.
Tensor<float> forward(const ConvGeometry& g, const Tensor<float>& x, const Tensor<float>& w, const Tensor<float>& b,
                      bool bf16, ConvAlgorithm algorithm, const UserLayout& user, Saved& saved,
                      bool weight_grad = true);

/// The names of oneDNN's implementations of the forward's plan for its forward, backward-data and
/// backward-weights passes, e.g. "jit_wino_4x3:avx512_core / ... / jit:avx512_core" ("" before any
/// forward): which algorithm and instruction set each pass runs, for tests and diagnostics.
std::string implementations(const Saved& saved);

/// True when the forward of `saved` ran in bfloat16 (false before any forward, or when the shape fell
/// back to float).
bool ran_bf16(const Saved& saved);

/// Accumulates the gradients: dx += conv^T(dy, w) (dx = when `dx_assign`), dw += dconv/dw, db += sum dy;
/// each pointer may be null (that gradient is not wanted). dy and dx are in the forward's user layouts.
void backward(const ConvGeometry& g, const Saved& saved, const Tensor<float>& dy, float* dx, bool dx_assign,
              float* dw, float* db);

}  // namespace simile::detail::conv_onednn

#if defined(SIMILE_HEADER_ONLY)
#include "simile/ops/detail/conv_onednn-inl.hpp"
#endif

#endif  // SIMILE_WITH_ONEDNN
