#pragma once
/// \file
/// Channel-blocked activations: the layout oneDNN's convolution kernels work in (nChw16c on AVX-512,
/// nChw8c on AVX2). A tensor x [N, C, H, W] is held as [N, C / B, H, W, B], the B channels of a block
/// side by side at every position:
///
///   blocked[n, cb, h, w, l] = x[n, cb B + l, h, w].
///
/// A network that keeps its activations blocked from its first convolution to its last pool converts
/// layouts twice per step instead of around every convolution, and its batch-norm, ReLU and pooling
/// passes run over B channels at once (one vector register for B = 16 in float). The ops that read and
/// write this layout: `conv2d_blocked` (ops/conv.hpp), `batch_norm`, `batch_norm_relu` and
/// `batch_norm_relu_max_pool2d` (ops/batch_norm.hpp) with `BatchNormOptions::blocked`, and
/// `conv2d_batch_norm_relu_max_pool2d` (ops/conv_batch_norm.hpp, writes it); `SmallConvNet` and `ResNet` use it
/// where oneDNN runs their float convolutions. Everything else takes NCHW: `from_blocked` converts back.

#include <algorithm>
#include <type_traits>

#include "simile/autograd/var.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/detail/conv_onednn.hpp"
#include "simile/ops/unary.hpp"  // detail::elementwise_grain

namespace simile {

/// The channel block B of the blocked layout `conv2d_blocked` uses for T on this machine: oneDNN's choice
/// for float activations (16 with AVX-512, 8 with AVX2); 0 when there is none (double, a build without
/// oneDNN, or a CPU where oneDNN prefers plain activations), and then the blocked ops cannot run.
template <Real T>
Index channel_block() {
#if defined(SIMILE_WITH_ONEDNN)
  if constexpr (std::is_same_v<T, float>) return detail::conv_onednn::activation_block();
#endif
  return 0;
}

namespace detail {
/// [N, C, H, W] for a blocked [N, C / B, H, W, B]; other shapes unchanged.
inline Shape unblocked_shape(const Shape& s) {
  return s.rank() == 5 ? Shape{s[0], s[1] * s[4], s[2], s[3]} : s;
}

/// Copies between NCHW [N, C, S] and blocked [N, C / B, S, B]; `to_blocked` picks the direction. With
/// `accumulate` it adds into the destination. Parallel over (n, channel block).
template <Real T>
void reblock(const T* from, T* to, Index n, Index c, Index s, Index b, bool to_blocked, bool accumulate) {
  const Index blocks = c / b;
  parallel_for(0, n * blocks, std::max<Index>(1, elementwise_grain / std::max<Index>(s * b, 1)), [&](Index p0, Index p1) {
    for (Index p = p0; p < p1; ++p) {
      const Index off = p * s * b;  // the same offset in both layouts: [n, cb] then s b values
      for (Index k = 0; k < s; ++k)
        for (Index l = 0; l < b; ++l) {
          const Index plain = off + l * s + k, block = off + k * b + l;
          T& dst = to_blocked ? to[block] : to[plain];
          const T v = to_blocked ? from[plain] : from[block];
          dst = accumulate ? dst + v : v;
        }
    }
  });
}
}  // namespace detail

/// x [N, C, H, W] -> [N, C / block, H, W, block] (see the file comment); backward converts dy back.
/// Throws ShapeError when x is not 4-D or C is not a multiple of block, ValueError for block < 1.
template <Real T>
Var<T> to_blocked(const Var<T>& x, Index block) {
  const Shape& s = x.shape();
  check<ValueError>(block >= 1, "to_blocked: block ", block, " must be at least 1");
  check<ShapeError>(s.rank() == 4 && s[1] % block == 0, "to_blocked: x of shape ", s,
                    " is not [N, C, H, W] with C a multiple of the block ", block);
  Tensor<T> y = Tensor<T>::empty({s[0], s[1] / block, s[2], s[3], block});
  detail::reblock(x.value().data(), y.data(), s[0], s[1], s[2] * s[3], block, true, false);
  return make_op<T>("to_blocked", std::move(y), {x}, [s, block](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (gx) detail::reblock(self.grad.data(), gx.data, s[0], s[1], s[2] * s[3], block, false, !gx.assign);
  });
}

/// Blocked x [N, C / B, H, W, B] -> NCHW [N, C, H, W]; backward converts dy to blocked. Throws
/// ShapeError when x is not 5-D.
template <Real T>
Var<T> from_blocked(const Var<T>& x) {
  const Shape& s = x.shape();
  check<ShapeError>(s.rank() == 5 && s[4] >= 1, "from_blocked: x of shape ", s, " is not blocked [N, C / B, H, W, B]");
  const Index n = s[0], c = s[1] * s[4], hw = s[2] * s[3], b = s[4];
  Tensor<T> y = Tensor<T>::empty({n, c, s[2], s[3]});
  detail::reblock(x.value().data(), y.data(), n, c, hw, b, false, false);
  return make_op<T>("from_blocked", std::move(y), {x}, [n, c, hw, b](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (gx) detail::reblock(self.grad.data(), gx.data, n, c, hw, b, true, !gx.assign);
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_BLOCKED(P, T)                    \
  P template Index channel_block<T>();                        \
  P template Var<T> to_blocked<T>(const Var<T>& x, Index block); \
  P template Var<T> from_blocked<T>(const Var<T>& x);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_BLOCKED)

}  // namespace simile
