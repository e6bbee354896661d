#pragma once
/// \file
/// Health of a representation, from embeddings alone.
/// - Alignment and uniformity (Wang & Isola 2020) of L2-normalized embeddings:
///     alignment  = E_(x,y positive) ||f(x) - f(y)||^alpha            (lower: positives closer)
///     uniformity = log E_(x,y independent) exp(-t ||f(x) - f(y)||^2) (lower: spread over the sphere)
/// - Collapse diagnostics: the effective rank (Roy & Vetterli 2007), exp of the entropy of the
///   normalized singular values of the centered normalized embeddings (1 when everything lies on a
///   line, D when the spread is even in all D directions), and the mean per-dimension standard deviation
///   of normalized embeddings (about 1/sqrt(D) when healthy, near 0 when collapsed; SimSiam's monitor).

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>

#include "simile/core/tensor.hpp"
#include "simile/eval/knn.hpp"

namespace simile {

/// Mean ||f(x_i) - f(y_i)||^alpha over matching rows of two views [N, D] (rows normalized inside).
inline double alignment(const Tensor<float>& x, const Tensor<float>& y, double alpha = 2.0) {
  check<ShapeError>(x.rank() == 2 && x.shape() == y.shape() && x.dim(0) > 0,
                    "alignment: expected two non-empty [N, D] views of equal shape, got ", x.shape(), " and ", y.shape());
  check(alpha > 0, "alignment: alpha ", alpha, " must be positive");
  Tensor<float> a = detail::normalized_rows(x), b = detail::normalized_rows(y);
  double s = 0;
  for (Index i = 0; i < a.dim(0); ++i)
    s += std::pow((a.matrix().row(i) - b.matrix().row(i)).cast<double>().norm(), alpha);
  return s / double(a.dim(0));
}

/// log of the mean of exp(-t ||f(x_i) - f(x_j)||^2) over pairs i < j of the first `max_rows` rows of
/// `x` [N, D] (rows normalized inside), computed with log-sum-exp.
inline double uniformity(const Tensor<float>& x, double t = 2.0, Index max_rows = 4096) {
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

/// Effective rank of the centered, row-normalized embeddings [N, D].
inline double effective_rank(const Tensor<float>& x) {
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

/// Mean over dimensions of the standard deviation of the row-normalized embeddings [N, D].
inline double normalized_std(const Tensor<float>& x) {
  check<ShapeError>(x.rank() == 2 && x.dim(0) >= 2, "normalized_std: expected [N, D] with N >= 2, got ", x.shape());
  Tensor<float> a = detail::normalized_rows(x);
  Eigen::MatrixXd z = a.matrix().cast<double>();
  Eigen::RowVectorXd mean = z.colwise().mean();
  return ((z.rowwise() - mean).array().square().colwise().sum() / double(z.rows() - 1)).sqrt().mean();
}

}  // namespace simile
