#pragma once
/// \file
/// InfoNCE (van den Oord, Li, Vinyals, "Representation Learning with Contrastive Predictive Coding",
/// 2018) in its general form, fused: queries q [N, D], positive keys k [N, D] (row i of k is the positive
/// of row i of q), and negatives that are either the batch's other keys (in-batch form) or a separate
/// set n [M, D], such as the MoCo queue (He et al., "Momentum Contrast for Unsupervised Visual
/// Representation Learning", CVPR 2020), which receives no gradient.
///
///   u = x / max(||x||, eps) for q, k and n when `normalize` (cosine similarity), else u = x
///   a_i  = uq_i . uk_i / tau                   (positive logit)
///   l_ij = uq_i . uk_j / tau, j != i           (in-batch negatives, M' = N - 1 of them)
///        = uq_i . un_j / tau                   (explicit negatives, M' = M)
///   loss_i = -log( e^a_i / (e^a_i + sum_j e^l_ij) ),   L = (1/N) sum_i loss_i
/// The in-batch form is the cross-entropy of the [N, N] logits uq uk^T / tau with labels 0..N-1.
///
/// Options, both off by default:
/// - Debiased contrastive loss (Chuang, Robinson, Lin, Torralba, Jegelka, NeurIPS 2020), class prior
///   tau_plus in [0, 1): the negatives' term sum_j e^l_ij is replaced by
///   Ng_i = max( (R_i - tau_plus M' e^a_i) / (1 - tau_plus),  M' e^(-1/tau) ),
///   with R_i = sum_j e^l_ij in the debiased loss.
/// - Hard-negative weighting (Robinson, Chuang, Sra, Jegelka, "Contrastive Learning with Hard Negative
///   Samples", ICLR 2021), concentration beta >= 0: R_i = sum_j w_ij e^l_ij with importance weights
///   w_ij = e^(beta l_ij) / mean_j e^(beta l_ij), i.e. R_i = M' sum_j e^((beta+1) l_ij) / sum_j e^(beta l_ij).
///   The weights are differentiated through, as in the authors' code.
///   loss_i = -log( e^a_i / (e^a_i + Ng_i) ).
///   The floor M' e^(-1/tau) is the smallest value the negatives' term can take with cosine logits; a
///   clamped row passes no gradient through Ng.
///
/// Every exponential is taken after subtracting the row's largest logit (log-domain sums), so
/// temperature 0.01 (logits up to 100) neither overflows nor loses the leading terms.
///
/// Backward (fused): per row the gradient of the loss w.r.t. its logits, then dq = dL/dlogits keys / tau
/// and the keys' share through the transposed product; the normalization's backward follows. With
/// `tile` > 0 the [N, M'] logits are never materialized: the forward keeps per-row statistics, and the
/// backward recomputes each [tile, M'] block (memory O(threads x tile x M')).
/// Determinism: row tiles do not depend on the thread count and the loss is summed in row order; in
/// the in-batch form the keys' gradient adds per-thread partial sums in thread order, so it is the same
/// bits for the same thread count.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/losses/detail/rows.hpp"

namespace simile {

/// Options of `info_nce`.
struct InfoNceOptions {
  double temperature = 0.07;  ///< tau > 0 (MoCo v1 uses 0.07, MoCo v2 0.2)
  bool normalize = true;      ///< cosine similarity (rows L2-normalized inside) or raw dot products
  double tau_plus = 0;        ///< debiasing class prior in [0, 1) (Chuang et al. 2020); 0 = off
  double beta = 0;            ///< hard-negative concentration >= 0 (Robinson et al. 2021); 0 = off
  Index tile = 0;             ///< 0: keep the logits matrix; > 0: query rows per tile, memory-bounded
  double eps = 1e-12;         ///< norm clamp of the normalization, as in F.normalize
};

namespace detail {

inline constexpr Index info_nce_block = 128;

template <Real T>
struct InfoNceState {
  NormalizedRows<T> q, k;
  Tensor<T> neg_u;        ///< [M, D] normalized negatives (explicit form), or undefined (in-batch)
  Tensor<T> logits;       ///< [N, M'] kept logits (tile = 0)
  Tensor<T> da;           ///< [N] dloss_i / da_i
  Tensor<T> coef;         ///< [N] K_i: dloss_i/dl_ij = K_i ((beta+1) e^((beta+1) l_ij - logA_i) - beta e^(beta l_ij - logB_i))
  Tensor<T> log_a;        ///< [N] logA_i
  Tensor<T> log_b;        ///< [N] logB_i (used only when beta > 0)
  Index n = 0, d = 0, tile = 0;
  bool keep = false, in_batch = true;
  T inv_tau = 1;
  double tau_plus = 0, beta = 0;

  Index negatives() const { return in_batch ? n : neg_u.rows(); }
  auto keys() const { return in_batch ? k.u.matrix(n, d) : neg_u.matrix(neg_u.rows(), d); }
};

/// Logits rows [r0, r0 + L.rows()) against the keys (in-batch) or the negatives, with -inf where a
/// query meets its own positive in the in-batch form.
template <Real T, class Block>
void info_nce_logits(const InfoNceState<T>& st, Index r0, Block&& L) {
  auto Q = st.q.u.matrix(st.n, st.d);
  L.noalias() = st.inv_tau * (Q.middleRows(r0, L.rows()) * st.keys().transpose());
  if (st.in_batch)
    for (Index r = 0; r < L.rows(); ++r) L(r, r0 + r) = -std::numeric_limits<T>::infinity();
}

/// Positive logit of row i.
template <Real T>
T info_nce_positive(const InfoNceState<T>& st, Index i) {
  return st.inv_tau * st.q.u.matrix(st.n, st.d).row(i).dot(st.k.u.matrix(st.n, st.d).row(i));
}

/// Loss of row i from its positive logit and negatives' logits; stores what the backward needs.
template <Real T, class Row>
T info_nce_row(InfoNceState<T>& st, Index i, T a, const Row& l) {
  const T m_count = T(st.in_batch ? st.n - 1 : st.negatives());
  if (st.tau_plus == 0 && st.beta == 0) {
    T lse = row_logsumexp<T>(l);
    T c = std::max(a, lse);
    T log_z = c + std::log(std::exp(a - c) + std::exp(lse - c));  // logaddexp(a, lse)
    st.da.data()[i] = std::exp(a - log_z) - T(1);
    st.coef.data()[i] = T(1);
    st.log_a.data()[i] = log_z;
    return log_z - a;
  }
  const T beta = T(st.beta), tp = T(st.tau_plus);
  T log_a = row_logsumexp<T>(((beta + 1) * l.array()).matrix());
  T log_b = beta > 0 ? row_logsumexp<T>((beta * l.array()).matrix()) : std::log(m_count);
  T log_r = log_a - log_b + std::log(m_count);  // log R_i
  T c = std::max({a, log_r - std::log(m_count), -st.inv_tau});
  T pos = std::exp(a - c), r = std::exp(log_r - c);
  T ng = (r - tp * m_count * pos) / (T(1) - tp);
  T floor = m_count * std::exp(-st.inv_tau - c);
  bool clamped = !(ng > floor);
  if (clamped) ng = floor;
  T z = pos + ng;
  st.da.data()[i] = pos / z - T(1) - (clamped ? T(0) : tp * m_count * pos / ((T(1) - tp) * z));
  st.coef.data()[i] = clamped ? T(0) : r / ((T(1) - tp) * z);
  st.log_a.data()[i] = log_a;
  st.log_b.data()[i] = log_b;
  return std::log(z) - (a - c);
}

/// Turns logits rows [r0, ...) into dloss/dlogits (unscaled by 1/N), in place; the in-batch diagonal
/// (the positive) gets da_i.
template <Real T, class Block>
void info_nce_gradient_rows(const InfoNceState<T>& st, Index r0, Block&& L) {
  const T beta = T(st.beta);
  for (Index r = 0; r < L.rows(); ++r) {
    const Index i = r0 + r;
    auto row = L.row(r).array();
    const T k = st.coef.data()[i], la = st.log_a.data()[i];
    if (beta > 0) {
      const T lb = st.log_b.data()[i];
      row = k * ((beta + 1) * ((beta + 1) * row - la).exp() - beta * (beta * row - lb).exp());
    } else {
      row = k * (row - la).exp();
    }
    if (st.in_batch) L(r, i) = st.da.data()[i];
  }
}

template <Real T>
Var<T> info_nce_impl(const Var<T>& q, const Var<T>& k, const Tensor<T>* negatives, const InfoNceOptions& opt) {
  check<ShapeError>(q.shape().rank() == 2 && k.shape().rank() == 2, "info_nce: q and k must be 2-D, got ",
                    q.shape(), " and ", k.shape());
  check<ShapeError>(q.shape() == k.shape(), "info_nce: q ", q.shape(), " and positive keys k ", k.shape(),
                    " must have the same shape [N, D]");
  check<ShapeError>(q.dim(0) >= 1, "info_nce: q has 0 rows, expected at least 1");
  const Index N = q.dim(0), D = q.dim(1);
  check(opt.temperature > 0 && std::isfinite(opt.temperature), "info_nce: temperature ", opt.temperature,
        " must be positive and finite");
  check(opt.tau_plus >= 0 && opt.tau_plus < 1, "info_nce: tau_plus ", opt.tau_plus, " must be in [0, 1)");
  check(opt.beta >= 0 && std::isfinite(opt.beta), "info_nce: beta ", opt.beta, " must be >= 0");
  check(opt.tile >= 0, "info_nce: tile ", opt.tile, " must be 0 (whole matrix) or a positive row count");
  check(opt.eps > 0, "info_nce: eps ", opt.eps, " must be positive");
  const bool debiased = opt.tau_plus > 0 || opt.beta > 0;
  if (negatives) {
    check<ShapeError>(negatives->rank() == 2 && negatives->dim(1) == D, "info_nce: negatives ",
                      negatives->shape(), " must be [M, ", D, "] like q ", q.shape());
    check<ShapeError>(negatives->dim(0) >= 1, "info_nce: negatives has 0 rows, expected at least 1");
  } else {
    check<ShapeError>(!debiased || N >= 2, "info_nce: debiasing needs negatives, but the batch has ", N,
                      " row (no in-batch negative)");
  }

  auto st = std::make_shared<InfoNceState<T>>();
  st->n = N, st->d = D;
  st->in_batch = negatives == nullptr;
  st->keep = opt.tile == 0;
  st->tile = st->keep ? info_nce_block : opt.tile;
  st->inv_tau = T(1.0 / opt.temperature);
  st->tau_plus = opt.tau_plus, st->beta = opt.beta;
  st->q = normalize_rows(q.value(), opt.eps, opt.normalize);
  st->k = normalize_rows(k.value(), opt.eps, opt.normalize);
  // Normalizing copies the negatives; raw ones are cloned, so a queue updated before backward cannot
  // change them under it.
  if (negatives) st->neg_u = opt.normalize ? normalize_rows(*negatives, opt.eps).u : negatives->clone();
  for (Tensor<T>* t : {&st->da, &st->coef, &st->log_a, &st->log_b}) *t = Tensor<T>::zeros({N});
  const Index M = st->negatives();
  if (st->keep) st->logits = Tensor<T>::empty({N, M});

  std::vector<T> row_loss(static_cast<std::size_t>(N));
  parallel_for(0, tile_count(N, st->tile), 1, [&](Index tb, Index te) {
    Tensor<T> work;
    if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, N), M});
    for (Index t = tb; t < te; ++t) {
      const Index r0 = t * st->tile, b = std::min(st->tile, N - r0);
      auto L = st->keep ? st->logits.matrix(N, M).middleRows(r0, b) : work.matrix().topRows(b);
      info_nce_logits(*st, r0, L);
      for (Index r = 0; r < b; ++r) {
        const Index i = r0 + r;
        T a = info_nce_positive(*st, i);
        row_loss[static_cast<std::size_t>(i)] = info_nce_row(*st, i, a, L.row(r));
      }
    }
  });
  double total = 0;
  for (T l : row_loss) total += static_cast<double>(l);
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(N)));

  return make_op<T>("info_nce", std::move(out), {q, k}, [st](Node<T>& self) {
    Tensor<T>* gq = self.grad_for(0);
    Tensor<T>* gk = self.grad_for(1);
    if (!gq && !gk) return;
    const Index N = st->n, D = st->d, M = st->negatives();
    const T scale = self.grad.item() * st->inv_tau / T(N);
    auto Q = st->q.u.matrix(N, D);
    auto K = st->k.u.matrix(N, D);
    Tensor<T> dk = Tensor<T>::zeros({N, D});  // dL/du_k
    const Index tiles = tile_count(N, st->tile);
    const int chunks = parallel_chunks(tiles, 1);
    std::vector<Tensor<T>> dk_parts(static_cast<std::size_t>(chunks));
    parallel_chunked(0, tiles, 1, [&](int c, Index tb, Index te) {
      Tensor<T> work;
      if (!st->keep) work = Tensor<T>::empty({std::min(st->tile, N), M});
      Tensor<T> dq = Tensor<T>::empty({std::min(st->tile, N), D});
      Tensor<T> part;
      if (st->in_batch && gk) part = Tensor<T>::zeros({N, D});
      for (Index t = tb; t < te; ++t) {
        const Index r0 = t * st->tile, b = std::min(st->tile, N - r0);
        auto L = st->keep ? st->logits.matrix(N, M).middleRows(r0, b) : work.matrix().topRows(b);
        if (!st->keep) info_nce_logits(*st, r0, L);
        info_nce_gradient_rows(*st, r0, L);
        if (gq) {
          auto dQ = dq.matrix().topRows(b);
          dQ.noalias() = scale * (L * st->keys());
          if (!st->in_batch)
            for (Index r = 0; r < b; ++r) dQ.row(r) += (scale * st->da.data()[r0 + r]) * K.row(r0 + r);
          normalize_rows_backward(st->q, r0, dQ, *gq);
        }
        if (gk) {
          if (st->in_batch) {
            part.matrix().noalias() += scale * (L.transpose() * Q.middleRows(r0, b));
          } else {
            auto dK = dk.matrix();
            for (Index r = 0; r < b; ++r) dK.row(r0 + r) += (scale * st->da.data()[r0 + r]) * Q.row(r0 + r);
          }
        }
      }
      if (part.defined()) dk_parts[static_cast<std::size_t>(c)] = part;
    });
    if (!gk) return;
    for (const Tensor<T>& p : dk_parts)  // thread order: the same bits for the same thread count
      if (p.defined()) dk.array() += p.array();
    parallel_for(0, N, 256, [&](Index b, Index e) {
      normalize_rows_backward(st->k, b, dk.matrix().middleRows(b, e - b), *gk);
    });
  });
}

}  // namespace detail

/// InfoNCE with in-batch negatives: for query i the positive is k_i and the negatives are k_j, j != i
/// (the cross-entropy of uq uk^T / tau with labels 0..N-1). q, k: [N, D]. Returns the mean over the N
/// queries; gradients flow to q and to k (pass `k.detach()` for a stop-gradient on the keys).
template <Real T>
Var<T> info_nce(const Var<T>& q, const Var<T>& k, const InfoNceOptions& opt = {}) {
  return detail::info_nce_impl<T>(q, k, nullptr, opt);
}

/// InfoNCE with explicit negatives (the MoCo form): for query i the positive is k_i and the negatives
/// are all M rows of `negatives` (e.g. `MomentumQueue::keys()`), which receive no gradient; the
/// batch's other keys are not negatives. q, k: [N, D]; negatives: [M, D], M >= 1.
template <Real T>
Var<T> info_nce(const Var<T>& q, const Var<T>& k, const Tensor<T>& negatives, const InfoNceOptions& opt = {}) {
  return detail::info_nce_impl<T>(q, k, &negatives, opt);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_LOSSES_INFO_NCE(P, T) \
  P template Var<T> info_nce<T>(const Var<T>& q, const Var<T>& k, const InfoNceOptions& opt); \
  P template Var<T> info_nce<T>(const Var<T>& q, const Var<T>& k, const Tensor<T>& negatives, const InfoNceOptions& opt);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_LOSSES_INFO_NCE)

}  // namespace simile
