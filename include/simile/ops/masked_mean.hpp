#pragma once
/// \file
/// Mean over the real (unpadded) positions of a batch of sequences: the mean pooling that turns a text
/// encoder's token states [B, L, D] into one embedding per sequence (Sentence-BERT's pooling, SimCSE's
/// "avg"), ignoring padding.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {
/// Checks that `mask` holds only 0 and 1, naming `op` and the first other value and its position [b, l].
inline void check_binary_mask(const char* op, const char* what, const Tensor<std::uint8_t>& mask) {
  const std::uint8_t* pm = mask.data();
  const Index L = mask.rank() == 2 ? mask.dim(1) : 1;
  for (Index p = 0; p < mask.numel(); ++p)
    if (pm[p] > 1) [[unlikely]]
      check<ValueError>(false, op, ": ", what, " value ", static_cast<int>(pm[p]), " at [", p / L, ", ", p % L,
                        "], expected 0 (padding) or 1");
}
}  // namespace detail

/// Mean of x [B, L, D] over the positions l with mask[b, l] = 1, for each sequence b, shape [B, D]:
///   y[b, :] = (1 / n_b) sum_l mask[b, l] x[b, l, :],  n_b = sum_l mask[b, l].
/// `mask` [B, L] holds 1 for a real token and 0 for padding. A sequence with no real token (n_b = 0)
/// gives a zero row and passes no gradient, never NaN. Backward: dx[b, l, :] = mask[b, l] dy[b, :] / n_b
/// (accumulated into x's gradient). Sums run in position order: the result does not depend on the thread
/// count. Throws ShapeError when x is not 3-D or mask is not [B, L]; ValueError for a mask value other
/// than 0 or 1.
template <Real T>
Var<T> masked_mean(const Var<T>& x, const Tensor<std::uint8_t>& mask) {
  check<ShapeError>(x.shape().rank() == 3, "masked_mean: expected x of shape [B, L, D], got ", x.shape());
  const Index B = x.dim(0), L = x.dim(1), D = x.dim(2);
  check<ShapeError>(mask.defined() && mask.shape() == Shape{B, L}, "masked_mean: mask of shape ",
                    mask.defined() ? mask.shape() : Shape{}, " for x of shape ", x.shape(), " (expected [", B, ", ", L,
                    "])");
  detail::check_binary_mask("masked_mean", "mask", mask);

  // 1 / n_b per sequence, 0 for an empty one (its output and gradient are then zero).
  Tensor<T> inv_count = Tensor<T>::empty({B});
  const std::uint8_t* pmask = mask.data();
  for (Index b = 0; b < B; ++b) {
    Index n = 0;
    for (Index l = 0; l < L; ++l) n += pmask[b * L + l];
    inv_count.data()[b] = n ? T(1) / T(n) : T(0);
  }
  Tensor<T> y = Tensor<T>::empty({B, D});
  const T* px = x.value().data();
  const T* pic = inv_count.data();
  T* py = y.data();
  const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(L * D, 1));
  parallel_for(0, B, grain, [&](Index bb, Index be) {
    for (Index b = bb; b < be; ++b) {
      T* yr = py + b * D;
      std::fill(yr, yr + D, T(0));
      for (Index l = 0; l < L; ++l)
        if (pmask[b * L + l]) {
          const T* xr = px + (b * L + l) * D;
          for (Index k = 0; k < D; ++k) yr[k] += xr[k];
        }
      for (Index k = 0; k < D; ++k) yr[k] *= pic[b];
    }
  });

  return make_op<T>("masked_mean", std::move(y), {x}, [mask = mask.clone(), inv_count, B, L, D, grain](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (!gx) return;
    const std::uint8_t* pmask = mask.data();
    const T* pic = inv_count.data();
    const T* pg = self.grad.data();
    parallel_for(0, B, grain, [&](Index bb, Index be) {
      for (Index b = bb; b < be; ++b) {
        const T* gr = pg + b * D;
        for (Index l = 0; l < L; ++l) {
          // A padded position, or any position of an empty sequence (1 / n_b = 0), gets exactly 0, even
          // under an infinite dy.
          const T f = pic[b];
          T* d = gx.data + (b * L + l) * D;
          if (pmask[b * L + l] && f != T(0))
            write_grad(d, D, gx.assign, [=](Index k) { return gr[k] * f; });
          else
            write_grad(d, D, gx.assign, [](Index) { return T(0); });
        }
      }
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_MASKED_MEAN(P, T) \
  P template Var<T> masked_mean<T>(const Var<T>& x, const Tensor<std::uint8_t>& mask);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_MASKED_MEAN)

}  // namespace simile
