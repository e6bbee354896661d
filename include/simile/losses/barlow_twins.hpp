#pragma once
/// \file
/// Barlow Twins (Zbontar, Jing, Misra, LeCun, Deny, "Barlow Twins: Self-Supervised Learning via
/// Redundancy Reduction", ICML 2021): the cross-correlation matrix of the two views' batch-standardized
/// embeddings is pushed to the identity.
///
///   zn = (z - mean_batch(z)) / sqrt(var_batch(z) + eps)    per dimension, biased variance (the
///                                                          paper's BatchNorm1d without affine)
///   C  = zn1^T zn2 / N                                     [D, D]
///   L  = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2
/// z1, z2: [N, D] with N >= 2 (one row has no variance). lambda = 5.1e-3 is the paper's value
/// (its ImageNet setting, projector width 8192).
///
/// Composed from the reduction, elementwise and matmul ops, so the gradient is the autodiff one.

#include <cmath>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/matmul.hpp"
#include "simile/ops/reduce.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

/// Options of `barlow_twins`.
struct BarlowTwinsOptions {
  double lambda = 5.1e-3;  ///< weight of the off-diagonal (redundancy) term, >= 0
  double eps = 1e-5;       ///< added to the batch variance before the square root, > 0
};

namespace detail {
/// (z - mean) / sqrt(var + eps) per column over the batch, biased variance.
template <Real T>
Var<T> batch_standardize(const Var<T>& z, T eps) {
  Var<T> centered = z - mean(z, 0, true);
  return centered / sqrt(mean(pow(centered, T(2)), 0, true) + eps);
}
}  // namespace detail

/// Barlow Twins loss of the two views' embeddings z1, z2 [N, D] (see the file comment); a scalar.
template <Real T>
Var<T> barlow_twins(const Var<T>& z1, const Var<T>& z2, const BarlowTwinsOptions& opt = {}) {
  check<ShapeError>(z1.shape().rank() == 2 && z1.shape() == z2.shape(), "barlow_twins: z1 ", z1.shape(),
                    " and z2 ", z2.shape(), " must be the same 2-D shape [N, D]");
  check<ShapeError>(z1.dim(0) >= 2, "barlow_twins: batch of ", z1.dim(0),
                    " rows, expected at least 2 (the batch variance needs them)");
  check(opt.lambda >= 0, "barlow_twins: lambda ", opt.lambda, " must be >= 0");
  check(opt.eps > 0, "barlow_twins: eps ", opt.eps, " must be positive");
  const Index N = z1.dim(0), D = z1.dim(1);
  Var<T> c = matmul(detail::batch_standardize(z1, T(opt.eps)), detail::batch_standardize(z2, T(opt.eps)), true,
                    false) *
             T(1.0 / static_cast<double>(N));
  Tensor<T> identity = Tensor<T>::zeros({D, D}), weight = Tensor<T>::full({D, D}, T(opt.lambda));
  for (Index i = 0; i < D; ++i) identity.at(i, i) = T(1), weight.at(i, i) = T(1);
  return sum(pow(c - Var<T>(identity), T(2)) * Var<T>(weight));
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_BARLOW_TWINS(P, T) \
  P template Var<T> barlow_twins<T>(const Var<T>& z1, const Var<T>& z2, const BarlowTwinsOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_BARLOW_TWINS)

}  // namespace simile
