#pragma once
/// \file
/// Two-dimensional maps of embeddings, to look at (the tool's `plot` and `report` draw them coloured by
/// class): principal component analysis of every point, and t-SNE of a sample.
/// - PCA: the eigenvectors of the covariance C = (X - mean)^T (X - mean) / (N - 1) with the largest
///   eigenvalues; the scores are (x_i - mean) . v_c. Exact (a symmetric eigensolver in double).
/// - t-SNE (van der Maaten & Hinton 2008, "Visualizing Data using t-SNE", JMLR 9), exact: O(N^2) time
///   and memory per iteration, for a few thousand points (`sample_rows` draws them). Affinities
///   p_j|i = exp(-beta_i ||x_i - x_j||^2) / sum_k!=i exp(-beta_i ||x_i - x_k||^2), with beta_i found by
///   bisection so that the perplexity 2^H(P_i) is the one asked for; P = (p_j|i + p_i|j) / (2N). The map's
///   similarities are Student-t: q_ij = (1 + ||y_i - y_j||^2)^-1 / Z, Z = sum_k!=l (1 + ||y_k - y_l||^2)^-1.
///   Gradient descent on KL(P || Q), dC/dy_i = 4 sum_j (p_ij - q_ij) (y_i - y_j) / (1 + ||y_i - y_j||^2),
///   with momentum (0.5, then 0.8), per-coordinate gains (+0.2 where the gradient's sign flips against the
///   step, x0.8 elsewhere, at least 0.01) and early exaggeration (P x 12 for the first 250 iterations), as in
///   the paper and scikit-learn.
///
/// Both are deterministic: PCA's signs are fixed (each component's largest entry in magnitude is positive),
/// t-SNE starts from N(0, 1e-4^2) drawn from the seed per point and sums each row before adding rows in
/// order, so the same seed gives the same bits for any thread count.

#include <cstdint>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// The principal components of a set of points.
struct Pca {
  Tensor<float> scores;          ///< [N, k]: (x_i - mean) . v_c, point i's coordinates along the components
  Tensor<float> components;      ///< [k, D]: the unit eigenvectors v_c of the covariance, largest variance first
  Tensor<float> mean;            ///< [D]: the mean point
  std::vector<double> variance;  ///< the k eigenvalues: the variance along each component, decreasing
  double total_variance = 0;     ///< trace of the covariance: the share of component c is variance[c] / this
};

/// PCA of `x` [N, D] (N >= 2, finite) onto `components` k (1 <= k <= D) axes. Costs O(N D^2 + D^3): D is at
/// most `max_pca_dim`. A ShapeError for another shape, a ValueError for a NaN or infinity or a bad k.
Pca pca(const Tensor<float>& x, Index components = 2);

/// Largest D `pca` takes (its covariance is D x D, and the eigensolver O(D^3)).
inline constexpr Index max_pca_dim = 4096;

/// How `tsne` runs (defaults: the paper's, as scikit-learn has them).
struct TsneOptions {
  double perplexity = 30;             ///< the effective number of neighbours; requires 1 <= perplexity < N
  int iterations = 1000;              ///< gradient steps, early exaggeration included (at least 1)
  double learning_rate = 0;           ///< step size; 0: max(N / early_exaggeration / 4, 50) (Belkina et al. 2019)
  double early_exaggeration = 12;     ///< P is multiplied by this for the first `exaggeration_iterations`
  int exaggeration_iterations = 250;  ///< iterations with exaggeration and momentum 0.5 (then 0.8)
  std::uint64_t seed = 0;             ///< the starting map: point i's N(0, 1e-4^2) coordinates from stream (seed, i)
};

/// A t-SNE map and how well it fits.
struct Tsne {
  Tensor<float> embedding;   ///< [N, 2], centred on the origin
  double kl_divergence = 0;  ///< KL(P || Q) of the final map (no exaggeration): lower is a better fit
};

/// Exact t-SNE of `x` [N, D] (N >= 4, finite) into two dimensions (see the file comment). Memory: N^2
/// doubles. Parallel over rows (`parallel_for`), the same bits for any thread count. A ShapeError for
/// another shape, a ValueError for a NaN or infinity or an option out of range (the message names it).
Tsne tsne(const Tensor<float>& x, const TsneOptions& opt = {});

/// `count` distinct row indices of [0, n) drawn uniformly from `seed`, increasing; all of them when
/// count >= n. Requires n >= 0 and count >= 0.
std::vector<Index> sample_rows(Index n, Index count, std::uint64_t seed);

/// The rows `rows` of `x` [N, ...], in that order: [rows.size(), ...]. Each must be in [0, N).
Tensor<float> gather_rows(const Tensor<float>& x, const std::vector<Index>& rows);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/embedding_map-inl.hpp"
#endif
