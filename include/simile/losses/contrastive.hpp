#pragma once
/// \file
/// Pairwise contrastive loss with a margin (Hadsell, Chopra, LeCun, "Dimensionality Reduction by
/// Learning an Invariant Mapping", CVPR 2006), on given pairs of rows of x [N, D]:
///
///   same pair:       l = d^2 / 2                 (pulled together)
///   different pair:  l = max(0, margin - d)^2 / 2 (pushed apart until the margin)
///   L = mean of l over the pairs
/// with d the Euclidean distance or the cosine distance 1 - cos (see `PairDistance`). Pairs come from
/// `all_pairs`, `positive_pairs` or a miner (`hardest_negative_pairs`); a row may appear in many pairs.
/// Fused: the backward adds each pair's gradient to its two rows, pairs in order (deterministic).

#include <cmath>
#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/losses/detail/pair_distance.hpp"
#include "simile/sampling/pairs.hpp"

namespace simile {

/// Options of `contrastive_loss`.
struct ContrastiveOptions {
  double margin = 1.0;                          ///< > 0
  PairDistance distance = PairDistance::euclidean;  ///< d(a, b): Euclidean or cosine distance
  double eps = 1e-12;                           ///< norm clamp of the cosine distance
};

/// Pairwise contrastive loss of the rows of x [N, D] over `pairs` (at least one); a scalar.
template <Real T>
Var<T> contrastive_loss(const Var<T>& x, const PairSet& pairs, const ContrastiveOptions& opt = {}) {
  check<ShapeError>(x.shape().rank() == 2, "contrastive_loss: x must be [N, D], got ", x.shape());
  check(!pairs.empty(), "contrastive_loss: no pairs");
  check(opt.margin > 0, "contrastive_loss: margin ", opt.margin, " must be positive");
  const Index n = x.dim(0);
  for (const IndexPair& p : pairs)
    check<ShapeError>(p.a >= 0 && p.a < n && p.b >= 0 && p.b < n, "contrastive_loss: pair (", p.a, ", ", p.b,
                      ") out of range for ", n, " rows");
  const Tensor<T> xv = x.value();
  auto X = xv.matrix();
  const T margin = T(opt.margin), eps = T(opt.eps);
  auto dists = std::make_shared<std::vector<T>>(pairs.size());
  double total = 0;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const IndexPair& p = pairs[k];
    T d = detail::pair_distance<T>(opt.distance, X.row(p.a), X.row(p.b), eps);
    (*dists)[k] = d;
    T h = std::max(margin - d, T(0));
    total += 0.5 * static_cast<double>(p.same ? d * d : h * h);
  }
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(pairs.size())));
  return make_op<T>("contrastive_loss", std::move(out), {x}, [xv, pairs, dists, opt](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    auto X = xv.matrix();
    auto G = gx->matrix();
    const T scale = self.grad.item() / T(pairs.size());
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const IndexPair& p = pairs[k];
      const T d = (*dists)[k];
      // dl/dd: d for a same pair, -(margin - d) inside the margin for a different one.
      const T dl = p.same ? d : -std::max(T(opt.margin) - d, T(0));
      if (dl == 0) continue;
      auto ga = G.row(p.a);
      auto gb = G.row(p.b);
      if (p.same && opt.distance == PairDistance::euclidean) {  // d^2 / 2 is smooth: no division by d
        ga += scale * (X.row(p.a) - X.row(p.b));
        gb -= scale * (X.row(p.a) - X.row(p.b));
        continue;
      }
      detail::pair_distance<T>(opt.distance, X.row(p.a), X.row(p.b), T(opt.eps), scale * dl, &ga, &gb);
    }
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_CONTRASTIVE(P, T) \
  P template Var<T> contrastive_loss<T>(const Var<T>& x, const PairSet& pairs, const ContrastiveOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_CONTRASTIVE)

}  // namespace simile
