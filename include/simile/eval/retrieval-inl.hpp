#pragma once
/// \file
/// The definitions behind `simile/eval/retrieval.hpp`: compiled once in `src/eval/retrieval.cpp`, or included
/// by that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <algorithm>

#include "simile/eval/retrieval.hpp"

namespace simile {

namespace detail {
/// Throws NumericError naming `fn`, `what` and the first row of `x` that holds a NaN or an infinity.
inline void check_finite_rows(const char* fn, const char* what, const Tensor<float>& x) {
  auto m = x.matrix();
  if (m.allFinite()) return;
  for (Index i = 0; i < m.rows(); ++i)
    check<NumericError>(m.row(i).allFinite(), fn, ": ", what, " row ", i, " holds a NaN or an infinity");
}
}  // namespace detail

SIMILE_INLINE std::vector<Index> retrieval_ranks(const Tensor<float>& queries, const Tensor<float>& documents,
                                                 std::span<const Index> relevant, bool cosine, Index block) {
  const char* fn = "retrieval_ranks";
  check<ShapeError>(queries.rank() == 2 && documents.rank() == 2 && queries.dim(1) == documents.dim(1), fn,
                    ": expected queries [Q, D] and documents [N, D], got ", queries.shape(), " and ",
                    documents.shape());
  const Index q = queries.dim(0), n = documents.dim(0);
  check<ShapeError>(static_cast<Index>(relevant.size()) == q, fn, ": ", relevant.size(), " relevant indices for ", q,
                    " queries (one per query)");
  check<ValueError>(block >= 1, fn, ": block ", block, " must be >= 1");
  for (std::size_t i = 0; i < relevant.size(); ++i)
    check<ValueError>(relevant[i] >= 0 && relevant[i] < n, fn, ": relevant[", i, "] = ", relevant[i],
                      " is out of range for ", n, " documents");
  detail::check_finite_rows(fn, "queries", queries);
  detail::check_finite_rows(fn, "documents", documents);
  std::vector<Index> ranks(static_cast<std::size_t>(q));
  if (q == 0) return ranks;

  const Tensor<float> qn = cosine ? detail::normalized_rows(queries) : queries;
  const Tensor<float> dn = cosine ? detail::normalized_rows(documents) : documents;
  const Index rows_max = std::min(block, q);
  Tensor<float> scores = Tensor<float>::empty({rows_max, n});
  for (Index b0 = 0; b0 < q; b0 += rows_max) {
    const Index rows = std::min(rows_max, q - b0);
    auto s = scores.matrix(rows_max, n).topRows(rows);
    s.noalias() = qn.matrix().middleRows(b0, rows) * dn.matrix().transpose();
    parallel_for(0, rows, 16, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        const float mine = s(i, relevant[static_cast<std::size_t>(b0 + i)]);
        // Counts the relevant document itself once: 1 + those above + the other ties.
        ranks[static_cast<std::size_t>(b0 + i)] = (s.row(i).array() >= mine).count();
      }
    });
  }
  return ranks;
}

SIMILE_INLINE RetrievalResult retrieval_metrics(const Tensor<float>& queries, const Tensor<float>& documents,
                                                std::span<const Index> relevant, bool cosine, Index block) {
  std::vector<Index> ranks = retrieval_ranks(queries, documents, relevant, cosine, block);
  RetrievalResult r;
  r.queries = static_cast<Index>(ranks.size());
  if (ranks.empty()) return r;
  Index top1 = 0, top10 = 0;
  double reciprocal = 0;
  for (Index rank : ranks) {
    top1 += rank <= 1;
    top10 += rank <= 10;
    reciprocal += 1.0 / static_cast<double>(rank);
  }
  const auto count = static_cast<double>(ranks.size());
  r.recall_at_1 = static_cast<double>(top1) / count;
  r.recall_at_10 = static_cast<double>(top10) / count;
  r.mrr = reciprocal / count;
  return r;
}

}  // namespace simile
