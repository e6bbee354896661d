#pragma once
/// \file
/// Miners: choose the informative pairs and triplets of a batch from its embeddings [N, D] (values, no
/// gradient) and labels. Their output feeds `contrastive_loss` (pairs) and `triplet_margin_loss`
/// (triplets). All are deterministic: ties go to the lower index, and the one random miner takes an `Rng`.
///
/// - `hardest_negative_pairs`: every positive pair, plus for each anchor its k closest negatives.
/// - `batch_hard_triplets` (Hermans et al. 2017): per anchor, the farthest positive and closest negative.
/// - `semi_hard_triplets` (Schroff, Kalenichenko, Philbin, "FaceNet", CVPR 2015): every (a, p, n) with
///   d(a, p) < d(a, n) < d(a, p) + margin: negatives farther than the positive, yet inside the margin.
/// - `distance_weighted_triplets` (Wu, Manmatha, Smola, Kraehenbuehl, "Sampling Matters in Deep Embedding
///   Learning", ICCV 2017): for each ordered positive pair, one negative drawn with probability
///   proportional to 1 / q(d), q(d) ~ d^(D-2) (1 - d^2 / 4)^((D-3)/2) the density of distances between
///   uniform points on the unit sphere, d clipped below at `cutoff`, and weight 0 beyond
///   `nonzero_loss_cutoff`. Embeddings are L2-normalized inside (the density assumes the sphere).

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"
#include "simile/sampling/pairs.hpp"

namespace simile {

/// Distance a miner ranks by.
enum class MinerDistance {
  euclidean,  ///< ||x_i - x_j||
  cosine,     ///< 1 - cos(x_i, x_j)
};

/// [N, N] distances between the rows of x [N, D], computed in double.
template <Real T>
Eigen::MatrixXd pairwise_distances(const Tensor<T>& x, MinerDistance distance = MinerDistance::euclidean) {
  check<ShapeError>(x.rank() == 2, "pairwise_distances: expected [N, D], got ", x.shape());
  Eigen::MatrixXd X = x.matrix().template cast<double>();
  if (distance == MinerDistance::cosine) {
    for (Index i = 0; i < X.rows(); ++i) X.row(i) /= std::max(X.row(i).norm(), 1e-12);
    return (1.0 - (X * X.transpose()).array()).matrix();
  }
  Eigen::VectorXd sq = X.rowwise().squaredNorm();
  Eigen::MatrixXd d2 = (sq.replicate(1, X.rows()) + sq.transpose().replicate(X.rows(), 1) - 2.0 * X * X.transpose());
  return d2.cwiseMax(0.0).cwiseSqrt();
}

namespace detail {
template <Real T>
void check_miner_input(const char* who, const Tensor<T>& x, std::span<const std::int64_t> labels) {
  check<ShapeError>(x.rank() == 2, who, ": embeddings must be [N, D], got ", x.shape());
  check<ShapeError>(static_cast<Index>(labels.size()) == x.rows(), who, ": ", labels.size(), " labels for ",
                    x.rows(), " embeddings");
}
}  // namespace detail

/// Every positive pair (a < b), then for each anchor a its `k` closest negatives as pairs (a, n) flagged
/// not same, nearest first. k >= 1.
template <Real T>
PairSet hardest_negative_pairs(const Tensor<T>& x, std::span<const std::int64_t> labels, Index k,
                               MinerDistance distance = MinerDistance::euclidean) {
  detail::check_miner_input("hardest_negative_pairs", x, labels);
  check(k >= 1, "hardest_negative_pairs: k ", k, " must be at least 1");
  Eigen::MatrixXd d = pairwise_distances(x, distance);
  PairSet out = positive_pairs(labels);
  const Index n = x.rows();
  std::vector<Index> negs;
  for (Index a = 0; a < n; ++a) {
    negs.clear();
    for (Index j = 0; j < n; ++j)
      if (labels[static_cast<std::size_t>(j)] != labels[static_cast<std::size_t>(a)]) negs.push_back(j);
    const auto take = std::min<std::size_t>(static_cast<std::size_t>(k), negs.size());
    std::partial_sort(negs.begin(), negs.begin() + static_cast<std::ptrdiff_t>(take), negs.end(),
                      [&](Index i, Index j) { return d(a, i) < d(a, j) || (d(a, i) == d(a, j) && i < j); });
    for (std::size_t t = 0; t < take; ++t) out.push_back({a, negs[t], false});
  }
  return out;
}

/// For each anchor with at least one positive and one negative: (anchor, farthest positive, closest
/// negative).
template <Real T>
TripletSet batch_hard_triplets(const Tensor<T>& x, std::span<const std::int64_t> labels,
                               MinerDistance distance = MinerDistance::euclidean) {
  detail::check_miner_input("batch_hard_triplets", x, labels);
  Eigen::MatrixXd d = pairwise_distances(x, distance);
  TripletSet out;
  const Index n = x.rows();
  for (Index a = 0; a < n; ++a) {
    Index p = -1, q = -1;
    for (Index j = 0; j < n; ++j) {
      if (j == a) continue;
      if (labels[static_cast<std::size_t>(j)] == labels[static_cast<std::size_t>(a)]) {
        if (p < 0 || d(a, j) > d(a, p)) p = j;
      } else if (q < 0 || d(a, j) < d(a, q)) {
        q = j;
      }
    }
    if (p >= 0 && q >= 0) out.push_back({a, p, q});
  }
  return out;
}

/// Every (a, p, n) with d(a, p) < d(a, n) < d(a, p) + margin, in (a, p, n) order. margin > 0.
template <Real T>
TripletSet semi_hard_triplets(const Tensor<T>& x, std::span<const std::int64_t> labels, double margin,
                              MinerDistance distance = MinerDistance::euclidean) {
  detail::check_miner_input("semi_hard_triplets", x, labels);
  check(margin > 0, "semi_hard_triplets: margin ", margin, " must be positive");
  Eigen::MatrixXd d = pairwise_distances(x, distance);
  TripletSet out;
  for (const Triplet& t : all_triplets(labels)) {
    const double ap = d(t.anchor, t.positive), an = d(t.anchor, t.negative);
    if (ap < an && an < ap + margin) out.push_back(t);
  }
  return out;
}

/// Options of `distance_weighted_triplets`.
struct DistanceWeightedOptions {
  double cutoff = 0.5;               ///< distances below are clipped to it (the density's singularity)
  double nonzero_loss_cutoff = 1.4;  ///< negatives farther than this get weight 0
};

/// For each ordered positive pair (a, p), a != p, one negative drawn with probability proportional to
/// 1 / q(d(a, n)) (see the file comment), distances between L2-normalized rows. Pairs whose anchor has
/// no negative of nonzero weight are skipped.
template <Real T>
TripletSet distance_weighted_triplets(const Tensor<T>& x, std::span<const std::int64_t> labels, Rng& rng,
                                      const DistanceWeightedOptions& opt = {}) {
  detail::check_miner_input("distance_weighted_triplets", x, labels);
  check(opt.cutoff > 0 && opt.cutoff < 2 && opt.nonzero_loss_cutoff > opt.cutoff,
        "distance_weighted_triplets: cutoff ", opt.cutoff, " must be in (0, 2) and below nonzero_loss_cutoff ",
        opt.nonzero_loss_cutoff);
  Eigen::MatrixXd d = pairwise_distances(x, MinerDistance::cosine);  // 1 - cos = d_euclid^2 / 2 on the sphere
  const Index n = x.rows();
  const double dim = static_cast<double>(x.cols());
  TripletSet out;
  std::vector<double> w(static_cast<std::size_t>(n));
  for (Index a = 0; a < n; ++a) {
    // log(1 / q(d)) = -(D - 2) log d - ((D - 3) / 2) log(1 - d^2 / 4), normalized by its maximum.
    double best = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < n; ++j) {
      auto& wj = w[static_cast<std::size_t>(j)];
      wj = -std::numeric_limits<double>::infinity();
      if (labels[static_cast<std::size_t>(j)] == labels[static_cast<std::size_t>(a)]) continue;
      const double dist = std::sqrt(std::max(2.0 * d(a, j), 0.0));
      if (dist > opt.nonzero_loss_cutoff) continue;
      const double c = std::clamp(dist, opt.cutoff, 1.99);
      wj = -(dim - 2) * std::log(c) - (dim - 3) / 2 * std::log(1 - c * c / 4);
      best = std::max(best, wj);
    }
    if (!std::isfinite(best)) continue;
    double total = 0;
    for (double& v : w) total += (v = std::isfinite(v) ? std::exp(v - best) : 0.0);
    for (Index p = 0; p < n; ++p) {
      if (p == a || labels[static_cast<std::size_t>(p)] != labels[static_cast<std::size_t>(a)]) continue;
      double u = rng.uniform() * total;
      Index pick = -1;
      for (Index j = 0; j < n; ++j) {
        const double v = w[static_cast<std::size_t>(j)];
        if (v <= 0) continue;
        pick = j;
        if ((u -= v) < 0) break;
      }
      out.push_back({a, p, pick});
    }
  }
  return out;
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_SAMPLING_MINERS(P, T) \
  P template Eigen::MatrixXd pairwise_distances<T>(const Tensor<T>& x, MinerDistance distance); \
  P template PairSet hardest_negative_pairs<T>(const Tensor<T>& x, std::span<const std::int64_t> labels, Index k, MinerDistance distance); \
  P template TripletSet batch_hard_triplets<T>(const Tensor<T>& x, std::span<const std::int64_t> labels, MinerDistance distance); \
  P template TripletSet semi_hard_triplets<T>(const Tensor<T>& x, std::span<const std::int64_t> labels, double margin, MinerDistance distance); \
  P template TripletSet distance_weighted_triplets<T>(const Tensor<T>& x, std::span<const std::int64_t> labels, Rng& rng, const DistanceWeightedOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_SAMPLING_MINERS)

}  // namespace simile
