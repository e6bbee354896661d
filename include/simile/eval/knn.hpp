#pragma once
/// \file
/// Weighted k-nearest-neighbour classification on frozen representations, the protocol of
/// Wu et al. 2018 (instance discrimination) used across the contrastive-learning literature:
/// features are L2-normalized, the k most cosine-similar training samples vote for their labels with
/// weights exp(s / T), and the class with the largest total weight wins (k = 200, T = 0.1 by default).
///
/// Exact and tiled: test rows go through in tiles of `tile` rows, each tile's similarities to the
/// whole training set are one GEMM ([tile, D] x [D, N_train]), and only that [tile, N_train] block
/// exists at a time (never the 10k x 60k matrix). The training features are read in place, never copied:
/// a block's dot products are scaled by the training rows' inverse norms (a normalized copy of 60,000 rows of
/// 1,152 would add 0.28 GB to the evaluation's peak). The top-k selection runs in parallel over rows.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// Options of `knn_classify`: weighted kNN on cosine similarity (Wu et al. 2018).
struct KnnOptions {
  int k = 200;               ///< neighbours that vote
  double temperature = 0.1;  ///< vote weight exp(similarity / temperature)
  Index tile = 512;          ///< test rows per similarity block
};

/// What `knn_classify` returns.
struct KnnResult {
  double accuracy = 0;                    ///< fraction of test rows whose prediction equals its label
  std::vector<std::int64_t> predictions;  ///< one per test row
};

namespace detail {
/// Rows of `x` [N, D] scaled to unit L2 norm (zero rows stay zero), as a new float matrix.
Tensor<float> normalized_rows(const Tensor<float>& x);

std::int64_t count_classes(std::span<const std::int64_t> labels, const char* fn);

/// What every evaluation over a train / test split checks first (ShapeError naming `fn`): both [rows, D]
/// with the same D, and one label per row on each side.
void check_split(const char* fn, const Tensor<float>& train, std::span<const std::int64_t> train_labels,
                 const Tensor<float>& test, std::span<const std::int64_t> test_labels);
}  // namespace detail

/// Classifies `test` [M, D] by weighted kNN over `train` [N, D] with `train_labels` (N labels in
/// 0..C-1); accuracy against `test_labels` (M labels). Requires 1 <= k <= N, temperature > 0.
KnnResult knn_classify(const Tensor<float>& train, std::span<const std::int64_t> train_labels, const Tensor<float>& test, std::span<const std::int64_t> test_labels, const KnnOptions& opt = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/knn-inl.hpp"
#endif
