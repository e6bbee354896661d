#pragma once
/// \file
/// Retrieval evaluation of embeddings: each query has one relevant document among N (a gloss and its
/// synset's lemmas, a sentence and its paraphrase); documents are ranked by similarity to the query and
/// the rank of the relevant one gives recall\@k and the mean reciprocal rank (Voorhees 1999).
///
/// Exact and blocked: queries go through in blocks of `block` rows, each block's scores against all
/// documents are one GEMM ([block, D] x [D, N]), and only that [block, N] matrix exists at a time, so
/// memory stays at block x N floats for any number of queries. Ranks are counted in parallel over the
/// rows of a block.

#include <cstdint>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/eval/knn.hpp"

namespace simile {

/// Retrieval quality over a set of queries.
struct RetrievalResult {
  double recall_at_1 = 0;   ///< fraction of queries whose relevant document ranks first
  double recall_at_10 = 0;  ///< fraction of queries whose relevant document ranks in the first 10
  double mrr = 0;           ///< mean over queries of 1 / rank
  Index queries = 0;        ///< number of queries Q
};

/// The rank (1-based) of each query's relevant document among all documents.
///
/// `queries` [Q, D], `documents` [N, D], `relevant` Q indices in 0..N-1. Score s(q, j) = <q, d_j>, on
/// L2-normalized rows when `cosine` (cosine similarity; a zero row stays zero and scores 0 with
/// everything). With r = relevant[q]:
///
///     rank(q) = 1 + #{j : s(q, j) > s(q, r)} + #{j != r : s(q, j) = s(q, r)}
///
/// Ties are pessimistic: a document scoring exactly as much as the relevant one counts as ranked above
/// it, so identical embeddings never look good. Every score of a row, the relevant one included, comes
/// out of the same product, so a document equal to the relevant one always ties with it.
/// `block` >= 1 queries are scored at a time (memory block x N floats).
///
/// Throws ShapeError for shapes that do not fit (rank 2, the same D, Q entries in `relevant`),
/// ValueError for a relevant index outside 0..N-1 or block < 1, NumericError for a non-finite embedding.
std::vector<Index> retrieval_ranks(const Tensor<float>& queries, const Tensor<float>& documents,
                                   std::span<const Index> relevant, bool cosine = true, Index block = 256);

/// Recall@1, recall@10 and MRR of `retrieval_ranks` (same arguments and errors):
///
///     recall@k = (1/Q) #{q : rank(q) <= k},   MRR = (1/Q) sum_q 1 / rank(q)
///
/// All zero when Q = 0.
RetrievalResult retrieval_metrics(const Tensor<float>& queries, const Tensor<float>& documents,
                                  std::span<const Index> relevant, bool cosine = true, Index block = 256);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/retrieval-inl.hpp"
#endif
