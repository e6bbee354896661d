#pragma once
/// \file
/// VICReg (Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
/// Self-Supervised Learning", ICLR 2022): three terms on the two views' embeddings z1, z2 [N, D]:
///
///   invariance  s = (1 / (N D)) sum ||z1 - z2||^2                          (mean squared error)
///   variance    v = (1/2) sum_{z in z1,z2} (1/D) sum_j max(0, gamma - sqrt(Var(z_.j) + eps))
///                   with the unbiased batch variance (a hinge that keeps every dimension spread)
///   covariance  c = sum_{z in z1,z2} (1/D) sum_{i != j} Cov(z)_ij^2,  Cov(z) = zc^T zc / (N - 1)
///   L = sim_coeff s + std_coeff v + cov_coeff c        (25, 25, 1 by default, gamma 1, eps 1e-4)
/// as in the authors' code. N >= 2 (the variance needs two rows).
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

/// Options of `vicreg`.
struct VicRegOptions {
  double sim_coeff = 25;  ///< weight of the invariance term
  double std_coeff = 25;  ///< weight of the variance term
  double cov_coeff = 1;   ///< weight of the covariance term
  double gamma = 1;       ///< target standard deviation of the hinge
  double eps = 1e-4;      ///< added to the variance before the square root, > 0
};

/// The three VICReg terms (unweighted) and the weighted total, all scalars sharing one graph.
template <Real T>
struct VicRegTerms {
  /// @{
  /// s, v and c of the formula above, and L = sim_coeff s + std_coeff v + cov_coeff c (backpropagate this).
  Var<T> invariance, variance, covariance, total;
  /// @}
};

/// VICReg's terms for z1, z2 [N, D] (see the file comment).
template <Real T>
VicRegTerms<T> vicreg_terms(const Var<T>& z1, const Var<T>& z2, const VicRegOptions& opt = {}) {
  check<ShapeError>(z1.shape().rank() == 2 && z1.shape() == z2.shape(), "vicreg: z1 ", z1.shape(), " and z2 ",
                    z2.shape(), " must be the same 2-D shape [N, D]");
  check<ShapeError>(z1.dim(0) >= 2, "vicreg: batch of ", z1.dim(0),
                    " rows, expected at least 2 (the batch variance needs them)");
  check(opt.eps > 0, "vicreg: eps ", opt.eps, " must be positive");
  check(opt.gamma >= 0, "vicreg: gamma ", opt.gamma, " must be >= 0");
  const Index N = z1.dim(0), D = z1.dim(1);
  const T inv_n1 = T(1.0 / static_cast<double>(N - 1)), inv_d = T(1.0 / static_cast<double>(D));
  Tensor<T> off = Tensor<T>::ones({D, D});
  for (Index i = 0; i < D; ++i) off.at(i, i) = T(0);
  Var<T> off_mask(off);

  VicRegTerms<T> t;
  t.invariance = mean(pow(z1 - z2, T(2)));
  Var<T> var_sum, cov_sum;
  for (const Var<T>* z : {&z1, &z2}) {
    Var<T> centered = *z - mean(*z, 0, true);
    Var<T> std = sqrt(sum(pow(centered, T(2)), 0) * inv_n1 + T(opt.eps));  // [D]
    Var<T> v = mean(relu(T(opt.gamma) - std));
    Var<T> cov = matmul(centered, centered, true, false) * inv_n1;  // [D, D]
    Var<T> c = sum(pow(cov, T(2)) * off_mask) * inv_d;
    var_sum = var_sum.defined() ? var_sum + v : v;
    cov_sum = cov_sum.defined() ? cov_sum + c : c;
  }
  t.variance = var_sum * T(0.5);
  t.covariance = cov_sum;
  t.total = t.invariance * T(opt.sim_coeff) + t.variance * T(opt.std_coeff) + t.covariance * T(opt.cov_coeff);
  return t;
}

/// VICReg loss (the weighted total) of z1, z2 [N, D]; a scalar.
template <Real T>
Var<T> vicreg(const Var<T>& z1, const Var<T>& z2, const VicRegOptions& opt = {}) {
  return vicreg_terms(z1, z2, opt).total;
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_VICREG(P, T) \
  P template VicRegTerms<T> vicreg_terms<T>(const Var<T>& z1, const Var<T>& z2, const VicRegOptions& opt); \
  P template Var<T> vicreg<T>(const Var<T>& z1, const Var<T>& z2, const VicRegOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_VICREG)

}  // namespace simile
