#pragma once
/// \file
/// Batch normalization (Ioffe and Szegedy 2015, "Batch Normalization: Accelerating Deep Network
/// Training by Reducing Internal Covariate Shift"), with PyTorch's semantics for the statistics;
/// `batch_norm_relu`, the same op with the ReLU that follows it in every ResNet block fused in; and
/// `batch_norm_relu_max_pool2d`, which also fuses the max pooling after it (a ConvNet stage's
/// conv -> bn -> relu -> pool), so the full-size activation between them never goes through memory.
///
/// Layout: x is [N, C] or [N, C, d1, ...] (BatchNorm1d / 2d), viewed as [N, C, S] with S the product of
/// the trailing dimensions; each channel's statistics run over its n = N * S values. The work is split
/// over blocks of channels (one channel when S >= 64, enough channels to fill 64 contiguous values
/// otherwise), parallel over blocks; a block is handled start to end by one thread, so its values stay
/// in cache between the passes and no result depends on the thread count. Sums run in T along a
/// contiguous row of S values (in 16 lanes, so they vectorize) and in double across rows. Rows x [N, C]
/// (S = 1) with C a multiple of 8 go to the blocked kernel below, which is the same memory seen as
/// [N, C / B, 1, 1, B] and vectorizes across channels (one pass for both statistics).
///
/// Blocked: with `BatchNormOptions::blocked` each op takes a channel-blocked x [N, C / B, H, W, B]
/// (`ops/blocked.hpp`, the layout of `conv2d_blocked`), normalizes the same C channels and writes its
/// output in that layout (the kernel in `ops/detail/batch_norm_blocked.hpp`; not synchronized: a
/// communicator of several ranks is refused). The layout is said, not guessed from the rank: a rank-5 x
/// is otherwise a volume [N, C, D, H, W].
///
/// The trainable weight (gamma) and bias (beta) are Vars; the running statistics are plain buffers,
/// updated in place, never part of the graph.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/batch_norm_options.hpp"
#include "simile/ops/detail/batch_norm_blocked.hpp"
#include "simile/ops/pool.hpp"

namespace simile {

namespace detail {

struct BatchNormLayout {
  Index n = 0, c = 0, s = 1;  ///< x viewed as [n, c, s]
  Index block = 1;            ///< channels per work block
  Index count() const { return n * s; }
  Index blocks() const { return (c + block - 1) / block; }
};

inline constexpr Index batch_norm_max_block = 64;

/// Independent partial sums per row in `lane_sum`: 16 floats fill one AVX-512 register.
inline constexpr Index sum_lanes = 16;

/// Adds to s1 and s2 the sums over k in [0, n) of what term(k, a, b) adds to its a and b, kept in
/// `sum_lanes` partial sums combined in a fixed order. An in-order floating-point sum cannot be
/// vectorized (without -ffast-math); this one is, and its result depends on n only, not on threads.
template <Real T, class Term>
inline void lane_sum(Index n, Term&& term, T& s1, T& s2) {
  T a[sum_lanes] = {}, b[sum_lanes] = {};
  Index k = 0;
  for (; k + sum_lanes <= n; k += sum_lanes)
    for (Index l = 0; l < sum_lanes; ++l) term(k + l, a[l], b[l]);
  for (Index l = 0; k < n; ++k, ++l) term(k, a[l], b[l]);
  for (Index w = sum_lanes / 2; w > 0; w /= 2)
    for (Index l = 0; l < w; ++l) a[l] += a[l + w], b[l] += b[l + w];
  s1 += a[0];
  s2 += b[0];
}

/// Calls f(c0, c1) for every block of channels [c0, c1), in parallel over blocks.
template <class F>
void for_channel_blocks(const BatchNormLayout& L, F&& f) {
  parallel_for(0, L.blocks(), 1, [&](Index b, Index e) {
    for (Index k = b; k < e; ++k) f(k * L.block, std::min(L.c, (k + 1) * L.block));
  });
}

template <Real T, BatchNormEpilogue E>
Var<T> batch_norm_impl(const char* name, const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                       const Tensor<T>& running_mean, const Tensor<T>& running_var, const BatchNormOptions& opt,
                       const Pool2dGeometry& pool = {}) {
  constexpr bool relu = E != BatchNormEpilogue::none;
  constexpr bool pooled = E == BatchNormEpilogue::relu_max_pool;
  const Shape& xs = x.shape();
  if (opt.blocked) return batch_norm_blocked<T, E>(name, x, weight, bias, running_mean, running_var, opt, pool);
  // Rows [N, C] of whole 8- or 16-channel blocks (BatchNorm1d after a Linear layer): the blocked kernel
  // vectorizes across the channels of a row (here S = 1 and every row sum would be one value).
  if (!pooled && xs.rank() == 2 && batch_norm_row_lanes(xs[1]) > 0 && !is_distributed(opt.comm))
    return batch_norm_blocked<T, E>(name, x, weight, bias, running_mean, running_var, opt, pool);
  check<ShapeError>(xs.rank() >= 2, name, ": expected x of shape [N, C] or [N, C, H, W], got ", xs);
  BatchNormLayout L;
  L.n = xs[0];
  L.c = xs[1];
  for (int i = 2; i < xs.rank(); ++i) L.s *= xs[i];
  L.block = std::clamp<Index>(batch_norm_max_block / std::max<Index>(L.s, 1), 1, batch_norm_max_block);
  const detail::BatchNormMode mode = check_batch_norm(name, xs, L.c, L.count(), weight, bias, running_mean, running_var, opt);
  const Shape cs{L.c};
  const bool tracked = mode.tracked, batch_stats = mode.batch_stats;
  Communicator* comm = mode.comm;
  const bool sync = is_distributed(comm);
  const T eps = static_cast<T>(opt.eps);
  const T momentum = static_cast<T>(opt.momentum);
  const Index n = L.count();
  const T* px = x.value().data();
  const T* pw = weight.defined() ? weight.value().data() : nullptr;
  const T* pb = bias.defined() ? bias.value().data() : nullptr;
  Tensor<T> y = pooled ? Tensor<T>::empty({xs[0], xs[1], pool.oh, pool.ow}) : Tensor<T>::empty(xs);
  // Pooled: the in-plane position of each window's maximum, for backward.
  Tensor<std::int32_t> arg = pooled ? Tensor<std::int32_t>::empty(y.shape()) : Tensor<std::int32_t>();
  T* py = y.data();
  // The statistics the output was normalized with, kept for backward.
  Tensor<T> mean = Tensor<T>::empty(cs);
  Tensor<T> invstd = Tensor<T>::empty(cs);
  T* pm = mean.data();
  T* pi = invstd.data();
  T* prm = tracked ? running_mean.data() : nullptr;
  T* prv = tracked ? running_var.data() : nullptr;

  // Per channel: the sum of x, then the sum of squares about the mean (two passes: no cancellation,
  // unlike E[x^2] - E[x]^2), in double across rows.
  std::vector<double> acc(static_cast<std::size_t>(L.c));
  auto sum_x = [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) acc[std::size_t(c)] = 0;
    for (Index i = 0; i < L.n; ++i)
      for (Index c = c0; c < c1; ++c) {
        const T* row = px + (i * L.c + c) * L.s;
        T a = 0, unused = 0;
        lane_sum(L.s, [row](Index k, T& s, T&) { s += row[k]; }, a, unused);
        acc[std::size_t(c)] += a;
      }
  };
  auto sum_squares = [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) acc[std::size_t(c)] = 0;
    for (Index i = 0; i < L.n; ++i)
      for (Index c = c0; c < c1; ++c) {
        const T* row = px + (i * L.c + c) * L.s;
        const T m = pm[c];
        T a = 0, unused = 0;
        lane_sum(L.s, [row, m](Index k, T& s, T&) { s += (row[k] - m) * (row[k] - m); }, a, unused);
        acc[std::size_t(c)] += a;
      }
  };
  // `total` values per channel over all ranks (n in one process).
  auto set_mean = [&](Index c0, Index c1, double total) {
    for (Index c = c0; c < c1; ++c) pm[c] = static_cast<T>(acc[std::size_t(c)] / total);
  };
  auto set_invstd = [&](Index c0, Index c1, double total) {
    for (Index c = c0; c < c1; ++c) {
      double var = acc[std::size_t(c)] / total;
      pi[c] = static_cast<T>(1.0 / std::sqrt(var + opt.eps));
      if (tracked && opt.training) {
        // PyTorch keeps the unbiased variance in the running estimate, while normalizing by the biased one.
        prm[c] = (T(1) - momentum) * prm[c] + momentum * pm[c];
        prv[c] = (T(1) - momentum) * prv[c] + momentum * static_cast<T>(var * total / (total - 1));
      }
    }
  };
  auto normalize = [&](Index c0, Index c1) {
    std::array<T, batch_norm_max_block> scale, shift;
    for (Index c = c0; c < c1; ++c) {
      scale[c - c0] = (pw ? pw[c] : T(1)) * pi[c];
      shift[c - c0] = pb ? pb[c] : T(0);
    }
    // Pooled: each plane is normalized into a scratch plane that stays in L1, then pooled from there.
    std::vector<T> plane(pooled ? static_cast<std::size_t>(L.s) : 0);
    std::optional<MaxPoolPlane<T>> max_pool;
    if constexpr (pooled) max_pool.emplace(pool);
    for (Index i = 0; i < L.n; ++i)
      for (Index c = c0; c < c1; ++c) {
        const Index off = (i * L.c + c) * L.s;
        const T* row = px + off;
        T* out = pooled ? plane.data() : py + off;
        const T m = pm[c], sc = scale[c - c0], sh = shift[c - c0];
        // (x - mean) first: x * scale + (beta - mean * scale) would cancel when |mean| >> std.
        if constexpr (relu)
          for (Index k = 0; k < L.s; ++k) out[k] = std::max((row[k] - m) * sc + sh, T(0));
        else
          for (Index k = 0; k < L.s; ++k) out[k] = (row[k] - m) * sc + sh;
        if constexpr (pooled) {
          const Index p = i * L.c + c;
          (*max_pool)(out, py + p * pool.out_plane(), arg.data() + p * pool.out_plane());
        }
      }
  };

  if (batch_stats && sync) {
    // Synchronized: each rank computes its own mean m_r and sum of squared deviations M2_r per channel
    // (both passes over a block while it is in cache, as in one process); the ranks' (n_r, m_r, M2_r)
    // are gathered and combined in rank order (Chan, Golub and LeVeque's pairwise formula):
    //   mu = sum n_r m_r / n,   M2 = sum M2_r + n_r (m_r - mu)^2,   var = M2 / n,
    // then one more pass normalizes. Two passes over memory, as one process; nothing cancels.
    const std::size_t C = std::size_t(L.c), stride = 2 * C + 1;
    std::vector<double> local(stride);
    for_channel_blocks(L, [&](Index c0, Index c1) {
      sum_x(c0, c1);
      for (Index c = c0; c < c1; ++c) local[std::size_t(c)] = acc[std::size_t(c)] / double(n);
      set_mean(c0, c1, double(n));  // pm: m_r rounded to T; the squares run about it
      sum_squares(c0, c1);
      for (Index c = c0; c < c1; ++c) {
        // sum (x - m_r)^2 = sum (x - pm)^2 - n (m_r - pm)^2
        const double d = local[std::size_t(c)] - double(pm[c]);
        local[C + std::size_t(c)] = std::max(acc[std::size_t(c)] - double(n) * d * d, 0.0);
      }
    });
    local[2 * C] = double(n);
    std::vector<double> all(stride * std::size_t(comm->size()));
    all_gather(*comm, std::span<const double>(local), std::span<double>(all));
    double total = 0;
    for (int r = 0; r < comm->size(); ++r) total += all[stride * std::size_t(r) + 2 * C];
    check<ValueError>(total > 1, name, ": expected more than 1 value per channel over all ranks, got ", total);
    for (std::size_t c = 0; c < C; ++c) {
      double mu = 0, m2 = 0;
      for (int r = 0; r < comm->size(); ++r) mu += all[stride * std::size_t(r) + 2 * C] * all[stride * std::size_t(r) + c];
      mu /= total;
      for (int r = 0; r < comm->size(); ++r) {
        const double* a = all.data() + stride * std::size_t(r);
        m2 += a[C + c] + a[2 * C] * (a[c] - mu) * (a[c] - mu);
      }
      pm[c] = static_cast<T>(mu);
      acc[c] = m2;
    }
    for_channel_blocks(L, [&](Index c0, Index c1) {
      set_invstd(c0, c1, total);
      normalize(c0, c1);
    });
  } else {
    // One block of channels start to end on one thread: its values stay in cache between the passes.
    for_channel_blocks(L, [&](Index c0, Index c1) {
      if (batch_stats) {
        sum_x(c0, c1);
        set_mean(c0, c1, double(n));
        sum_squares(c0, c1);
        set_invstd(c0, c1, double(n));
      } else {
        for (Index c = c0; c < c1; ++c) {
          pm[c] = prm[c];
          pi[c] = T(1) / std::sqrt(prv[c] + eps);
        }
      }
      normalize(c0, c1);
    });
  }

  const BatchNormInputs<T> inputs(x, weight, bias);
  Tensor<T> xv = x.value();
  Tensor<T> wv = weight.defined() ? weight.value() : Tensor<T>();

  return make_op<T>(name, std::move(y), inputs.vars,
                    [L, xv, wv, mean, invstd, inputs, batch_stats, pool, arg, comm](Node<T>& self) {
    // dx is written whole, so it may be assigned; dgamma and dbeta are small and accumulate.
    const auto gx = self.grad_target(0);
    // (not a structured binding: clang 15 cannot capture those in the lambdas below)
    const std::pair<T*, T*> param_grads = inputs.grads(self);
    T* const pdw = param_grads.first;
    T* const pdb = param_grads.second;
    if (!gx && !pdw && !pdb) return;
    const T* px = xv.data();
    const T* pg = self.grad.data();
    const T* py = self.value.data();
    const std::int32_t* pa = pooled ? arg.data() : nullptr;
    const T* pw = wv.defined() ? wv.data() : nullptr;
    const T* pm = mean.data();
    const T* pi = invstd.data();
    T* pdx = gx.data;
    const bool assign = gx.assign;
    double inv_n = 1.0 / double(L.count());
    // dy through the ReLU: zero where the output was clamped. Takes the pointers by value so that they
    // stay in registers in the inner loops.
    auto grad_at = [](const T* g, const T* y, Index j) -> T {
      if constexpr (relu) return y[j] > T(0) ? g[j] : T(0);
      else return (void)y, g[j];
    };
    // Values per gradient row: pooled, dy is nonzero only at the windows' maxima, one per output.
    const Index rows = pooled ? pool.out_plane() : L.s;

    // Per channel, in one pass: sum(dy) and sum(dy (x - mean)); [c] and [C + c].
    std::vector<double> sums(2 * static_cast<std::size_t>(L.c) + 1);
    auto reduce = [&](Index c0, Index c1) {
      for (Index c = c0; c < c1; ++c) sums[std::size_t(c)] = sums[std::size_t(L.c + c)] = 0;
      for (Index i = 0; i < L.n; ++i)
        for (Index c = c0; c < c1; ++c) {
          const Index p = i * L.c + c;
          const T *xr = px + p * L.s, *gr = pg + p * rows, *yr = py + p * rows;
          const std::int32_t* ar = pooled ? pa + p * rows : nullptr;
          const T m = pm[c];
          T a = 0, b = 0;
          lane_sum(
              rows,
              [=](Index k, T& sa, T& sb) {
                T g = grad_at(gr, yr, k);
                sa += g;
                sb += g * (xr[pooled ? ar[k] : k] - m);
              },
              a, b);
          sums[std::size_t(c)] += a;
          sums[std::size_t(L.c + c)] += b;
        }
      // dgamma and dbeta from this rank's values (the trainer sums parameter gradients over ranks).
      for (Index c = c0; c < c1; ++c) {
        if (pdb) pdb[c] += static_cast<T>(sums[std::size_t(c)]);
        if (pdw) pdw[c] += static_cast<T>(sums[std::size_t(L.c + c)] * double(pi[c]));  // sum(dy * xhat)
      }
    };
    auto input_grad = [&](Index c0, Index c1) {
      if (!pdx) return;
      for (Index c = c0; c < c1; ++c) {
        const T k1 = (pw ? pw[c] : T(1)) * pi[c];
        const T m = pm[c];
        // dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)), xhat = (x - mean) invstd, with batch
        // statistics; with running ones (constants) the op is affine and dx = gamma invstd dy.
        const T mean_dy = batch_stats ? static_cast<T>(sums[std::size_t(c)] * inv_n) : T(0);
        const T proj =
            batch_stats ? static_cast<T>(sums[std::size_t(L.c + c)] * inv_n * double(pi[c]) * double(pi[c])) : T(0);
        for (Index i = 0; i < L.n; ++i) {
          const Index p = i * L.c + c;
          const T *xr = px + p * L.s, *gr = pg + p * rows, *yr = py + p * rows;
          T* d = pdx + p * L.s;
          if constexpr (pooled) {
            // The dense part, then dy added at each window's maximum (several windows may share one).
            if (batch_stats)
              write_grad(d, L.s, assign, [=](Index k) { return -k1 * (mean_dy + (xr[k] - m) * proj); });
            else if (assign)
              std::fill(d, d + L.s, T(0));
            const std::int32_t* ar = pa + p * rows;
            for (Index k = 0; k < rows; ++k) d[ar[k]] += k1 * grad_at(gr, yr, k);
          } else if (batch_stats) {
            write_grad(d, L.s, assign,
                       [=](Index k) { return k1 * (grad_at(gr, yr, k) - mean_dy - (xr[k] - m) * proj); });
          } else {
            write_grad(d, L.s, assign, [=](Index k) { return k1 * grad_at(gr, yr, k); });
          }
        }
      }
    };
    if (is_distributed(comm)) {
      // Synchronized: the means of dy and dy xhat run over every rank's values.
      for_channel_blocks(L, reduce);
      sums[2 * std::size_t(L.c)] = double(L.count());
      all_reduce_sum(*comm, std::span<double>(sums));
      inv_n = 1.0 / sums[2 * std::size_t(L.c)];
      for_channel_blocks(L, input_grad);
    } else {
      for_channel_blocks(L, [&](Index c0, Index c1) {
        reduce(c0, c1);
        input_grad(c0, c1);
      });
    }
  });
}

}  // namespace detail

/// Batch normalization of x [N, C] or [N, C, H, W] (any [N, C, ...]), same shape as x:
///   y = gamma (x - mu) / sqrt(var + eps) + beta, per channel c.
/// Training (`opt.training`): mu and var are the batch mean and biased variance over the n = N H W values
/// of each channel, and the running buffers are updated in place as PyTorch does:
///   running_mean = (1 - momentum) running_mean + momentum mu,
///   running_var  = (1 - momentum) running_var  + momentum var n / (n - 1)   (unbiased).
/// Backward through the batch statistics, per channel, one pass for the sums then one for dx:
///   dx = (1/n) gamma invstd (n dy - sum(dy) - xhat sum(dy xhat)),  dgamma = sum(dy xhat),  dbeta = sum(dy).
/// Eval: mu, var are the running buffers (left unchanged) and backward is the affine one, dx = gamma invstd dy.
/// Synchronized (`opt.comm` with more than one rank, training): n, mu, var and the backward's sum(dy) and
/// sum(dy xhat) run over every rank's batch (each reduction summed over the ranks between passes), so each
/// rank's output and dx are its rows of the op over the whole global batch; dgamma and dbeta are this
/// rank's shares (the trainer sums parameter gradients).
/// `weight` (gamma) and `bias` (beta) are [C] Vars; either may be an undefined Var (affine = false: gamma = 1,
/// beta = 0). `running_mean` / `running_var` are [C] buffers, or both undefined tensors
/// (track_running_stats = false: batch statistics in eval mode too). Gradients accumulate into x, weight and bias.
/// Throws ShapeError for rank < 2 or [C] shapes that do not match, ValueError for eps <= 0, momentum outside
/// [0, 1], or a single value per channel when batch statistics are used (as PyTorch).
template <Real T>
Var<T> batch_norm(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean,
                  const Tensor<T>& running_var, const BatchNormOptions& opt = {}) {
  return detail::batch_norm_impl<T, detail::BatchNormEpilogue::none>("batch_norm", x, weight, bias, running_mean, running_var, opt);
}

/// relu(batch_norm(x, ...)) in one op: the ReLU is applied as the output is written (no intermediate
/// tensor) and its mask (y > 0) is applied to dy inside the batch-norm backward passes. Same arguments,
/// statistics, running-buffer updates and errors as `batch_norm`; the gradient equals that of the two
/// separate ops.
template <Real T>
Var<T> batch_norm_relu(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean,
                       const Tensor<T>& running_var, const BatchNormOptions& opt = {}) {
  return detail::batch_norm_impl<T, detail::BatchNormEpilogue::relu>("batch_norm_relu", x, weight, bias, running_mean, running_var, opt);
}

/// max_pool2d(relu(batch_norm(x, ...)), kernel, stride, padding) in one op, for x [N, C, H, W]: each
/// (n, c) plane is normalized into a scratch plane in cache and pooled from there, so the full-size
/// activation is never written to memory, and backward works from the pooled gradient: dy is nonzero
/// only at each window's maximum (where the ReLU let it through), so the reductions run over the pooled
/// values and dx is one dense pass plus a scatter. Output [N, C, OH, OW] as `max_pool2d`; the same
/// statistics, running-buffer updates, gradients and tie rule (first maximum in row-major order) as the
/// three separate ops; the errors of `batch_norm` and `max_pool2d` (ShapeError for x that is not 4-D).
template <Real T>
Var<T> batch_norm_relu_max_pool2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                                  const Tensor<T>& running_mean, const Tensor<T>& running_var,
                                  const BatchNormOptions& opt, Index kernel, std::optional<Index> stride = std::nullopt,
                                  Index padding = 0) {
  const char* name = "batch_norm_relu_max_pool2d";
  const detail::Pool2dGeometry g =
      detail::pool2d_geometry(name, opt.blocked ? detail::unblocked_shape(x.shape()) : x.shape(), kernel, stride, padding);
  return detail::batch_norm_impl<T, detail::BatchNormEpilogue::relu_max_pool>(name, x, weight, bias, running_mean,
                                                                            running_var, opt, g);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_BATCH_NORM(P, T) \
  P template Var<T> batch_norm<T>(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean, const Tensor<T>& running_var, const BatchNormOptions& opt); \
  P template Var<T> batch_norm_relu<T>(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean, const Tensor<T>& running_var, const BatchNormOptions& opt); \
  P template Var<T> batch_norm_relu_max_pool2d<T>(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean, const Tensor<T>& running_var, const BatchNormOptions& opt, Index kernel, std::optional<Index> stride, Index padding);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_BATCH_NORM)

}  // namespace simile
