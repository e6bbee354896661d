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
/// Numerics: every logsumexp subtracts the row maximum, so temperature 0.01 (logits up to 100) neither
/// overflows nor loses precision; every P_ij is at most 1.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/losses/detail/rows.hpp"

namespace simile {

/// Options of `nt_xent`.
struct NtXentOptions {
  double temperature = 0.5;  ///< tau > 0 (SimCLR uses 0.1 to 0.5; 0.5 is its CIFAR-10 setting)
  Index tile = 0;            ///< 0: keep the [2N, 2N] similarities; > 0: rows per tile, memory-bounded
  double eps = 1e-12;        ///< norm clamp of the row normalization, as in F.normalize
};

namespace detail {

/// Rows per tile of the plain (tile = 0) mode: fixed, so the bits do not depend on the thread count.
inline constexpr Index nt_xent_block = 128;

/// The state the backward needs, shared between the forward and the backward closure.
template <Real T>
struct NtXentState {
  NormalizedRows<T> rows;
  Tensor<T> lse;  ///< [2N]: logsumexp_{j != i} s_ij
  Tensor<T> sim;  ///< [2N, 2N] similarities with -inf on the diagonal (plain mode only)
  Index n = 0;    ///< N (samples); z has 2N rows
  Index tile = 0; ///< rows per tile
  bool keep = false;
  T inv_tau = 1;
};

/// s rows [r0, r0 + S.rows()) = u_r u^T / tau, with -inf on the diagonal (self-similarity excluded).
template <Real T, class Block>
void nt_xent_similarities(const NtXentState<T>& st, Index r0, Block&& S) {
  const Index R = st.rows.u.rows();
  auto U = st.rows.u.matrix(R, st.rows.u.cols());
  S.noalias() = st.inv_tau * (U.middleRows(r0, S.rows()) * U.transpose());
  for (Index k = 0; k < S.rows(); ++k) S(k, r0 + k) = -std::numeric_limits<T>::infinity();
}

/// Turns similarity rows [r0, ...) into rows of G = P + P^T - 2 [j = p(i)], in place.
template <Real T, class Block>
void nt_xent_gradient_rows(const NtXentState<T>& st, Index r0, Block&& S) {
  const Index R = 2 * st.n;
  Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> lse(st.lse.data(), R);
  for (Index k = 0; k < S.rows(); ++k) {
    const Index i = r0 + k;
    auto s = S.row(k).array();
    s = (s - lse(i)).exp() + (s - lse).exp();
    S(k, (i + st.n) % R) -= T(2);
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
  const Index R = z.dim(0), D = z.dim(1);
  check<ShapeError>(R % 2 == 0, "nt_xent: z has ", R, " rows, expected an even number (2 views x batch)");
  check<ShapeError>(R >= 2, "nt_xent: z has 0 rows, expected at least 2 (2 views x batch)");
  check(opt.temperature > 0 && std::isfinite(opt.temperature), "nt_xent: temperature ", opt.temperature,
        " must be positive and finite");
  check(opt.tile >= 0, "nt_xent: tile ", opt.tile, " must be 0 (whole matrix) or a positive row count");
  check(opt.eps > 0, "nt_xent: eps ", opt.eps, " must be positive");

  auto st = std::make_shared<detail::NtXentState<T>>();
  st->n = R / 2;
  st->keep = opt.tile == 0;
  st->tile = st->keep ? detail::nt_xent_block : opt.tile;
  st->inv_tau = T(1.0 / opt.temperature);
  st->rows = detail::normalize_rows(z.value(), opt.eps);
  st->lse = Tensor<T>::empty({R});
  if (st->keep) st->sim = Tensor<T>::empty({R, R});

  std::vector<T> row_loss(static_cast<std::size_t>(R));
  const Index tiles = detail::tile_count(R, st->tile);
  parallel_for(0, tiles, 1, [&](Index tb, Index te) {
    Tensor<T> work;  // this thread's [tile, 2N] block in the memory-bounded mode
    if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, R), R});
    for (Index t = tb; t < te; ++t) {
      const Index r0 = t * st->tile, b = std::min(st->tile, R - r0);
      auto S = st->keep ? st->sim.matrix(R, R).middleRows(r0, b) : work.matrix().topRows(b);
      detail::nt_xent_similarities(*st, r0, S);
      for (Index k = 0; k < b; ++k) {
        const Index i = r0 + k;
        T lse = detail::row_logsumexp<T>(S.row(k));
        st->lse.data()[i] = lse;
        row_loss[static_cast<std::size_t>(i)] = lse - S(k, (i + st->n) % R);
      }
    }
  });
  double total = 0;  // row order: the same bits for any thread count
  for (T l : row_loss) total += static_cast<double>(l);
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(R)));

  return make_op<T>("nt_xent", std::move(out), {z}, [st, D](Node<T>& self) {
    Tensor<T>* gz = self.grad_for(0);
    if (!gz) return;
    const Index R = 2 * st->n;
    auto U = st->rows.u.matrix(R, D);
    const T scale = self.grad.item() * st->inv_tau / T(R);
    const Index tiles = detail::tile_count(R, st->tile);
    parallel_for(0, tiles, 1, [&](Index tb, Index te) {
      Tensor<T> work;
      if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, R), R});
      Tensor<T> du = Tensor<T>::empty({std::min(st->tile, R), D});
      for (Index t = tb; t < te; ++t) {
        const Index r0 = t * st->tile, b = std::min(st->tile, R - r0);
        auto S = st->keep ? st->sim.matrix(R, R).middleRows(r0, b) : work.matrix().topRows(b);
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
