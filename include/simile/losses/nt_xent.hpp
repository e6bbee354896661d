#pragma once
/// \file
/// NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR (Chen, Kornblith, Norouzi, Hinton,
/// "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020), fused: one
/// forward and one hand-written backward, no graph of small ops.
///
/// Layout: z is [2N, D]; rows i and i + N (0 <= i < N) are the two views of sample i, i.e. z is the
/// first views of the batch stacked on top of the second views (`concat({z1, z2})`). The positive of
/// row i is its partner p(i) = (i + N) mod 2N; the other 2N - 2 rows are its negatives.
///
///   u_i   = z_i / max(||z_i||, eps)                         (cosine similarity: rows normalized inside)
///   s_ij  = u_i . u_j / tau
///   l_i   = -log( exp(s_i,p(i)) / sum_{j != i} exp(s_ij) ) = logsumexp_{j != i}(s_ij) - s_i,p(i)
///   L     = (1 / 2N) sum_i l_i
///
/// Backward: with P_ij = exp(s_ij - lse_i) (P_ii = 0), dL/ds_ij = (P_ij - [j = p(i)]) / 2N, and since
/// s is symmetric, dL/du = (1 / (2N tau)) G u with G_ij = P_ij + P_ji - 2 [j = p(i)]. Because s_ji = s_ij,
/// P_ji = exp(s_ij - lse_j) is read from row i too: each row tile of G, hence of dL/du, is computed from
/// that tile's own similarities, with no scatter into other rows. The row normalization's backward
/// (a projection) follows.
///
/// Two ways to run it (`NtXentOptions::tile`):
/// - tile = 0 (default): the [2N, 2N] similarity matrix is kept for the backward (one GEMM forward,
///   one GEMM backward). Memory 4 N^2 elements.
/// - tile > 0: memory-bounded. The forward computes each row's logsumexp tile by tile ([tile, 2N] at a
///   time per thread) and keeps only the 2N logsumexps; the backward recomputes the tiles (one more
///   GEMM). Memory O(threads x tile x N), never the full matrix, so N = 65,536 views per side fits in
///   well under a gigabyte where the full float matrix alone would take 69 GB.
/// Both work in row tiles whose boundaries do not depend on the thread count and sum the loss in row
/// order, so the result is the same bits for any thread count.
///
/// Global negatives (`NtXentOptions::comm`, data-parallel training over N ranks of b samples each):
/// every rank holds its 2b rows; the normalized rows of all ranks are gathered (2B x D values), each
/// rank computes the similarity rows, logsumexps and losses of its own rows only (1 / N of the work),
/// and the 2B logsumexps and row losses are gathered (every rank then has the same loss, summed in the
/// order of one process's rows). The backward needs no communication: row i's gradient is
/// (1 / (2B tau)) sum_j G_ij u_j with G_ij = P_ij + P_ji - 2 [j = p(i)], and P_ji = exp(s_ij - lse_j)
/// uses rank j's gathered logsumexp, so each rank gets dL/dz of its own rows from its own similarity
/// rows, with every term counted once: as anchor, as positive and as another rank's negative. The
/// trainer's all-reduce of the parameter gradients adds the ranks' shares.
///
/// Numerics: every logsumexp subtracts the row maximum, so temperature 0.01 (logits up to 100) neither
/// overflows nor loses precision; every P_ij is at most 1.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/losses/detail/rows.hpp"
#include "simile/ops/distributed.hpp"

namespace simile {

/// Options of `nt_xent`.
struct NtXentOptions {
  double temperature = 0.5;  ///< tau > 0 (SimCLR uses 0.1 to 0.5; 0.5 is its CIFAR-10 setting)
  Index tile = 0;            ///< 0: keep the [2N, 2N] similarities; > 0: rows per tile, memory-bounded
  double eps = 1e-12;        ///< norm clamp of the row normalization, as in F.normalize
  /// Global negatives in data-parallel training: with more than one rank, z is this rank's [2b, D]
  /// (its b samples' two views) and the loss is NT-Xent over the global batch of all ranks' rows (see
  /// the file comment). Every rank must call. Null or one rank: z is the whole batch.
  Communicator* comm = nullptr;
};

namespace detail {

/// Rows per tile of the plain (tile = 0) mode: fixed, so the bits do not depend on the thread count.
inline constexpr Index nt_xent_block = 128;

/// The state the backward needs, shared between the forward and the backward closure. Global rows are
/// in rank order: rank q's 2b rows (its first views, then its second views) at [2bq, 2b(q + 1)), so
/// with one rank they are z's rows.
template <Real T>
struct NtXentState {
  NormalizedRows<T> rows;  ///< this rank's rows, normalized
  Tensor<T> u;    ///< [R, D] every rank's normalized rows (rows.u itself with one rank)
  Tensor<T> lse;  ///< [R]: logsumexp_{j != i} s_ij of every global row
  Tensor<T> sim;  ///< [2b, R] this rank's similarity rows with -inf on the diagonal (plain mode only)
  Index b = 0;    ///< samples per rank; a rank has 2b rows
  Index first = 0;  ///< the global index of this rank's row 0
  Index tile = 0; ///< rows per tile
  bool keep = false;
  T inv_tau = 1;

  Index global_rows() const { return u.dim(0); }
  /// The positive of global row j: the other view of its sample, in the same rank's block.
  Index partner(Index j) const { return (j / (2 * b)) * (2 * b) + (j % (2 * b) + b) % (2 * b); }
};

/// Similarity rows of this rank's rows [r0, r0 + S.rows()): u_i u^T / tau over all global rows, with
/// -inf on the diagonal (self-similarity excluded).
template <Real T, class Block>
void nt_xent_similarities(const NtXentState<T>& st, Index r0, Block&& S) {
  auto U = st.u.matrix(st.global_rows(), st.u.cols());
  S.noalias() = st.inv_tau * (U.middleRows(st.first + r0, S.rows()) * U.transpose());
  for (Index k = 0; k < S.rows(); ++k) S(k, st.first + r0 + k) = -std::numeric_limits<T>::infinity();
}

/// Turns similarity rows [r0, ...) into rows of G = P + P^T - 2 [j = p(i)], in place.
template <Real T, class Block>
void nt_xent_gradient_rows(const NtXentState<T>& st, Index r0, Block&& S) {
  Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> lse(st.lse.data(), st.global_rows());
  for (Index k = 0; k < S.rows(); ++k) {
    const Index i = st.first + r0 + k;
    auto s = S.row(k).array();
    s = (s - lse(i)).exp() + (s - lse).exp();
    S(k, st.partner(i)) -= T(2);
  }
}

}  // namespace detail

/// NT-Xent loss of SimCLR (see the file comment for the formula, layout and backward).
///
/// `z`: [2N, D], N >= 1, rows i and i + N the two views of sample i. Returns a scalar, the mean over the
/// 2N rows. Requires temperature > 0 and tile >= 0; throws `ShapeError` / `ValueError` naming the values.
/// Backward accumulates dL/dz into z's gradient.
template <Real T>
Var<T> nt_xent(const Var<T>& z, const NtXentOptions& opt = {}) {
  check<ShapeError>(z.shape().rank() == 2, "nt_xent: z must be 2-D [2N, D], got shape ", z.shape());
  const Index Rl = z.dim(0), D = z.dim(1);
  check<ShapeError>(Rl % 2 == 0, "nt_xent: z has ", Rl, " rows, expected an even number (2 views x batch)");
  check<ShapeError>(Rl >= 2, "nt_xent: z has 0 rows, expected at least 2 (2 views x batch)");
  check(opt.temperature > 0 && std::isfinite(opt.temperature), "nt_xent: temperature ", opt.temperature,
        " must be positive and finite");
  check(opt.tile >= 0, "nt_xent: tile ", opt.tile, " must be 0 (whole matrix) or a positive row count");
  check(opt.eps > 0, "nt_xent: eps ", opt.eps, " must be positive");
  const bool distributed = is_distributed(opt.comm);
  const int ranks = distributed ? opt.comm->size() : 1;

  auto st = std::make_shared<detail::NtXentState<T>>();
  st->b = Rl / 2;
  st->keep = opt.tile == 0;
  st->tile = st->keep ? detail::nt_xent_block : opt.tile;
  st->inv_tau = T(1.0 / opt.temperature);
  st->rows = detail::normalize_rows(z.value(), opt.eps);
  const Index R = Rl * ranks;  // global rows
  if (distributed) {
    // Every rank's normalized rows, in rank order (all ranks must have the same shard: checked).
    check_same_shard(*opt.comm, z.shape(), "nt_xent");
    st->u = Tensor<T>::empty({R, D});
    all_gather(*opt.comm, std::span<const T>(st->rows.u.span()), st->u.span());
    st->first = Rl * opt.comm->rank();
  } else {
    st->u = st->rows.u;
  }
  Tensor<T> lse_local = Tensor<T>::empty({Rl});
  if (st->keep) st->sim = Tensor<T>::empty({Rl, R});

  std::vector<T> row_loss(static_cast<std::size_t>(Rl));
  const Index tiles = detail::tile_count(Rl, st->tile);
  parallel_for(0, tiles, 1, [&](Index tb, Index te) {
    Tensor<T> work;  // this thread's [tile, R] block in the memory-bounded mode
    if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, Rl), R});
    for (Index t = tb; t < te; ++t) {
      const Index r0 = t * st->tile, b = std::min(st->tile, Rl - r0);
      auto S = st->keep ? st->sim.matrix(Rl, R).middleRows(r0, b) : work.matrix().topRows(b);
      detail::nt_xent_similarities(*st, r0, S);
      for (Index k = 0; k < b; ++k) {
        const Index i = r0 + k;
        T lse = detail::row_logsumexp<T>(S.row(k));
        lse_local.data()[i] = lse;
        row_loss[static_cast<std::size_t>(i)] = lse - S(k, st->partner(st->first + i));
      }
    }
  });
  double total = 0;
  if (distributed) {
    // Every row's logsumexp (the backward needs P_ji of other ranks' rows j) and loss; the loss is
    // summed in the order of one process's rows (first views of the global batch, then second views).
    st->lse = Tensor<T>::empty({R});
    all_gather(*opt.comm, std::span<const T>(lse_local.span()), st->lse.span());
    std::vector<T> all_loss(static_cast<std::size_t>(R));
    all_gather(*opt.comm, std::span<const T>(row_loss), std::span<T>(all_loss));
    const Index b = st->b;
    for (Index v = 0; v < 2; ++v)
      for (int q = 0; q < ranks; ++q)
        for (Index i = 0; i < b; ++i) total += static_cast<double>(all_loss[std::size_t(2 * b * q + v * b + i)]);
  } else {
    st->lse = lse_local;
    for (T l : row_loss) total += static_cast<double>(l);  // row order: the same bits for any thread count
  }
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(R)));

  return make_op<T>("nt_xent", std::move(out), {z}, [st, D](Node<T>& self) {
    Tensor<T>* gz = self.grad_for(0);
    if (!gz) return;
    const Index R = st->global_rows(), Rl = 2 * st->b;
    auto U = st->u.matrix(R, D);
    const T scale = self.grad.item() * st->inv_tau / T(R);
    const Index tiles = detail::tile_count(Rl, st->tile);
    parallel_for(0, tiles, 1, [&](Index tb, Index te) {
      Tensor<T> work;
      if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, Rl), R});
      Tensor<T> du = Tensor<T>::empty({std::min(st->tile, Rl), D});
      for (Index t = tb; t < te; ++t) {
        const Index r0 = t * st->tile, b = std::min(st->tile, Rl - r0);
        auto S = st->keep ? st->sim.matrix(Rl, R).middleRows(r0, b) : work.matrix().topRows(b);
        if (!st->keep) detail::nt_xent_similarities(*st, r0, S);
        detail::nt_xent_gradient_rows(*st, r0, S);
        auto dU = du.matrix().topRows(b);
        dU.noalias() = scale * (S * U);
        detail::normalize_rows_backward(st->rows, r0, dU, *gz);
      }
    });
    // The similarities were overwritten by G: release them now rather than with the graph.
    st->sim = Tensor<T>();
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_NT_XENT(P, T) \
  P template Var<T> nt_xent<T>(const Var<T>& z, const NtXentOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_NT_XENT)

}  // namespace simile
