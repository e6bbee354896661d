#pragma once
/// \file
/// The definitions behind `simile/sampling/pairs.hpp`: compiled once in `src/sampling/pairs.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/sampling/pairs.hpp"

namespace simile {

SIMILE_INLINE Labels view_labels(Index n, Index views) {
  check(n >= 1 && views >= 1, "view_labels: n ", n, " and views ", views, " must be positive");
  Labels l(static_cast<std::size_t>(n * views));
  for (Index r = 0; r < n * views; ++r) l[static_cast<std::size_t>(r)] = r % n;
  return l;
}

SIMILE_INLINE PairSet all_pairs(std::span<const std::int64_t> labels) {
  PairSet out;
  const auto n = static_cast<Index>(labels.size());
  for (Index a = 0; a < n; ++a)
    for (Index b = a + 1; b < n; ++b)
      out.push_back({a, b, labels[static_cast<std::size_t>(a)] == labels[static_cast<std::size_t>(b)]});
  return out;
}

SIMILE_INLINE PairSet positive_pairs(std::span<const std::int64_t> labels) {
  PairSet out;
  for (const IndexPair& p : all_pairs(labels))
    if (p.same) out.push_back(p);
  return out;
}

SIMILE_INLINE TripletSet all_triplets(std::span<const std::int64_t> labels) {
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
