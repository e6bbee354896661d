#pragma once
/// \file
/// Negative cosine similarity with a stop-gradient on the target branch, the loss of BYOL (Grill et al.,
/// "Bootstrap Your Own Latent", NeurIPS 2020) and SimSiam (Chen, He, "Exploring Simple Siamese
/// Representation Learning", CVPR 2021). No negatives: the asymmetry (a predictor on the online branch,
/// no gradient into the target) is what prevents collapse.
///
///   D(p, z) = -(1/N) sum_i  p_i . z_i / (max(||p_i||, eps) max(||z_i||, eps))        (SimSiam form)
///   D(p, z) = (1/N) sum_i 2 - 2 cos(p_i, z_i)                                         (BYOL form, = ||p^ - z^||^2)
///   symmetrized: L = D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2
/// where p are the online branch's predictions [N, D], z the target branch's projections [N, D] and
/// sg the stop-gradient: the target is detached inside, so it receives no gradient whatever it requires
/// (BYOL's target network is an EMA of the online one; SimSiam's target shares weights with it).
/// (SimSiam averages the two halves, as here; BYOL sums them: twice this value with `byol_form`.)
///
/// Composed from `l2_normalize`, `mul`, `sum` and `mean`, so the gradient is the autodiff one.

#include <cmath>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/normalize.hpp"
#include "simile/ops/reduce.hpp"

namespace simile {

/// Options of `negative_cosine` and `symmetric_negative_cosine`.
struct NegativeCosineOptions {
  bool byol_form = false;  ///< false: -cos (SimSiam); true: 2 - 2 cos (BYOL's normalized MSE)
  double eps = 1e-12;      ///< norm clamp of the row normalization
};

/// D(p, sg(target)): mean over rows of -cos(p_i, target_i) (or 2 - 2 cos). p, target: [N, D], N >= 1.
/// Gradient flows to p only.
template <Real T>
Var<T> negative_cosine(const Var<T>& p, const Var<T>& target, const NegativeCosineOptions& opt = {}) {
  check<ShapeError>(p.shape().rank() == 2 && p.shape() == target.shape(), "negative_cosine: prediction ",
                    p.shape(), " and target ", target.shape(), " must be the same 2-D shape [N, D]");
  check<ShapeError>(p.dim(0) >= 1, "negative_cosine: 0 rows, expected at least 1");
  check(opt.eps > 0, "negative_cosine: eps ", opt.eps, " must be positive");
  Var<T> cos = sum(l2_normalize(p, T(opt.eps)) * l2_normalize(target.detach(), T(opt.eps)), 1);
  Var<T> m = mean(cos);
  return opt.byol_form ? T(2) - T(2) * m : -m;
}

/// Symmetrized loss of BYOL / SimSiam: D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2, where p1, p2 are the
/// predictions from views 1 and 2 and z1, z2 the target projections of the same views. All [N, D].
template <Real T>
Var<T> symmetric_negative_cosine(const Var<T>& p1, const Var<T>& p2, const Var<T>& z1, const Var<T>& z2,
                                 const NegativeCosineOptions& opt = {}) {
  check<ShapeError>(p1.shape() == p2.shape() && z1.shape() == z2.shape(), "symmetric_negative_cosine: p1 ",
                    p1.shape(), ", p2 ", p2.shape(), ", z1 ", z1.shape(), ", z2 ", z2.shape(),
                    " must share one shape [N, D]");
  return T(0.5) * negative_cosine(p1, z2, opt) + T(0.5) * negative_cosine(p2, z1, opt);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_NEGATIVE_COSINE(P, T) \
  P template Var<T> negative_cosine<T>(const Var<T>& p, const Var<T>& target, const NegativeCosineOptions& opt); \
  P template Var<T> symmetric_negative_cosine<T>(const Var<T>& p1, const Var<T>& p2, const Var<T>& z1, const Var<T>& z2, const NegativeCosineOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_NEGATIVE_COSINE)

}  // namespace simile
