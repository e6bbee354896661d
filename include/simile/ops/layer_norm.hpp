#pragma once
/// \file
/// Layer normalization (Ba, Kiros and Hinton 2016, "Layer Normalization") over the last dimension, as
/// PyTorch's `nn.LayerNorm(D)`: the normalization of every transformer block.
///
/// Fused: the forward makes one visit per row (its mean, then its variance about the mean, then the
/// output, while the row is in cache) and keeps the row's mean and 1/std for the backward, which is one
/// visit per row too. Row sums run in `lane_sum`'s fixed lanes (shared with batch_norm), so they vectorize
/// and depend on D only. The parameter gradients are sums over rows: each fixed block of
/// `layer_norm_block_rows` rows sums its own partial, and the partials are added in block order, so no
/// result depends on the thread count.

#include <algorithm>
#include <cmath>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/batch_norm.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {
/// Rows per partial sum of dgamma and dbeta: fixed, so that the sums do not depend on the thread count.
inline constexpr Index layer_norm_block_rows = 32;
}  // namespace detail

/// Layer normalization of x [..., D] over its last dimension, same shape as x, for each row x_i (length D):
///   mu_i = mean(x_i),  var_i = mean((x_i - mu_i)^2) (biased),  rstd_i = 1 / sqrt(var_i + eps),
///   xhat_i = (x_i - mu_i) rstd_i,  y_i = xhat_i * gamma + beta.
/// Backward, with gg = dy_i * gamma (elementwise):
///   dx_i = rstd_i (gg - mean(gg) - xhat_i mean(gg * xhat_i)),
///   dgamma = sum_i dy_i * xhat_i,  dbeta = sum_i dy_i.
/// `gamma` and `beta` are [D] Vars; either may be undefined (`elementwise_affine = false`: gamma = 1,
/// beta = 0). Gradients accumulate into x, gamma and beta. The results (forward and backward) do not
/// depend on the thread count. Throws ShapeError when x is a scalar or gamma / beta are not [D];
/// ValueError when eps <= 0.
template <Real T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, T eps = T(1e-5)) {
  const Shape& xs = x.shape();
  check<ShapeError>(xs.rank() >= 1, "layer_norm: expected x of shape [..., D], got a scalar ", xs);
  const Index D = xs[xs.rank() - 1];
  Index R = 1;
  for (int i = 0; i + 1 < xs.rank(); ++i) R *= xs[i];
  const Shape ds{D};
  check<ShapeError>(!gamma.defined() || gamma.shape() == ds, "layer_norm: gamma of shape ",
                    gamma.defined() ? gamma.shape() : Shape{}, " for x of shape ", xs, " (expected [", D, "])");
  check<ShapeError>(!beta.defined() || beta.shape() == ds, "layer_norm: beta of shape ",
                    beta.defined() ? beta.shape() : Shape{}, " for x of shape ", xs, " (expected [", D, "])");
  check<ValueError>(eps > 0, "layer_norm: eps ", eps, " must be positive");

  Tensor<T> xv = x.value();
  Tensor<T> gv = gamma.defined() ? gamma.value() : Tensor<T>();
  const T* px = xv.data();
  const T* pgam = gamma.defined() ? gv.data() : nullptr;
  const T* pbet = beta.defined() ? beta.value().data() : nullptr;
  Tensor<T> y = Tensor<T>::empty(xs);
  Tensor<T> mean = Tensor<T>::empty({R});
  Tensor<T> rstd = Tensor<T>::empty({R});
  T* py = y.data();
  T* pm = mean.data();
  T* pr = rstd.data();
  const T inv_d = D > 0 ? T(1) / T(D) : T(0);
  const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(D, 1));
  parallel_for(0, R, grain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const T* xr = px + i * D;
      T* yr = py + i * D;
      T s = 0, ss = 0, unused = 0;
      detail::lane_sum(D, [xr](Index k, T& a, T&) { a += xr[k]; }, s, unused);
      const T m = s * inv_d;
      // The squares about the mean, not E[x^2] - m^2: no cancellation when |m| >> std.
      detail::lane_sum(D, [xr, m](Index k, T& a, T&) { a += (xr[k] - m) * (xr[k] - m); }, ss, unused);
      const T r = T(1) / std::sqrt(ss * inv_d + eps);
      pm[i] = m;
      pr[i] = r;
      if (pgam && pbet)
        for (Index k = 0; k < D; ++k) yr[k] = (xr[k] - m) * r * pgam[k] + pbet[k];
      else
        for (Index k = 0; k < D; ++k) yr[k] = (xr[k] - m) * r * (pgam ? pgam[k] : T(1)) + (pbet ? pbet[k] : T(0));
    }
  });

  std::vector<Var<T>> inputs{x};
  const int ig = gamma.defined() ? static_cast<int>(inputs.size()) : -1;
  if (gamma.defined()) inputs.push_back(gamma);
  const int ib = beta.defined() ? static_cast<int>(inputs.size()) : -1;
  if (beta.defined()) inputs.push_back(beta);

  return make_op<T>("layer_norm", std::move(y), inputs, [xv, gv, mean, rstd, R, D, ig, ib](Node<T>& self) {
    // dx is written whole, so it may be assigned; dgamma and dbeta are small and accumulate.
    const auto gx = self.grad_target(0);
    Tensor<T>* ggam = ig >= 0 ? self.grad_for(static_cast<std::size_t>(ig)) : nullptr;
    Tensor<T>* gbet = ib >= 0 ? self.grad_for(static_cast<std::size_t>(ib)) : nullptr;
    if (!gx && !ggam && !gbet) return;
    const bool params = ggam || gbet;
    const T* px = xv.data();
    const T* pg = self.grad.data();
    const T* pgam = gv.defined() ? gv.data() : nullptr;
    const T* pm = mean.data();
    const T* pr = rstd.data();
    const T inv_d = D > 0 ? T(1) / T(D) : T(0);
    // Per block of rows: sum of dy * xhat in [0, D), sum of dy in [D, 2D).
    const Index bs = detail::layer_norm_block_rows;
    const Index blocks = (R + bs - 1) / bs;
    std::vector<T> part(params ? static_cast<std::size_t>(blocks * 2 * D) : 0);
    const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(bs * D, 1));
    parallel_for(0, blocks, grain, [&](Index bb, Index be) {
      for (Index blk = bb; blk < be; ++blk) {
        T* pgx = params ? part.data() + blk * 2 * D : nullptr;
        T* pgb = params ? pgx + D : nullptr;
        if (params) std::fill(pgx, pgx + 2 * D, T(0));
        for (Index i = blk * bs; i < std::min(R, (blk + 1) * bs); ++i) {
          const T* xr = px + i * D;
          const T* gr = pg + i * D;
          const T m = pm[i], r = pr[i];
          if (params)
            for (Index k = 0; k < D; ++k) {
              pgx[k] += gr[k] * ((xr[k] - m) * r);
              pgb[k] += gr[k];
            }
          if (!gx) continue;
          // a = mean(dy gamma), c = mean(dy gamma xhat).
          T a = 0, c = 0;
          if (pgam)
            detail::lane_sum(D, [=](Index k, T& sa, T& sc) {
              const T gg = gr[k] * pgam[k];
              sa += gg;
              sc += gg * ((xr[k] - m) * r);
            }, a, c);
          else
            detail::lane_sum(D, [=](Index k, T& sa, T& sc) {
              sa += gr[k];
              sc += gr[k] * ((xr[k] - m) * r);
            }, a, c);
          a *= inv_d;
          c *= inv_d;
          if (pgam)
            write_grad(gx.data + i * D, D, gx.assign,
                       [=](Index k) { return r * (gr[k] * pgam[k] - a - ((xr[k] - m) * r) * c); });
          else
            write_grad(gx.data + i * D, D, gx.assign, [=](Index k) { return r * (gr[k] - a - ((xr[k] - m) * r) * c); });
        }
      }
    });
    if (!params) return;
    T* pdgam = ggam ? ggam->data() : nullptr;
    T* pdbet = gbet ? gbet->data() : nullptr;
    // The partials added in block order, column by column.
    parallel_for(0, D, std::max<Index>(1, detail::elementwise_grain / std::max<Index>(blocks, 1)), [&](Index b, Index e) {
      for (Index k = b; k < e; ++k) {
        T sx = 0, sb = 0;
        for (Index blk = 0; blk < blocks; ++blk) {
          sx += part[static_cast<std::size_t>(blk * 2 * D + k)];
          sb += part[static_cast<std::size_t>(blk * 2 * D + D + k)];
        }
        if (pdgam) pdgam[k] += sx;
        if (pdbet) pdbet[k] += sb;
      }
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_LAYER_NORM(P, T) \
  P template Var<T> layer_norm<T>(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, T eps);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_LAYER_NORM)

}  // namespace simile
