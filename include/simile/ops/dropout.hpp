#pragma once
/// \file
/// Inverted dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural Networks from
/// Overfitting"), as PyTorch's `F.dropout`: during training each element is zeroed with probability p and
/// the kept ones are scaled by 1 / (1 - p), so the expectation is unchanged and evaluation is the identity.
///
/// Determinism: the mask comes from the caller's `Rng`, which advances by exactly one draw per call
/// (the key of the call). The elements are cut into fixed blocks of `dropout_block` whatever the thread
/// count, block b drawing from the child stream `split(b)` of that key, so the same Rng state gives the
/// same mask with 1 thread or 64.

#include <cmath>
#include <cstdint>

#include "simile/core/instantiate.hpp"
#include "simile/ops/unary.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/ops/unary.hpp"  // detail::elementwise_grain

namespace simile {

namespace detail {
/// Elements per random block (and the unit of parallel work) of `dropout`.
inline constexpr Index dropout_block = 1 << 14;
}  // namespace detail

/// Inverted dropout of x (any shape), same shape:
///   y = x * m / (1 - p),  m ~ Bernoulli(1 - p) independently per element,
/// with m drawn from `rng` (which advances by one draw). Backward: dx = dy * m / (1 - p), so no gradient
/// reaches a dropped element. When `training` is false or p = 0 it returns x itself and leaves `rng`
/// untouched. Throws ValueError unless 0 <= p < 1.
template <Real T>
Var<T> dropout(const Var<T>& x, double p, bool training, Rng& rng) {
  check<ValueError>(p >= 0 && p < 1, "dropout: p ", p, " must be in [0, 1)");
  if (!training || p == 0) return x;
  const Rng key = Rng(RngState{rng.next_u64(), 0});
  const Index n = x.numel();
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  // Keep an element when its 53-bit uniform draw u satisfies u >= p, exactly as Rng::uniform() >= p.
  const auto threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1.0p53));
  Tensor<T> y = Tensor<T>::empty(x.shape());
  Tensor<std::uint8_t> mask = Tensor<std::uint8_t>::empty(x.shape());
  const T* px = x.value().data();
  T* py = y.data();
  std::uint8_t* pm = mask.data();
  const Index blocks = (n + detail::dropout_block - 1) / detail::dropout_block;
  parallel_for(0, blocks, 1, [&](Index b, Index e) {
    for (Index blk = b; blk < e; ++blk) {
      Rng r = key.split(static_cast<std::uint64_t>(blk));
      const Index i0 = blk * detail::dropout_block, i1 = std::min(n, i0 + detail::dropout_block);
      for (Index i = i0; i < i1; ++i) {
        bool keep = (r.next_u64() >> 11) >= threshold;
        pm[i] = keep;
        py[i] = keep ? px[i] * scale : T(0);
      }
    }
  });
  return make_op<T>("dropout", std::move(y), {x}, [mask, scale, n](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    const T* pg = self.grad.data();
    const std::uint8_t* pm = mask.data();
    T* pd = gx->data();
    parallel_for(0, n, detail::elementwise_grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) pd[i] += pm[i] ? pg[i] * scale : T(0);
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_DROPOUT(P, T) \
  P template Var<T> dropout<T>(const Var<T>& x, double p, bool training, Rng& rng);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_DROPOUT)

}  // namespace simile
