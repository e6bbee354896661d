#pragma once
/// \file
/// Row kernels shared by the fused contrastive losses (never included by users directly):
/// row L2 normalization with its backward, and the row tiling that keeps the reductions in a fixed order.
///
/// Normalization follows `torch.nn.functional.normalize`: u_i = z_i / max(||z_i||, eps). Its backward,
/// for a row whose norm exceeds eps, is the projection dz_i = (du_i - u_i (u_i . du_i)) / ||z_i||; for a
/// clamped row (norm <= eps) the denominator is the constant eps and dz_i = du_i / eps.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"

namespace simile::detail {

/// Rows of a matrix scaled to unit length, with what the backward needs.
template <Real T>
struct NormalizedRows {
  Tensor<T> u;         ///< [R, D]: z_i / max(||z_i||, eps), or z itself when normalization is off
  Tensor<T> inv_norm;  ///< [R]: 1 / max(||z_i||, eps) (1 when off)
  Tensor<T> project;   ///< [R]: 1 when the projection applies (norm > eps), 0 when clamped or off
};

/// Row-normalizes `z` ([R, D]); with `normalize` false, returns z unchanged (shared, not copied).
template <Real T>
NormalizedRows<T> normalize_rows(const Tensor<T>& z, double eps, bool normalize = true) {
  const Index R = z.rows(), D = z.cols();
  NormalizedRows<T> n;
  n.inv_norm = Tensor<T>::empty({R});
  n.project = Tensor<T>::empty({R});
  if (!normalize) {
    n.u = z;
    n.inv_norm.fill(T(1));
    n.project.fill(T(0));
    return n;
  }
  n.u = Tensor<T>::empty(z.shape());
  auto Z = z.matrix(R, D);
  auto U = n.u.matrix(R, D);
  T* inv = n.inv_norm.data();
  T* proj = n.project.data();
  parallel_for(0, R, 256, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      T norm = Z.row(i).norm();
      bool clamped = !(norm > T(eps));
      inv[i] = T(1) / (clamped ? T(eps) : norm);
      proj[i] = clamped ? T(0) : T(1);
      U.row(i) = Z.row(i) * inv[i];
    }
  });
  return n;
}

/// dz rows [r0, r0 + du.rows()) += the normalization backward of du (the gradient w.r.t. u of those rows).
template <Real T, class DU>
void normalize_rows_backward(const NormalizedRows<T>& n, Index r0, const DU& du, Tensor<T>& dz) {
  const Index D = n.u.cols();
  auto U = n.u.matrix(n.u.rows(), D);
  auto G = dz.matrix(dz.rows(), D);
  const T* inv = n.inv_norm.data();
  const T* proj = n.project.data();
  for (Index k = 0; k < du.rows(); ++k) {
    Index i = r0 + k;
    T dot = proj[i] != T(0) ? U.row(i).dot(du.row(k)) : T(0);
    G.row(i) += inv[i] * (du.row(k) - dot * U.row(i));
  }
}

/// Number of tiles of `tile` rows covering `rows` rows (the last one may be shorter).
inline Index tile_count(Index rows, Index tile) { return (rows + tile - 1) / tile; }

/// log(sum_j exp(x_j)) of a row with its maximum subtracted first, so logits of any size neither
/// overflow nor lose the terms near the maximum. -inf entries count as absent; all -inf gives -inf.
template <Real T, class Row>
T row_logsumexp(const Row& x) {
  T m = x.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((x.array() - m).exp().sum());
}

}  // namespace simile::detail
