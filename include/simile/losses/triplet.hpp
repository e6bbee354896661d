#pragma once
/// \file
/// Triplet margin loss (Weinberger, Saul 2009; Schroff et al., "FaceNet", CVPR 2015) on triplets of rows
/// of x [N, D], and the label-driven form that mines its triplets from the batch:
///
///   l_t = max(0, d(a, p) - d(a, n) + margin),    L = mean of l_t over the triplets
/// (or over the triplets with l_t > 0, `average_nonzero`, as batch-all in Hermans et al. 2017), d the
/// Euclidean or cosine distance (`PairDistance`). Selection from labels (`TripletMining`):
/// - all: every valid triplet (`all_triplets`);
/// - batch_hard: per anchor the farthest positive and the closest negative (`batch_hard_triplets`);
/// - semi_hard: every triplet with d(a, p) < d(a, n) < d(a, p) + margin (`semi_hard_triplets`).
/// Mining reads the current values (no gradient through the selection). A batch where nothing is
/// selected gives 0 with a zero gradient. Fused backward, triplets in order (deterministic).

#include <cmath>
#include <memory>
#include <span>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/losses/detail/pair_distance.hpp"
#include "simile/sampling/miners.hpp"
#include "simile/sampling/pairs.hpp"

namespace simile {

/// How `triplet_loss` selects its triplets from the labels.
enum class TripletMining { all, batch_hard, semi_hard };

/// Options of `triplet_margin_loss` and `triplet_loss`.
struct TripletOptions {
  double margin = 0.2;                              ///< > 0
  PairDistance distance = PairDistance::euclidean;  ///< d(a, b): Euclidean or cosine distance
  TripletMining mining = TripletMining::batch_hard;  ///< used by `triplet_loss` only
  bool average_nonzero = false;                      ///< mean over the active triplets instead of all
  double eps = 1e-12;                                ///< norm clamp of the cosine distance
};

/// Triplet margin loss of the rows of x [N, D] over `triplets`; a scalar (0 for no triplet).
template <Real T>
Var<T> triplet_margin_loss(const Var<T>& x, const TripletSet& triplets, const TripletOptions& opt = {}) {
  check<ShapeError>(x.shape().rank() == 2, "triplet_margin_loss: x must be [N, D], got ", x.shape());
  check(opt.margin > 0, "triplet_margin_loss: margin ", opt.margin, " must be positive");
  const Index n = x.dim(0);
  for (const Triplet& t : triplets)
    check<ShapeError>(t.anchor >= 0 && t.anchor < n && t.positive >= 0 && t.positive < n && t.negative >= 0 &&
                          t.negative < n,
                      "triplet_margin_loss: triplet (", t.anchor, ", ", t.positive, ", ", t.negative,
                      ") out of range for ", n, " rows");
  const Tensor<T> xv = x.value();
  auto X = xv.matrix();
  auto active = std::make_shared<std::vector<char>>(triplets.size(), 0);
  double total = 0;
  Index count = 0;
  for (std::size_t k = 0; k < triplets.size(); ++k) {
    const Triplet& t = triplets[k];
    T ap = detail::pair_distance<T>(opt.distance, X.row(t.anchor), X.row(t.positive), T(opt.eps));
    T an = detail::pair_distance<T>(opt.distance, X.row(t.anchor), X.row(t.negative), T(opt.eps));
    T l = ap - an + T(opt.margin);
    if (l > 0) {
      total += static_cast<double>(l);
      ++count;
      (*active)[k] = 1;
    }
  }
  const Index denom = opt.average_nonzero ? count : static_cast<Index>(triplets.size());
  const T mean = denom > 0 ? static_cast<T>(total / static_cast<double>(denom)) : T(0);
  return make_op<T>("triplet_margin_loss", Tensor<T>::scalar(mean), {x},
                    [xv, triplets, active, denom, opt](Node<T>& self) {
                      Tensor<T>* gx = self.grad_for(0);
                      if (!gx || denom == 0) return;
                      auto X = xv.matrix();
                      auto G = gx->matrix();
                      const T w = self.grad.item() / T(denom);
                      for (std::size_t k = 0; k < triplets.size(); ++k) {
                        if (!(*active)[k]) continue;
                        const Triplet& t = triplets[k];
                        auto ga = G.row(t.anchor);
                        auto gp = G.row(t.positive);
                        auto gn = G.row(t.negative);
                        detail::pair_distance<T>(opt.distance, X.row(t.anchor), X.row(t.positive), T(opt.eps), w,
                                                 &ga, &gp);
                        auto ga2 = G.row(t.anchor);
                        detail::pair_distance<T>(opt.distance, X.row(t.anchor), X.row(t.negative), T(opt.eps), -w,
                                                 &ga2, &gn);
                      }
                    });
}

/// Triplet loss with the triplets mined from `labels` (one per row of x) by `opt.mining`, on the
/// current values of x (see the file comment).
template <Real T>
Var<T> triplet_loss(const Var<T>& x, std::span<const std::int64_t> labels, const TripletOptions& opt = {}) {
  check<ShapeError>(x.shape().rank() == 2 && static_cast<Index>(labels.size()) == x.dim(0), "triplet_loss: ",
                    labels.size(), " labels for x of shape ", x.shape());
  const MinerDistance md = opt.distance == PairDistance::cosine ? MinerDistance::cosine : MinerDistance::euclidean;
  TripletSet triplets;
  switch (opt.mining) {
    case TripletMining::all: triplets = all_triplets(labels); break;
    case TripletMining::batch_hard: triplets = batch_hard_triplets(x.value(), labels, md); break;
    case TripletMining::semi_hard: triplets = semi_hard_triplets(x.value(), labels, opt.margin, md); break;
  }
  return triplet_margin_loss(x, triplets, opt);
}

/// The same with labels in a vector.
template <Real T>
Var<T> triplet_loss(const Var<T>& x, const std::vector<std::int64_t>& labels, const TripletOptions& opt = {}) {
  return triplet_loss(x, std::span<const std::int64_t>(labels), opt);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_TRIPLET(P, T) \
  P template Var<T> triplet_margin_loss<T>(const Var<T>& x, const TripletSet& triplets, const TripletOptions& opt); \
  P template Var<T> triplet_loss<T>(const Var<T>& x, std::span<const std::int64_t> labels, const TripletOptions& opt); \
  P template Var<T> triplet_loss<T>(const Var<T>& x, const std::vector<std::int64_t>& labels, const TripletOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_TRIPLET)

}  // namespace simile
