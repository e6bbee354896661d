#pragma once
/// \file
/// Supervised contrastive loss, SupCon (Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu,
/// Krishnan, "Supervised Contrastive Learning", NeurIPS 2020; the L_out form), fused.
///
/// z is [R, D] (all views of all samples, any order) and `labels` gives each row's class. The positives
/// of anchor i are P(i) = { p != i : label_p = label_i }, every other view with the same label; the
/// denominator runs over all a != i:
///
///   u_i = z_i / max(||z_i||, eps),  s_ij = u_i . u_j / tau
///   l_i = logsumexp_{a != i}(s_ia) - (1 / |P(i)|) sum_{p in P(i)} s_ip
///   L   = mean of l_i over the anchors with at least one positive (anchors without one are skipped; a
///         batch where no anchor has a positive throws).
/// With two views per sample laid out as NT-Xent's [2N, D] and each sample its own label, SupCon is
/// NT-Xent. (The authors' code also scales by tau / base_tau, 1 with its defaults; it is left out.)
///
/// Backward, as for NT-Xent: with w_i = 1 / (anchor count) for an anchor (0 otherwise),
/// c_i = w_i / |P(i)| and P_ij = exp(s_ij - lse_i), dL/ds_ij = w_i P_ij - c_i [j in P(i)], and
/// dL/du = (1 / tau) (G + G^T) u where (G + G^T)_ij = w_i P_ij + w_j exp(s_ij - lse_j) - (c_i + c_j)[j in P(i)]
/// is computed row-locally from s_ij. `tile` > 0 recomputes the similarities in the backward instead
/// of keeping the [R, R] matrix (memory O(threads x tile x R)).

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/losses/detail/rows.hpp"

namespace simile {

/// Options of `supcon`.
struct SupConOptions {
  double temperature = 0.1;  ///< tau > 0 (the paper uses 0.1)
  Index tile = 0;            ///< 0: keep the [R, R] similarities; > 0: rows per tile, memory-bounded
  double eps = 1e-12;        ///< norm clamp of the row normalization
};

namespace detail {

inline constexpr Index supcon_block = 128;

template <Real T>
struct SupConState {
  NormalizedRows<T> rows;
  std::vector<std::int64_t> labels;
  Tensor<T> lse;    ///< [R]
  Tensor<T> w, c;   ///< [R]: w_i and c_i = w_i / |P(i)|
  Tensor<T> sim;    ///< [R, R] with -inf on the diagonal (tile = 0)
  Index r = 0, d = 0, tile = 0;
  bool keep = false;
  T inv_tau = 1;
};

template <Real T, class Block>
void supcon_similarities(const SupConState<T>& st, Index r0, Block&& S) {
  auto U = st.rows.u.matrix(st.r, st.d);
  S.noalias() = st.inv_tau * (U.middleRows(r0, S.rows()) * U.transpose());
  for (Index k = 0; k < S.rows(); ++k) S(k, r0 + k) = -std::numeric_limits<T>::infinity();
}

}  // namespace detail

/// SupCon loss of z [R, D] with one label per row (see the file comment). Throws `ShapeError` when
/// labels and rows disagree, `ValueError` for a temperature <= 0 or a batch where no row has a positive.
template <Real T>
Var<T> supcon(const Var<T>& z, std::span<const std::int64_t> labels, const SupConOptions& opt = {}) {
  check<ShapeError>(z.shape().rank() == 2, "supcon: z must be 2-D [R, D], got shape ", z.shape());
  const Index R = z.dim(0), D = z.dim(1);
  check<ShapeError>(static_cast<Index>(labels.size()) == R, "supcon: ", labels.size(), " labels for ", R,
                    " rows of z");
  check(opt.temperature > 0 && std::isfinite(opt.temperature), "supcon: temperature ", opt.temperature,
        " must be positive and finite");
  check(opt.tile >= 0, "supcon: tile ", opt.tile, " must be 0 (whole matrix) or a positive row count");
  check(opt.eps > 0, "supcon: eps ", opt.eps, " must be positive");

  auto st = std::make_shared<detail::SupConState<T>>();
  st->r = R, st->d = D;
  st->labels.assign(labels.begin(), labels.end());
  st->keep = opt.tile == 0;
  st->tile = st->keep ? detail::supcon_block : opt.tile;
  st->inv_tau = T(1.0 / opt.temperature);
  st->rows = detail::normalize_rows(z.value(), opt.eps);
  st->lse = Tensor<T>::empty({R});
  st->w = Tensor<T>::zeros({R});
  st->c = Tensor<T>::zeros({R});
  std::vector<Index> positives(static_cast<std::size_t>(R), 0);
  Index anchors = 0;
  {
    std::vector<std::int64_t> sorted(labels.begin(), labels.end());
    std::sort(sorted.begin(), sorted.end());
    for (Index i = 0; i < R; ++i) {
      auto [lo, hi] = std::equal_range(sorted.begin(), sorted.end(), labels[static_cast<std::size_t>(i)]);
      positives[static_cast<std::size_t>(i)] = (hi - lo) - 1;
      anchors += (hi - lo) > 1;
    }
  }
  check(anchors > 0, "supcon: no row of the ", R, " has a positive (another row with its label)");
  for (Index i = 0; i < R; ++i)
    if (Index p = positives[static_cast<std::size_t>(i)]) {
      st->w.data()[i] = T(1) / T(anchors);
      st->c.data()[i] = T(1) / (T(anchors) * T(p));
    }
  if (st->keep) st->sim = Tensor<T>::empty({R, R});

  std::vector<T> row_loss(static_cast<std::size_t>(R), T(0));
  parallel_for(0, detail::tile_count(R, st->tile), 1, [&](Index tb, Index te) {
    Tensor<T> work;
    if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, R), R});
    for (Index t = tb; t < te; ++t) {
      const Index r0 = t * st->tile, b = std::min(st->tile, R - r0);
      auto S = st->keep ? st->sim.matrix(R, R).middleRows(r0, b) : work.matrix().topRows(b);
      detail::supcon_similarities(*st, r0, S);
      for (Index k = 0; k < b; ++k) {
        const Index i = r0 + k;
        const T lse = detail::row_logsumexp<T>(S.row(k));
        st->lse.data()[i] = lse;
        const Index p = positives[static_cast<std::size_t>(i)];
        if (p == 0) continue;
        T pos = 0;
        const std::int64_t li = st->labels[static_cast<std::size_t>(i)];
        for (Index j = 0; j < R; ++j)
          if (j != i && st->labels[static_cast<std::size_t>(j)] == li) pos += S(k, j);
        row_loss[static_cast<std::size_t>(i)] = lse - pos / T(p);
      }
    }
  });
  double total = 0;
  for (T l : row_loss) total += static_cast<double>(l);
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(anchors)));

  return make_op<T>("supcon", std::move(out), {z}, [st](Node<T>& self) {
    Tensor<T>* gz = self.grad_for(0);
    if (!gz) return;
    const Index R = st->r, D = st->d;
    auto U = st->rows.u.matrix(R, D);
    const T scale = self.grad.item() * st->inv_tau;
    Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> lse(st->lse.data(), R), w(st->w.data(), R),
        c(st->c.data(), R);
    parallel_for(0, detail::tile_count(R, st->tile), 1, [&](Index tb, Index te) {
      Tensor<T> work;
      if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, R), R});
      Tensor<T> du = Tensor<T>::empty({std::min(st->tile, R), D});
      for (Index t = tb; t < te; ++t) {
        const Index r0 = t * st->tile, b = std::min(st->tile, R - r0);
        auto S = st->keep ? st->sim.matrix(R, R).middleRows(r0, b) : work.matrix().topRows(b);
        if (!st->keep) detail::supcon_similarities(*st, r0, S);
        for (Index k = 0; k < b; ++k) {
          const Index i = r0 + k;
          auto s = S.row(k).array();
          s = w(i) * (s - lse(i)).exp() + w * (s - lse).exp();
          const std::int64_t li = st->labels[static_cast<std::size_t>(i)];
          for (Index j = 0; j < R; ++j)
            if (j != i && st->labels[static_cast<std::size_t>(j)] == li) S(k, j) -= c(i) + c(j);
        }
        auto dU = du.matrix().topRows(b);
        dU.noalias() = scale * (S * U);
        detail::normalize_rows_backward(st->rows, r0, dU, *gz);
      }
    });
    st->sim = Tensor<T>();
  });
}

/// The same with labels in a vector.
template <Real T>
Var<T> supcon(const Var<T>& z, const std::vector<std::int64_t>& labels, const SupConOptions& opt = {}) {
  return supcon(z, std::span<const std::int64_t>(labels), opt);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_SUPCON(P, T) \
  P template Var<T> supcon<T>(const Var<T>& z, std::span<const std::int64_t> labels, const SupConOptions& opt); \
  P template Var<T> supcon<T>(const Var<T>& z, const std::vector<std::int64_t>& labels, const SupConOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_SUPCON)

}  // namespace simile
