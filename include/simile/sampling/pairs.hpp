#pragma once
/// \file
/// Pair and triplet sets over the rows of a batch, and the in-batch ones that follow from view indices
/// or labels. They are what the miners produce and what `contrastive_loss` and `triplet_margin_loss`
/// consume: plain index lists, independent of any embedding.

#include <cstdint>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/shape.hpp"

namespace simile {

/// Rows a and b of a batch and whether they are a positive (same class / same sample) pair.
struct IndexPair {
  /// @{
  /// The two rows.
  Index a = 0, b = 0;
  /// @}
  bool same = false;  ///< true for a positive pair
  friend bool operator==(const IndexPair&, const IndexPair&) = default;
};
/// The pairs a sampler or miner returns.
using PairSet = std::vector<IndexPair>;

/// Rows (anchor, positive, negative): label[anchor] = label[positive] != label[negative], anchor != positive.
struct Triplet {
  /// @{
  /// The three rows.
  Index anchor = 0, positive = 0, negative = 0;
  /// @}
  friend bool operator==(const Triplet&, const Triplet&) = default;
};
/// The triplets a miner returns.
using TripletSet = std::vector<Triplet>;

/// One class label per row of a batch.
using Labels = std::vector<std::int64_t>;

/// Labels of the rows of a multi-view batch laid out view-major, as NT-Xent's [views x N, D]:
/// row r is view r / N of sample r % N, so its label is r % N.
Labels view_labels(Index n, Index views = 2);

/// Every unordered pair a < b of rows, flagged same when their labels are equal, in (a, b) order.
PairSet all_pairs(std::span<const std::int64_t> labels);

/// The positive pairs a < b (equal labels), in (a, b) order.
PairSet positive_pairs(std::span<const std::int64_t> labels);

/// Every valid triplet (the "batch all" selection of Hermans, Beyer, Leibe, "In Defense of the Triplet
/// Loss for Person Re-Identification", 2017), in (anchor, positive, negative) order.
TripletSet all_triplets(std::span<const std::int64_t> labels);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/sampling/pairs-inl.hpp"
#endif
