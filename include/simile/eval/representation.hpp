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

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/eval/knn.hpp"

namespace simile {

/// Mean ||f(x_i) - f(y_i)||^alpha over matching rows of two views [N, D] (rows normalized inside).
double alignment(const Tensor<float>& x, const Tensor<float>& y, double alpha = 2.0);

/// log of the mean of exp(-t ||f(x_i) - f(x_j)||^2) over pairs i < j of the first `max_rows` rows of
/// `x` [N, D] (rows normalized inside), computed with log-sum-exp.
double uniformity(const Tensor<float>& x, double t = 2.0, Index max_rows = 4096);

/// Effective rank of the centered, row-normalized embeddings [N, D].
double effective_rank(const Tensor<float>& x);

/// Mean over dimensions of the standard deviation of the row-normalized embeddings [N, D].
double normalized_std(const Tensor<float>& x);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/representation-inl.hpp"
#endif
