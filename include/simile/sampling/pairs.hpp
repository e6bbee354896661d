#pragma once
/// \file
/// Pair and triplet sets over the rows of a batch, and the in-batch ones that follow from view indices
/// or labels. They are what the miners produce and what `contrastive_loss` and `triplet_margin_loss`
/// consume: plain index lists, independent of any embedding.

#include <cstdint>
#include <span>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/shape.hpp"

namespace simile {

/// Rows a and b of a batch and whether they are a positive (same class / same sample) pair.
struct IndexPair {
  Index a = 0, b = 0;
  bool same = false;
  friend bool operator==(const IndexPair&, const IndexPair&) = default;
};
using PairSet = std::vector<IndexPair>;

/// Rows (anchor, positive, negative): label[anchor] = label[positive] != label[negative], anchor != positive.
struct Triplet {
  Index anchor = 0, positive = 0, negative = 0;
  friend bool operator==(const Triplet&, const Triplet&) = default;
};
using TripletSet = std::vector<Triplet>;

using Labels = std::vector<std::int64_t>;

/// Labels of the rows of a multi-view batch laid out view-major, as NT-Xent's [views x N, D]:
/// row r is view r / N of sample r % N, so its label is r % N.
inline Labels view_labels(Index n, Index views = 2) {
  check(n >= 1 && views >= 1, "view_labels: n ", n, " and views ", views, " must be positive");
  Labels l(static_cast<std::size_t>(n * views));
  for (Index r = 0; r < n * views; ++r) l[static_cast<std::size_t>(r)] = r % n;
  return l;
}

/// Every unordered pair a < b of rows, flagged same when their labels are equal, in (a, b) order.
inline PairSet all_pairs(std::span<const std::int64_t> labels) {
  PairSet out;
  const auto n = static_cast<Index>(labels.size());
  for (Index a = 0; a < n; ++a)
    for (Index b = a + 1; b < n; ++b)
      out.push_back({a, b, labels[static_cast<std::size_t>(a)] == labels[static_cast<std::size_t>(b)]});
  return out;
}

/// The positive pairs a < b (equal labels), in (a, b) order.
inline PairSet positive_pairs(std::span<const std::int64_t> labels) {
  PairSet out;
  for (const IndexPair& p : all_pairs(labels))
    if (p.same) out.push_back(p);
  return out;
}

/// Every valid triplet (the "batch all" selection of Hermans, Beyer, Leibe, "In Defense of the Triplet
/// Loss for Person Re-Identification", 2017), in (anchor, positive, negative) order.
inline TripletSet all_triplets(std::span<const std::int64_t> labels) {
  TripletSet out;
  const auto n = static_cast<Index>(labels.size());
  auto lab = [&](Index i) { return labels[static_cast<std::size_t>(i)]; };
  for (Index a = 0; a < n; ++a)
    for (Index p = 0; p < n; ++p) {
      if (p == a || lab(p) != lab(a)) continue;
      for (Index q = 0; q < n; ++q)
        if (lab(q) != lab(a)) out.push_back({a, p, q});
    }
  return out;
}

}  // namespace simile
