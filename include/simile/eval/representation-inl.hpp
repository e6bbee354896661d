#pragma once
/// \file
/// The definitions behind `simile/eval/representation.hpp`: compiled once in `src/eval/representation.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/eval/representation.hpp"

namespace simile {

SIMILE_INLINE double alignment(const Tensor<float>& x, const Tensor<float>& y, double alpha) {
  check<ShapeError>(x.rank() == 2 && x.shape() == y.shape() && x.dim(0) > 0,
                    "alignment: expected two non-empty [N, D] views of equal shape, got ", x.shape(), " and ", y.shape());
  check(alpha > 0, "alignment: alpha ", alpha, " must be positive");
  Tensor<float> a = detail::normalized_rows(x), b = detail::normalized_rows(y);
  double s = 0;
  for (Index i = 0; i < a.dim(0); ++i)
    s += std::pow((a.matrix().row(i) - b.matrix().row(i)).cast<double>().norm(), alpha);
  return s / double(a.dim(0));
}

SIMILE_INLINE double uniformity(const Tensor<float>& x, double t, Index max_rows) {
  check<ShapeError>(x.rank() == 2 && x.dim(0) >= 2, "uniformity: expected [N, D] with N >= 2, got ", x.shape());
  check(t > 0 && max_rows >= 2, "uniformity: t ", t, " must be positive and max_rows ", max_rows, " at least 2");
  Tensor<float> a = detail::normalized_rows(x.slice_rows(0, std::min(x.dim(0), max_rows)));
  const Index n = a.dim(0);
  Eigen::MatrixXd g = a.matrix().cast<double>() * a.matrix().cast<double>().transpose();
  // ||u - v||^2 = 2 - 2 u.v for unit vectors; exponent -t (2 - 2 u.v) <= 0 with max 0: no overflow.
  double mx = -std::numeric_limits<double>::infinity();
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) mx = std::max(mx, -t * (2 - 2 * g(i, j)));
  double s = 0;
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) s += std::exp(-t * (2 - 2 * g(i, j)) - mx);
  double pairs = double(n) * double(n - 1) / 2;
  return mx + std::log(s / pairs);
}

SIMILE_INLINE double effective_rank(const Tensor<float>& x) {
  check<ShapeError>(x.rank() == 2 && x.dim(0) >= 2, "effective_rank: expected [N, D] with N >= 2, got ", x.shape());
  Tensor<float> a = detail::normalized_rows(x);
  Eigen::MatrixXd z = a.matrix().cast<double>();
  z.rowwise() -= z.colwise().mean();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(z.transpose() * z, Eigen::EigenvaluesOnly);
  Eigen::VectorXd sv = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  double total = sv.sum();
  if (total <= 0) return 0.0;  // all rows identical: nothing spread at all
  double h = 0;
  for (Index i = 0; i < sv.size(); ++i) {
    double p = sv(i) / total;
    if (p > 0) h -= p * std::log(p);
  }
  return std::exp(h);
}

SIMILE_INLINE double normalized_std(const Tensor<float>& x) {
  check<ShapeError>(x.rank() == 2 && x.dim(0) >= 2, "normalized_std: expected [N, D] with N >= 2, got ", x.shape());
  Tensor<float> a = detail::normalized_rows(x);
  Eigen::MatrixXd z = a.matrix().cast<double>();
  Eigen::RowVectorXd mean = z.colwise().mean();
  return ((z.rowwise() - mean).array().square().colwise().sum() / double(z.rows() - 1)).sqrt().mean();
}

}  // namespace simile
