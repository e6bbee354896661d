#pragma once
/// \file
/// Row normalization and cosine similarity, the geometry of contrastive heads: SimCLR's NT-Xent and
/// MoCo's InfoNCE compare L2-normalized embeddings, BYOL's loss is a negative cosine.
///
/// `l2_normalize` has its own backward (one pass per row from the kept norms); `cosine_similarity_matrix`
/// composes it with the GEMM of `matmul`, so a batch of N x M similarities costs one matrix product.

#include <algorithm>
#include <cmath>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/matmul.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

/// Each row of x [N, D] divided by its Euclidean norm, clamped below by eps (PyTorch's
/// `F.normalize(x, p=2, dim=1, eps)`), shape [N, D]:
///   y_i = x_i / max(||x_i||, eps).
/// Backward, for a row with ||x_i|| > eps: dx_i = (dy_i - y_i <dy_i, y_i>) / ||x_i|| (the gradient is
/// orthogonal to y_i: scaling a row does not change its direction); for a clamped row
/// (||x_i|| <= eps, a zero row included): dx_i = dy_i / eps. A zero row gives a zero output, never NaN.
/// Requires x 2-D (ShapeError) and eps > 0 (ValueError).
template <Real T>
Var<T> l2_normalize(const Var<T>& x, T eps = T(1e-12)) {
  check<ShapeError>(x.shape().rank() == 2, "l2_normalize: expected x of shape [N, D], got ", x.shape());
  check<ValueError>(eps > 0, "l2_normalize: eps ", eps, " must be positive");
  const Index N = x.dim(0), D = x.dim(1);
  const Tensor<T>& xv = x.value();
  Tensor<T> y = Tensor<T>::empty(xv.shape());
  Tensor<T> norms = Tensor<T>::empty({N});
  const T* px = xv.data();
  T* py = y.data();
  T* pn = norms.data();
  const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(D, 1));
  parallel_for(0, N, grain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const T* xr = px + i * D;
      T* yr = py + i * D;
      T ss = 0;
      for (Index k = 0; k < D; ++k) ss += xr[k] * xr[k];
      T n = std::sqrt(ss);
      pn[i] = n;
      T r = T(1) / std::max(n, eps);
      for (Index k = 0; k < D; ++k) yr[k] = xr[k] * r;
    }
  });
  return make_op<T>("l2_normalize", std::move(y), {x}, [norms, eps, N, D, grain](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    const T* py = self.value.data();
    const T* pg = self.grad.data();
    const T* pn = norms.data();
    T* pd = gx->data();
    parallel_for(0, N, grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        const T* yr = py + i * D;
        const T* gr = pg + i * D;
        T* dr = pd + i * D;
        if (pn[i] > eps) {
          T dot = 0;
          for (Index k = 0; k < D; ++k) dot += gr[k] * yr[k];
          T r = T(1) / pn[i];
          for (Index k = 0; k < D; ++k) dr[k] += (gr[k] - yr[k] * dot) * r;
        } else {
          // The divisor is the constant eps here, so the map is linear.
          T r = T(1) / eps;
          for (Index k = 0; k < D; ++k) dr[k] += gr[k] * r;
        }
      }
    });
  });
}

/// Cosine similarities of every row of a [N, D] with every row of b [M, D], shape [N, M]:
///   S = l2_normalize(a, eps) l2_normalize(b, eps)^T,  S_ij = <a_i, b_j> / (max(||a_i||, eps) max(||b_j||, eps)),
/// computed as one GEMM. Entries lie in [-1, 1]; a row against itself gives 1 (0 for a zero row).
/// Passing the same Var as a and b (SimCLR's similarity of a batch with itself) is fine: both paths
/// accumulate into its gradient. Throws ShapeError when a or b is not 2-D or their D differ.
template <Real T>
Var<T> cosine_similarity_matrix(const Var<T>& a, const Var<T>& b, T eps = T(1e-12)) {
  check<ShapeError>(a.shape().rank() == 2 && b.shape().rank() == 2,
                    "cosine_similarity_matrix: expected a [N, D] and b [M, D], got ", a.shape(), " and ", b.shape());
  check<ShapeError>(a.dim(1) == b.dim(1), "cosine_similarity_matrix: a ", a.shape(), " and b ", b.shape(),
                    " have different row lengths ", a.dim(1), " and ", b.dim(1));
  Var<T> na = l2_normalize(a, eps);
  Var<T> nb = a.node() == b.node() ? na : l2_normalize(b, eps);
  return matmul(na, nb, false, true);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_NORMALIZE(P, T) \
  P template Var<T> l2_normalize<T>(const Var<T>& x, T eps); \
  P template Var<T> cosine_similarity_matrix<T>(const Var<T>& a, const Var<T>& b, T eps);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_NORMALIZE)

}  // namespace simile
