#pragma once
/// \file
/// The batch-norm kernel for channel-blocked activations (`ops/blocked.hpp`): x [N, C / B, H, W, B],
/// channel c = cb B + l. `batch_norm`, `batch_norm_relu` and `batch_norm_relu_max_pool2d` run it with
/// `BatchNormOptions::blocked`; the output keeps the layout. Same statistics, running-buffer updates, gradients and tie
/// rule as the NCHW kernel (`ops/batch_norm.hpp`); its sums run in another order, so the two agree to
/// rounding, not to the bit. (Where windows tile and rounding maps two x of a window to one normalized value,
/// dy goes to the larger x, not the first: see `max_pool_by_key_tiled_plane`.)
///
/// Work: parallel over channel blocks cb, each one start to end on one thread, so no result depends on
/// the thread count; every inner loop runs over the B lanes of a position, B adjacent values, and
/// vectorizes across channels (one AVX-512 register of floats for B = 16). The statistics take one pass
/// over memory: each sample's plane of a block (S B values, in cache) gives per lane its mean (summed as
/// differences from the plane's first value, so the terms stay small when |mean| >> std) and its sum of
/// squares about that mean (in T), and the planes are combined in double by Chan, Golub and LeVeque's
/// pairwise update, so nothing cancels. Where the pooling windows tile the plane (the encoders' 2x2, stride 2),
/// the same pass pools: the ReLU of the normalization is monotonic in x (rising where gamma > 0, falling
/// where gamma < 0), so each window's maximum output is at its maximum of x (of -x), kept, and normalized once
/// the statistics are known, a quarter of the values: x is read once, not twice (`max_pool_by_key_tiled_plane`).
/// Otherwise a second pass normalizes, applies the ReLU and pools from a scratch plane in cache, x gathered at
/// the maxima. Backward: one pass for the per-channel sums
/// (over the pooled positions, reading those kept values in order), one for dx: where the windows tile the
/// plane (the encoders' 2x2, stride 2), each position takes its window's dy when it was the maximum, in the
/// same pass as the dense part; otherwise dy is scattered to the maxima after it.
/// Synchronized batch norm (a communicator of more than one rank) is not supported in this layout.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/batch_norm_options.hpp"
#include "simile/ops/blocked.hpp"
#include "simile/ops/detail/lane_vector.hpp"
#include "simile/ops/pool.hpp"

namespace simile::detail {

/// The largest channel block the kernel takes (the blocks of oneDNN's layouts are 8 and 16).
inline constexpr Index batch_norm_max_lanes = 64;

/// Calls f(std::integral_constant<Index, L>{}) with L = b for the common blocks 16 and 8 (the lane loops
/// then have a constant trip count: unrolled, vectorized, their accumulators in registers), else L = 0
/// (f reads the block at run time).
template <class F>
void with_lanes(Index b, F&& f) {
  if (b == 16) return f(std::integral_constant<Index, 16>{});
  if (b == 8) return f(std::integral_constant<Index, 8>{});
  f(std::integral_constant<Index, 0>{});
}

/// dy through a ReLU whose output was y (dy where y > 0, else 0) when `relu`, else dy; both read
/// unconditionally, so that the loops calling it vectorize (a load under the condition made the compiler
/// scalarize or mask them).
template <bool relu, Real T>
inline T relu_grad(T dy, T y) {
  if constexpr (relu) return y > T(0) ? dy : T(0);
  else return (void)y, dy;
}

/// Max pooling of one blocked plane xp [H, W, B] into yp [OH, OW, B], the window's position
/// (h W + w) per lane into ap: the first maximum in row-major order, NaN wins (as `max_pool2d`); and into
/// sp, per lane, the value of `source` (a plane of the same layout as xp) at that position.
/// L: the block when known at compile time, else 0 and `b` gives it.
template <Index L, Real T>
void max_pool_blocked_plane(const T* xp, const T* source, T* yp, std::int32_t* ap, T* sp, const Pool2dGeometry& g,
                            Index b) {
  if constexpr (L > 0) b = L;
  for (Index i = 0; i < g.oh; ++i) {
    Index h0, h1;
    window(i, g.h, g, h0, h1);
    for (Index j = 0; j < g.ow; ++j) {
      Index w0, w1;
      window(j, g.w, g, w0, w1);
      T v[batch_norm_max_lanes];
      std::int32_t at[batch_norm_max_lanes];
      const Index first = h0 * g.w + w0;
      for (Index l = 0; l < b; ++l) v[l] = xp[first * b + l], at[l] = static_cast<std::int32_t>(first);
      for (Index r = h0; r < h1; ++r)
        for (Index c = w0; c < w1; ++c) {
          const Index pos = r * g.w + c;
          const T* u = xp + pos * b;
          // Branch-free (| not ||, selects), so that the lanes vectorize.
#pragma omp simd
          for (Index l = 0; l < b; ++l) {
            const T ul = u[l], vl = v[l];
            const bool take = (ul > vl) | ((ul != ul) & (vl == vl));
            v[l] = take ? ul : vl;
            at[l] = take ? static_cast<std::int32_t>(pos) : at[l];
          }
        }
      const Index o = (i * g.ow + j) * b;
      std::copy(v, v + b, yp + o);
      std::copy(at, at + b, ap + o);
      for (Index l = 0; l < b; ++l) sp[o + l] = source[Index(at[l]) * b + l];  // from a plane in cache
    }
  }
}

/// Each lane's direction for pooling before normalizing: dir[l] = 1, -1 or 0 as gamma[c] (pw; null: 1),
/// c = cb b + l, is positive, negative or zero (NaN: 0). relu((x - mean) scale + shift) with scale = gamma
/// invstd is non-decreasing in x where gamma > 0 and non-increasing where gamma < 0, in floating point too (each
/// rounding is monotonic), so its window maximum is its value at the window's first maximum of x dir.
template <Real T>
void block_pool_direction(const T* pw, Index cb, Index b, T* dir) {
  for (Index l = 0; l < b; ++l) {
    const T gamma = pw ? pw[cb * b + l] : T(1);
    dir[l] = gamma > T(0) ? T(1) : gamma < T(0) ? T(-1) : T(0);
  }
}

/// Max pooling of one blocked plane x [H, W, B] by the key x dir[l] (`block_pool_direction`) for windows that
/// tile the plane (`Pool2dGeometry::tiles`): per window and lane, the first position in row-major order with
/// the largest key (NaN wins, as `max_pool2d`) into ap, and x there into sp [OH, OW, B]. Pooling before the
/// statistics are known lets one pass over x give both; normalizing sp then (`normalize_plane`) gives the
/// maxima of the normalized output, to the bit. Where gamma = 0 every key is 0 and the window's first position
/// is taken, as the normalized values (all equal) would. Where rounding maps two x of a window to one
/// normalized value, the larger x is taken where the normalized values would take the first: the same output,
/// dy routed to another position of equal value. With L known, a window's key, x and position are `Lanes`,
/// in registers.
template <Index L, Real T>
void max_pool_by_key_tiled_plane(const T* x, const T* dir, std::int32_t* ap, T* sp, const Pool2dGeometry& g, Index b) {
  if constexpr (L > 0) b = L;
  const Index k = g.kernel;
  Lanes<T, L == 0 ? 1 : L> d{};  // dir, loaded once (L > 0)
  if constexpr (L > 0) d = load_lanes<L>(dir);
  for (Index i = 0; i < g.oh; ++i)
    for (Index j = 0; j < g.ow; ++j) {
      const Index first = i * k * g.w + j * k, o = (i * g.ow + j) * b;
      if constexpr (L > 0) {
        using Mask = LaneMask<T, L>;
        Lanes<T, L> vx = load_lanes<L>(x + first * L), v = vx * d;
        Mask at = Mask{} + static_cast<LaneInt<T>>(first);
        for (Index r = 0; r < k; ++r)
          for (Index c = r == 0 ? 1 : 0; c < k; ++c) {
            const Index q = first + r * g.w + c;
            const Lanes<T, L> ux = load_lanes<L>(x + q * L), u = ux * d;
            const Mask take = (u > v) | ((u != u) & (v == v));  // the first maximum, NaN wins, as below
            v = take ? u : v;
            vx = take ? ux : vx;
            at = take ? Mask{} + static_cast<LaneInt<T>>(q) : at;
          }
        store_lanes<L>(sp + o, vx);
        store_lanes<L>(ap + o, __builtin_convertvector(at, Lanes<std::int32_t, L>));
      } else {
        T v[batch_norm_max_lanes], vx[batch_norm_max_lanes];  // the window's largest key so far, x there
        std::int32_t at[batch_norm_max_lanes];
        for (Index l = 0; l < b; ++l) {
          vx[l] = x[first * b + l];
          v[l] = vx[l] * dir[l];
          at[l] = static_cast<std::int32_t>(first);
        }
        for (Index r = 0; r < k; ++r)
          for (Index c = 0; c < k; ++c) {
            const Index q = first + r * g.w + c;
            const auto pos32 = static_cast<std::int32_t>(q);
            const T* xu = x + q * b;
            // Branch-free (| not ||, selects), so that the lanes vectorize; the first position compares with
            // itself and is not taken.
#pragma omp simd
            for (Index l = 0; l < b; ++l) {
              const T ul = xu[l] * dir[l], vl = v[l];
              const bool take = (ul > vl) | ((ul != ul) & (vl == vl));
              v[l] = take ? ul : vl;
              vx[l] = take ? xu[l] : vx[l];
              at[l] = take ? pos32 : at[l];
            }
          }
        std::copy(at, at + b, ap + o);
        std::copy(vx, vx + b, sp + o);
      }
    }
}

/// Per-lane moments of one channel block, gathered plane by plane: each plane's mean (its values summed
/// less the first, so the terms stay small when |mean| >> std, in T; the first added back in double) and its
/// sum of squares about that mean (in T), combined in double by Chan, Golub and LeVeque's pairwise update.
struct BlockMoments {
  double mu[batch_norm_max_lanes] = {}, m2[batch_norm_max_lanes] = {};
  double count = 0;  ///< values per lane so far

  /// Adds the plane r [S, b]. L: b when known at compile time, else 0.
  template <Index L, Real T>
  void add_plane(const T* r, Index S, Index b) {
    if constexpr (L > 0) b = L;
    T a[batch_norm_max_lanes] = {}, q[batch_norm_max_lanes] = {}, mr[batch_norm_max_lanes];
    double plane_mean[batch_norm_max_lanes];
    using V = Lanes<T, L == 0 ? 1 : L>;
    if constexpr (L > 0) {  // `sum_in_chains`: four chains of additions, not one
      const V first = load_lanes<L>(r);
      store_lanes<L>(a, sum_in_chains<V>(S, [&](Index k) { return load_lanes<L>(r + k * L) - first; }));
    } else {
      for (Index k = 0; k < S; ++k)
        for (Index l = 0; l < b; ++l) a[l] += r[k * b + l] - r[l];
    }
    for (Index l = 0; l < b; ++l) {
      plane_mean[l] = double(r[l]) + double(a[l]) / double(S);
      mr[l] = static_cast<T>(plane_mean[l]);
    }
    if constexpr (L > 0) {
      const V m = load_lanes<L>(mr);
      store_lanes<L>(q, sum_in_chains<V>(S, [&](Index k) {
                       const V d = load_lanes<L>(r + k * L) - m;
                       return d * d;
                     }));
    } else {
      for (Index k = 0; k < S; ++k)
        for (Index l = 0; l < b; ++l) q[l] += (r[k * b + l] - mr[l]) * (r[k * b + l] - mr[l]);
    }
    const double total = count + double(S);
    for (Index l = 0; l < b; ++l) {
      const double delta = plane_mean[l] - mu[l];
      mu[l] += delta * double(S) / total;
      m2[l] += double(q[l]) + delta * delta * count * double(S) / total;
    }
    count = total;
  }
};

/// The statistics block cb (lanes c = cb b + l) normalizes with, into pm[l] and pi[l] (mean, 1 / sqrt(var +
/// eps)): from `moments` with batch statistics, updating the running buffers prm and prv [C] when tracked in
/// training (the unbiased variance, as PyTorch; see batch_norm); else from those buffers.
template <Real T>
void block_statistics(const BlockMoments& moments, bool batch_stats, bool tracked, const BatchNormOptions& opt,
                      Index cb, Index b, T* pm, T* pi, T* prm, T* prv) {
  const T momentum = static_cast<T>(opt.momentum);
  for (Index l = 0; l < b; ++l) {
    const Index c = cb * b + l;
    if (!batch_stats) {
      pm[l] = prm[c];
      pi[l] = T(1) / std::sqrt(prv[c] + static_cast<T>(opt.eps));
      continue;
    }
    const double var = moments.m2[l] / moments.count;
    pm[l] = static_cast<T>(moments.mu[l]);
    pi[l] = static_cast<T>(1.0 / std::sqrt(var + opt.eps));
    if (tracked && opt.training) {
      prm[c] = (T(1) - momentum) * prm[c] + momentum * pm[l];
      prv[c] = (T(1) - momentum) * prv[c] + momentum * static_cast<T>(var * moments.count / (moments.count - 1));
    }
  }
}

/// The normalization of block cb as one multiply-add per value: scale[l] = gamma[c] invstd[l] (gamma pw, null:
/// 1) and shift[l] = beta[c] (pb, null: 0), c = cb b + l.
template <Real T>
void block_scale_shift(const T* pw, const T* pb, const T* pi, Index cb, Index b, T* scale, T* shift) {
  for (Index l = 0; l < b; ++l) {
    scale[l] = (pw ? pw[cb * b + l] : T(1)) * pi[l];
    shift[l] = pb ? pb[cb * b + l] : T(0);
  }
}

/// out = (x - mean) scale + shift over one plane [S, b] (x - mean first, as the NCHW kernel: no
/// cancellation when |mean| >> std), through the ReLU when `relu`. L: b when known at compile time, else 0.
template <Index L, bool relu, Real T>
void normalize_plane(const T* x, const T* mean, const T* scale, const T* shift, T* out, Index S, Index b) {
  if constexpr (L > 0) b = L;
  for (Index k = 0; k < S; ++k)
    for (Index l = 0; l < b; ++l) {
      const T v = (x[k * b + l] - mean[l]) * scale[l] + shift[l];
      out[k * b + l] = relu ? std::max(v, T(0)) : v;
    }
}

/// Adds to s1[l] and s2[l] one plane's sum(g) and sum(g (xk - m[l])) over `rows` positions, g = dy through
/// the ReLU (zero where its output y was clamped) when `relu`; xk is x where each output was read.
template <Index L, bool relu, Real T>
void add_grad_sums(const T* gr, const T* yr, const T* xk, Index rows, const T* m, Index b, double* s1, double* s2) {
  if constexpr (L > 0) b = L;
  T a[batch_norm_max_lanes] = {}, q[batch_norm_max_lanes] = {};
  for (Index k = 0; k < rows; ++k)
#pragma omp simd
    for (Index l = 0; l < b; ++l) {
      const Index j = k * b + l;
      const T g = relu_grad<relu>(gr[j], yr[j]);
      a[l] += g;
      q[l] += g * (xk[j] - m[l]);
    }
  for (Index l = 0; l < b; ++l) s1[l] += a[l], s2[l] += q[l];
}

/// Per lane of a block, what dx needs: dx = k1 (dy - mean_dy - (x - m) proj) (see batch_norm).
template <Real T>
struct GradCoefficients {
  T m[batch_norm_max_lanes], k1[batch_norm_max_lanes], mean_dy[batch_norm_max_lanes], proj[batch_norm_max_lanes];
};

/// The coefficients of block cb from its sums s1 = sum(dy), s2 = sum(dy (x - mean)) over 1 / inv_n values
/// per channel, and dgamma (pdw) += s2 invstd, dbeta (pdb) += s1 where given; gamma from wd (null: 1).
template <Real T>
GradCoefficients<T> grad_coefficients(const double* s1, const double* s2, double inv_n, bool batch_stats, Index cb,
                                      Index b, const T* mean, const T* invstd, const T* wd, T* pdw, T* pdb) {
  GradCoefficients<T> k;
  for (Index l = 0; l < b; ++l) {
    const Index c = cb * b + l;
    const double pi = double(invstd[c]);
    if (pdb) pdb[c] += static_cast<T>(s1[l]);
    if (pdw) pdw[c] += static_cast<T>(s2[l] * pi);  // sum(dy xhat)
    k.m[l] = mean[c];
    k.k1[l] = (wd ? wd[c] : T(1)) * static_cast<T>(pi);
    k.mean_dy[l] = batch_stats ? static_cast<T>(s1[l] * inv_n) : T(0);
    k.proj[l] = batch_stats ? static_cast<T>(s2[l] * inv_n * pi * pi) : T(0);
  }
  return k;
}

/// dx of one plane d [S, b] (assigned, or added when !assign) through batch norm, and the ReLU when `relu`
/// (dy where its output yr was positive): k1 (dy - mean_dy - (x - m) proj) with batch statistics, k1 dy
/// with running ones (see batch_norm). xr: the plane of x, gr: of dy.
template <Index L, bool relu, Real T>
void dense_dx_plane(const T* xr, const T* gr, const T* yr, const GradCoefficients<T>& k, bool batch_stats, bool assign,
                    T* d, Index S, Index b) {
  if constexpr (L > 0) b = L;
  for (Index p = 0; p < S; ++p)
#pragma omp simd
    for (Index l = 0; l < b; ++l) {
      const Index j = p * b + l;
      const T g = relu_grad<relu>(gr[j], yr[j]), xv = xr[j];
      const T v = batch_stats ? k.k1[l] * (g - k.mean_dy[l] - (xv - k.m[l]) * k.proj[l]) : k.k1[l] * g;
      d[j] = assign ? v : d[j] + v;
    }
}

/// dx of one plane d [H, W, b] (assigned, or added when !assign) through batch norm, ReLU and a max pool
/// whose windows tile the plane: each position is in one window and takes its dy (gr, through the ReLU
/// at yr) when it was that window's maximum (ar); one pass, no scatter. xr: the plane of x. With L known,
/// window row by window row in `Lanes`, each window's dy through the ReLU taken once, the two flags out of
/// the loops.
template <Index L, Real T>
void tiled_pool_dx_plane(const T* xr, const T* gr, const T* yr, const std::int32_t* ar, const Pool2dGeometry& pool,
                         const GradCoefficients<T>& k, bool batch_stats, bool assign, T* d, Index b) {
  const Index kernel = pool.kernel;
  if constexpr (L > 0) {
    using V = Lanes<T, L>;
    using Mask = LaneMask<T, L>;
    const V k1 = load_lanes<L>(k.k1), mean_dy = load_lanes<L>(k.mean_dy), m = load_lanes<L>(k.m),
            proj = load_lanes<L>(k.proj), zero{};
    auto run = [&](auto stats, auto assigned) {
      for (Index i = 0; i < pool.oh; ++i)
        for (Index r = i * kernel; r < (i + 1) * kernel; ++r)
          for (Index j = 0; j < pool.ow; ++j) {
            const Index o = (i * pool.ow + j) * L;
            const V through = load_lanes<L>(yr + o) > zero ? load_lanes<L>(gr + o) : zero;
            const Mask at = __builtin_convertvector(load_lanes<L>(ar + o), Mask);
            for (Index pos = r * pool.w + j * kernel; pos < r * pool.w + (j + 1) * kernel; ++pos) {
              const V g = at == static_cast<LaneInt<T>>(pos) ? through : zero;
              V v;
              if constexpr (decltype(stats)::value) v = k1 * (g - mean_dy - (load_lanes<L>(xr + pos * L) - m) * proj);
              else v = k1 * g;
              if constexpr (!decltype(assigned)::value) v = load_lanes<L>(d + pos * L) + v;
              store_lanes<L>(d + pos * L, v);
            }
          }
    };
    using yes = std::true_type;
    using no = std::false_type;
    if (batch_stats) assign ? run(yes{}, yes{}) : run(yes{}, no{});
    else assign ? run(no{}, yes{}) : run(no{}, no{});
  } else {
    for (Index r = 0; r < pool.h; ++r)
      for (Index c = 0; c < pool.w; ++c) {
        const Index pos = r * pool.w + c, o = ((r / kernel) * pool.ow + c / kernel) * b;
        const auto pos32 = static_cast<std::int32_t>(pos);  // compared in 32 bits, as stored
#pragma omp simd
        for (Index l = 0; l < b; ++l) {
          const Index j = pos * b + l;
          const T through = relu_grad<true>(gr[o + l], yr[o + l]), xv = xr[j];
          const T g = ar[o + l] == pos32 ? through : T(0);
          const T v = batch_stats ? k.k1[l] * (g - k.mean_dy[l] - (xv - k.m[l]) * k.proj[l]) : k.k1[l] * g;
          d[j] = assign ? v : d[j] + v;
        }
      }
  }
}

/// The lanes in which the blocked kernel takes rows x [N, C] (BatchNorm1d after a Linear layer): 16 or 8
/// channels, one AVX-512 or AVX2 register; 0 when C is a multiple of neither (the NCHW kernel takes it).
inline Index batch_norm_row_lanes(Index c) { return c % 16 == 0 ? 16 : c % 8 == 0 ? 8 : 0; }

/// The blocked kernel of the batch-norm ops (see the file comment); `pool` is used by relu_max_pool only.
/// Also takes rows x [N, C] (not pooled) as blocked [N, C / B, 1, 1, B] with B = `batch_norm_row_lanes(C)`:
/// the same memory, each of its loops then vectorized across B channels of a row where the NCHW kernel
/// would run one channel's single value per row.
template <Real T, BatchNormEpilogue E>
Var<T> batch_norm_blocked(const char* name, const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                          const Tensor<T>& running_mean, const Tensor<T>& running_var, const BatchNormOptions& opt,
                          const Pool2dGeometry& pool) {
  constexpr bool relu = E != BatchNormEpilogue::none;
  constexpr bool pooled = E == BatchNormEpilogue::relu_max_pool;
  const Shape& xs = x.shape();
  // Rows [N, C]: the same memory as blocked [N, C / B, 1, 1, B], one position per sample.
  const bool rows_of_channels = !pooled && xs.rank() == 2 && batch_norm_row_lanes(xs[1]) > 0;
  check<ShapeError>(rows_of_channels || (xs.rank() == 5 && xs[4] >= 1 && xs[4] <= batch_norm_max_lanes), name,
                    ": expected blocked x [N, C / B, H, W, B] with B in [1, ", batch_norm_max_lanes, "], got ", xs);
  const Index N = xs[0], B = rows_of_channels ? batch_norm_row_lanes(xs[1]) : xs[4];
  const Index CB = rows_of_channels ? xs[1] / B : xs[1], S = rows_of_channels ? 1 : xs[2] * xs[3], C = CB * B;
  const BatchNormMode mode = check_batch_norm(name, xs, C, N * S, weight, bias, running_mean, running_var, opt);
  check<ValueError>(!is_distributed(mode.comm), name, ": synchronized batch norm needs NCHW input, got blocked x ", xs);
  const bool tracked = mode.tracked, batch_stats = mode.batch_stats;
  const Index plane = S * B;                         // one sample's values of one channel block
  const Index rows = pooled ? pool.out_plane() : S;  // positions per output plane
  const Index out_plane = rows * B;
  const bool tiled = pooled && pool.tiles();  // pooled a band of rows at a time (the encoders' 2x2)
  const T* px = x.value().data();
  const T* pw = weight.defined() ? weight.value().data() : nullptr;
  const T* pb = bias.defined() ? bias.value().data() : nullptr;
  T* prm = tracked ? running_mean.data() : nullptr;
  T* prv = tracked ? running_var.data() : nullptr;
  Tensor<T> y = pooled ? Tensor<T>::empty({N, CB, pool.oh, pool.ow, B}) : Tensor<T>::empty(xs);
  Tensor<std::int32_t> arg = pooled ? Tensor<std::int32_t>::empty(y.shape()) : Tensor<std::int32_t>();
  // Pooled: x at each window's maximum, for the backward pass's sums (read there in order, not gathered from
  // x, a plane out of cache by then).
  Tensor<T> x_at_max = pooled ? Tensor<T>::empty(y.shape()) : Tensor<T>();
  Tensor<T> mean = Tensor<T>::empty({C}), invstd = Tensor<T>::empty({C});
  T* py = y.data();
  std::int32_t* parg = pooled ? arg.data() : nullptr;
  T* pxm = pooled ? x_at_max.data() : nullptr;

  with_lanes(B, [&](auto lanes) {
    constexpr Index L = decltype(lanes)::value;
    const Index b = L > 0 ? L : B;
    parallel_for(0, CB, 1, [&](Index b0, Index b1) {
      // Pooled where the windows do not tile: a plane normalized before it is pooled.
      std::vector<T> scratch(!pooled || tiled ? 0 : static_cast<std::size_t>(plane));
      for (Index cb = b0; cb < b1; ++cb) {
        T* pm = mean.data() + cb * b;
        T* pi = invstd.data() + cb * b;
        // One pass over x: the statistics and, where the windows tile, the pooling by x (by -x where gamma < 0).
        BlockMoments moments;
        T dir[batch_norm_max_lanes];
        if (tiled) block_pool_direction(pw, cb, b, dir);
        for (Index i = 0; i < N && (batch_stats || tiled); ++i) {
          const T* r = px + (i * CB + cb) * plane;
          if (batch_stats) moments.add_plane<L>(r, S, b);
          if (tiled) {
            const Index o = (i * CB + cb) * out_plane;
            max_pool_by_key_tiled_plane<L>(r, dir, parg + o, pxm + o, pool, b);
          }
        }
        block_statistics(moments, batch_stats, tracked, opt, cb, b, pm, pi, prm, prv);
        T m[batch_norm_max_lanes], scale[batch_norm_max_lanes], shift[batch_norm_max_lanes];
        std::copy(pm, pm + b, m);
        block_scale_shift(pw, pb, pi, cb, b, scale, shift);
        for (Index i = 0; i < N; ++i) {
          const T* r = px + (i * CB + cb) * plane;
          if (tiled) {  // the pooled x normalized: the maxima of the normalized planes
            const Index o = (i * CB + cb) * out_plane;
            normalize_plane<L, true>(pxm + o, m, scale, shift, py + o, rows, b);
            continue;
          }
          T* out = pooled ? scratch.data() : py + (i * CB + cb) * plane;
          normalize_plane<L, relu>(r, m, scale, shift, out, S, b);
          if constexpr (pooled) {
            const Index o = (i * CB + cb) * out_plane;
            max_pool_blocked_plane<L>(out, r, py + o, parg + o, pxm + o, pool, b);
          }
        }
      }
    });
  });

  const BatchNormInputs<T> inputs(x, weight, bias);
  Tensor<T> xv = x.value();
  Tensor<T> wv = weight.defined() ? weight.value() : Tensor<T>();
  return make_op<T>(name, std::move(y), inputs.vars, [=](Node<T>& self) {
    const auto gx = self.grad_target(0);
    // (not a structured binding: clang 15 cannot capture those in the lambdas below)
    const std::pair<T*, T*> param_grads = inputs.grads(self);
    T* const pdw = param_grads.first;
    T* const pdb = param_grads.second;
    if (!gx && !pdw && !pdb) return;
    const T* xd = xv.data();
    const T* gd = self.grad.data();
    const T* yd = self.value.data();
    const std::int32_t* ad = pooled ? arg.data() : nullptr;
    const T* xmd = pooled ? x_at_max.data() : nullptr;
    const T* wd = wv.defined() ? wv.data() : nullptr;
    const double inv_n = 1.0 / double(N * S);
    with_lanes(B, [&](auto lanes) {
      constexpr Index L = decltype(lanes)::value;
      const Index b = L > 0 ? L : B;
      parallel_for(0, CB, 1, [&](Index b0, Index b1) {
        for (Index cb = b0; cb < b1; ++cb) {
          // Per channel: sum(dy) and sum(dy (x - mean)), over the pooled positions when pooled; dy through the
          // ReLU is zero where the output was clamped.
          const T* m = mean.data() + cb * b;
          double s1[batch_norm_max_lanes] = {}, s2[batch_norm_max_lanes] = {};
          for (Index i = 0; i < N; ++i) {
            const Index p = i * CB + cb;
            const T* xk_row = pooled ? xmd + p * out_plane : xd + p * plane;  // x where each output was read
            add_grad_sums<L, relu>(gd + p * out_plane, yd + p * out_plane, xk_row, rows, m, b, s1, s2);
          }
          const GradCoefficients<T> coef =
              grad_coefficients(s1, s2, inv_n, batch_stats, cb, b, mean.data(), invstd.data(), wd, pdw, pdb);
          const T *k1 = coef.k1, *mean_dy = coef.mean_dy, *proj = coef.proj;
          if (!gx) continue;
          // dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)) with batch statistics, gamma invstd dy
          // with running ones (see batch_norm).
          const bool assign = gx.assign;
          auto put = [assign](T& to, T v) { to = assign ? v : to + v; };
          for (Index i = 0; i < N; ++i) {
            const Index p = i * CB + cb;
            const T *xr = xd + p * plane, *gr = gd + p * out_plane, *yr = yd + p * out_plane;
            T* d = gx.data + p * plane;
            if constexpr (pooled) {
              const std::int32_t* ar = ad + p * out_plane;
              if (tiled) {
                tiled_pool_dx_plane<L>(xr, gr, yr, ar, pool, coef, batch_stats, assign, d, b);
                continue;
              }
              // The dense part, then dy added at each window's maximum (several windows may share one).
              if (batch_stats) {
                for (Index k = 0; k < S; ++k)
#pragma omp simd
                  for (Index l = 0; l < b; ++l) {
                    const Index j = k * b + l;
                    put(d[j], -k1[l] * (mean_dy[l] + (xr[j] - m[l]) * proj[l]));
                  }
              } else if (assign) {
                std::fill(d, d + plane, T(0));
              }
              for (Index k = 0; k < rows; ++k)
                for (Index l = 0; l < b; ++l) {
                  const Index j = k * b + l;
                  d[Index(ar[j]) * b + l] += k1[l] * relu_grad<true>(gr[j], yr[j]);
                }
            } else {
              dense_dx_plane<L, relu>(xr, gr, yr, coef, batch_stats, assign, d, S, b);
            }
          }
        }
      });
    });
  });
}

}  // namespace simile::detail
