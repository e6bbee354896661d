#pragma once
/// \file
/// The distance between two rows and its gradient, shared by the pairwise and triplet losses.
///
/// - Euclidean: d = ||a - b||, dd/da = (a - b) / d, taken as 0 at d = 0 (any subgradient would do; 0
///   leaves coincident points where they are instead of producing NaN).
/// - Cosine: d = 1 - cos(a, b), cos = a.b / (max(||a||, eps) max(||b||, eps)),
///   dd/da = -(b^ - cos a^) / ||a|| with a^ = a / ||a|| (the clamped-norm case as in F.normalize: -b^ / eps).

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "simile/core/tensor.hpp"

namespace simile {

/// Distance of the pairwise and triplet losses.
enum class PairDistance {
  euclidean,  ///< ||a - b||
  cosine,     ///< 1 - cos(a, b)
};

namespace detail {

/// d(a, b) for rows a, b; when ga, gb are non-null, adds w * dd/da and w * dd/db to them.
template <Real T, class Row, class GRow = Eigen::Matrix<T, 1, Eigen::Dynamic>>
T pair_distance(PairDistance kind, const Row& a, const Row& b, T eps, T w = 0, GRow* ga = nullptr,
                GRow* gb = nullptr) {
  if (kind == PairDistance::euclidean) {
    auto diff = (a - b).eval();
    T d = diff.norm();
    if (ga && d > 0) {
      *ga += (w / d) * diff;
      *gb -= (w / d) * diff;
    }
    return d;
  }
  T na = a.norm(), nb = b.norm();
  T ra = T(1) / std::max(na, eps), rb = T(1) / std::max(nb, eps);
  T cos = a.dot(b) * ra * rb;
  if (ga) {
    // d(1 - cos)/da = -(b rb - cos a ra (projection only when the norm is not clamped)) ra.
    T pa = na > eps ? cos * ra : T(0), pb = nb > eps ? cos * rb : T(0);
    *ga -= (w * ra) * (b * rb - pa * a);
    *gb -= (w * rb) * (a * ra - pb * b);
  }
  return T(1) - cos;
}

}  // namespace detail
}  // namespace simile
