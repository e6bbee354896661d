#pragma once
/// \file
/// Fused multi-head scaled dot-product attention (Vaswani et al. 2017, "Attention Is All You Need"), the
/// core of a transformer text encoder, after the in-projection: what PyTorch's `nn.MultiheadAttention`
/// computes between its input and output projections.
///
/// Fused: for each (sequence, head) pair the scores, their masked softmax and the weighted sum of values
/// run in one go through Eigen products on strided views of the head's columns (no transposes, no
/// copies), and only the attention weights P are kept for the backward. The pairs run in parallel; each
/// writes its own block of the output (and, in backward, of each gradient), so the result does not
/// depend on the thread count.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/masked_mean.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

/// Multi-head scaled dot-product attention of queries q [B, Lq, E] over keys k [B, Lk, E] and values
/// v [B, Lk, E] with `heads` heads of dh = E / heads columns each, output [B, Lq, E]. Head h uses the
/// columns [h dh, (h + 1) dh) of q, k and v and writes the same columns of the output; for each sequence b:
///   S = scale Q_h K_h^T  [Lq, Lk],  S[i, j] = -inf where key_mask[b, j] = 0,
///   P = softmax(S) over the keys (max-subtracted),  O_h = P V_h  [Lq, dh].
/// `scale` 0 (the default) means 1 / sqrt(dh). `key_mask` [B, Lk] holds 1 for a key to attend and 0 for a
/// padding key; an undefined tensor (the default) or one with no elements means no mask. A query whose
/// keys are all masked (or Lk = 0) gets P = 0 and a zero output, never NaN, and passes no gradient.
/// Masked keys and values get zero gradients and do not change the output as long as they are finite
/// (O = P V is one product, where an infinite padded value would meet its P = 0, as in PyTorch).
/// Backward, per (b, h), with G = dO_h:
///   dV_h = P^T G,  dP = G V_h^T,  dS = P * (dP - rowsum(dP * P)),  dQ_h = scale dS K_h,  dK_h = scale dS^T Q_h.
/// Gradients accumulate (`grad_for`), so q, k and v may be the same Var (self-attention). Scores of 1e4
/// stay finite in float. The result does not depend on the thread count (each (b, h) pair is computed by
/// one thread; Eigen's own GEMM threads are used only when there is a single pair).
/// Keeps P, B heads Lq Lk values, for the backward.
/// Throws ShapeError when q, k, v are not 3-D, their B or E differ, k and v differ in shape, or key_mask
/// is not [B, Lk]; ValueError when heads < 1 or heads does not divide E, scale is not finite, or key_mask
/// holds a value other than 0 or 1.
template <Real T>
Var<T> multi_head_attention(const Var<T>& q, const Var<T>& k, const Var<T>& v, int heads,
                            const Tensor<std::uint8_t>& key_mask = {}, T scale = T(0)) {
  check<ShapeError>(q.shape().rank() == 3 && k.shape().rank() == 3 && v.shape().rank() == 3,
                    "multi_head_attention: expected q [B, Lq, E], k and v [B, Lk, E], got q ", q.shape(), ", k ",
                    k.shape(), ", v ", v.shape());
  const Index B = q.dim(0), Lq = q.dim(1), E = q.dim(2), Lk = k.dim(1);
  check<ShapeError>(k.shape() == v.shape() && k.dim(0) == B && k.dim(2) == E,
                    "multi_head_attention: expected q [B, Lq, E], k and v [B, Lk, E], got q ", q.shape(), ", k ",
                    k.shape(), ", v ", v.shape());
  check<ValueError>(heads >= 1, "multi_head_attention: heads ", heads, " must be at least 1");
  check<ValueError>(E % heads == 0, "multi_head_attention: ", heads,
                    " heads do not divide the embedding dimension E = ", E, " (q ", q.shape(), ")");
  const bool masked = key_mask.defined() && key_mask.numel() > 0;
  if (masked) {
    check<ShapeError>(key_mask.shape() == Shape{B, Lk}, "multi_head_attention: key_mask of shape ", key_mask.shape(),
                      " for k of shape ", k.shape(), " (expected [", B, ", ", Lk, "])");
    detail::check_binary_mask("multi_head_attention", "key_mask", key_mask);
  }
  check<ValueError>(std::isfinite(scale), "multi_head_attention: scale ", scale, " must be finite");
  const Index H = heads, dh = E / H;
  const T s = scale != T(0) ? scale : (dh > 0 ? T(1) / std::sqrt(T(dh)) : T(1));

  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Head = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
  using ConstHead = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  Tensor<T> qv = q.value(), kv = k.value(), vv = v.value();
  Tensor<T> P = Tensor<T>::empty({B, H, Lq, Lk});
  Tensor<T> out = Tensor<T>::empty({B, Lq, E});
  const T* pq = qv.data();
  const T* pk = kv.data();
  const T* pv = vv.data();
  const std::uint8_t* pmask = masked ? key_mask.data() : nullptr;
  T* pp = P.data();
  T* po = out.data();
  // Pairs per chunk: about `elementwise_grain` multiply-adds of the score product per chunk.
  const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(Lq * Lk * dh, 1));
  if (dh > 0)
    parallel_for(0, B * H, grain, [&](Index pb, Index pe) {
      for (Index pair = pb; pair < pe; ++pair) {
        const Index b = pair / H, h = pair % H;
        const Eigen::OuterStride<> stride(E);
        ConstHead Q(pq + b * Lq * E + h * dh, Lq, dh, stride);
        ConstHead K(pk + b * Lk * E + h * dh, Lk, dh, stride);
        ConstHead Vh(pv + b * Lk * E + h * dh, Lk, dh, stride);
        Head O(po + b * Lq * E + h * dh, Lq, dh, stride);
        Eigen::Map<Mat> S(pp + pair * Lq * Lk, Lq, Lk);
        if (Lk == 0) {
          O.setZero();
          continue;
        }
        S.noalias() = (s * Q) * K.transpose();
        const std::uint8_t* mr = pmask ? pmask + b * Lk : nullptr;
        if (mr && std::all_of(mr, mr + Lk, [](std::uint8_t keep) { return keep != 0; })) mr = nullptr;
        for (Index i = 0; i < Lq; ++i) {
          T* sr = S.data() + i * Lk;
          // Eigen's vectorized max and exp: scalar loops here would cost more than both products.
          Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> row(sr, Lk);
          if (mr)
            for (Index j = 0; j < Lk; ++j)
              if (!mr[j]) sr[j] = -std::numeric_limits<T>::infinity();
          const T m = row.maxCoeff();
          if (m == -std::numeric_limits<T>::infinity()) {
            row.setZero();  // every key masked
            continue;
          }
          row = (row - m).exp();
          if (mr)  // exactly 0, whatever Eigen's exp gives at -inf
            for (Index j = 0; j < Lk; ++j)
              if (!mr[j]) sr[j] = 0;
          row *= T(1) / row.sum();
        }
        O.noalias() = S * Vh;
      }
    });

  return make_op<T>("multi_head_attention", std::move(out), {q, k, v},
                    [qv, kv, vv, P, B, H, Lq, Lk, E, dh, s, grain](Node<T>& self) {
    // Accumulated, not assigned: q, k and v may be one node, whose three gradients then add up.
    Tensor<T>* gq = self.grad_for(0);
    Tensor<T>* gk = self.grad_for(1);
    Tensor<T>* gv = self.grad_for(2);
    if ((!gq && !gk && !gv) || dh == 0 || Lq == 0 || Lk == 0) return;
    const T* pq = qv.data();
    const T* pk = kv.data();
    const T* pv = vv.data();
    const T* pp = P.data();
    const T* pg = self.grad.data();
    parallel_for(0, B * H, grain, [&](Index pb, Index pe) {
      Mat dS;  // scratch, one per chunk
      for (Index pair = pb; pair < pe; ++pair) {
        const Index b = pair / H, h = pair % H;
        const Eigen::OuterStride<> stride(E);
        const Index qoff = b * Lq * E + h * dh, koff = b * Lk * E + h * dh;
        Eigen::Map<const Mat> Pm(pp + pair * Lq * Lk, Lq, Lk);
        ConstHead G(pg + qoff, Lq, dh, stride);
        if (gv) Head(gv->data() + koff, Lk, dh, stride).noalias() += Pm.transpose() * G;
        if (!gq && !gk) continue;
        dS.resize(Lq, Lk);
        dS.noalias() = G * ConstHead(pv + koff, Lk, dh, stride).transpose();
        // dS = P * (dP - rowsum(dP * P)), in place over dP; masked keys (P = 0) get exactly 0.
        for (Index i = 0; i < Lq; ++i) {
          Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> dr(dS.data() + i * Lk, Lk);
          Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> pr(Pm.data() + i * Lk, Lk);
          const T dot = (dr * pr).sum();
          dr = pr * (dr - dot);
        }
        if (gq) Head(gq->data() + qoff, Lq, dh, stride).noalias() += (s * dS) * ConstHead(pk + koff, Lk, dh, stride);
        if (gk)
          Head(gk->data() + koff, Lk, dh, stride).noalias() +=
              (s * dS.transpose()) * ConstHead(pq + qoff, Lq, dh, stride);
      }
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_ATTENTION(P, T) \
  P template Var<T> multi_head_attention<T>(const Var<T>& q, const Var<T>& k, const Var<T>& v, int heads, \
                                            const Tensor<std::uint8_t>& key_mask, T scale);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_ATTENTION)

}  // namespace simile
