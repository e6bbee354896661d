#pragma once
/// \file
/// `conv2d_batch_norm_relu_max_pool2d`: the first stage of a ConvNet on images of few channels as one op,
///
///   y = max_pool2d(relu(batch_norm(conv2d(x, w))), k)          (no convolution bias: batch norm removes it)
///
/// x NCHW [N, C, H, W], w [O, C, kh, kw] with C kh kw <= `conv_batch_norm_max_taps`, y channel-blocked
/// [N, O / B, OH / k, OW / k, B] (`ops/blocked.hpp`), the layout `conv2d_blocked` continues with.
///
/// Why one op: apart, the convolution's output (in SmallConvNet's SimCLR step [512, 32, 28, 28], 51 MB of
/// floats) is written, read twice by batch norm's forward (statistics, then normalization), once by its
/// backward, whose dx, as large, is read again by the weight gradient. A convolution of so few taps is
/// cheaper to recompute than to keep: every pass here computes one sample's plane of one channel block
/// (OH OW B values, in L2) from the image and uses it at once, so nothing of that size reaches memory.
/// Per channel block, one convolution pass: each plane's statistics (`BlockMoments`, as the blocked batch norm)
/// and its pooling by x (by -x where gamma < 0: the normalization and ReLU are monotonic in x,
/// `max_pool_by_key_tiled_plane`), the pooled values normalized once the statistics are known; backward, the
/// sums over the pooled positions, then per plane (the convolution computed again) dx (`tiled_pool_dx_plane`,
/// into scratch) and from it the weight gradient,
///
///   dw[o, c, u, v] += sum_{n, i, j} dx[n, o, i, j] x[n, c, i s_h - p_h + u, j s_w - p_w + v]   (x 0 outside),
///
/// summed in T within a plane and in double across planes. The same statistics, running-buffer updates,
/// tie rule (the first maximum, NaN wins; where rounding alone ties two x, the larger x as the blocked kernel)
/// and gradients as `conv2d` then `batch_norm_relu_max_pool2d`, to rounding; computed in T whatever
/// `compute_precision()` says (the layer is a small share of the work). x gets no gradient (an image: x requiring one
/// is refused), and the pooling windows must tile the convolution's output (stride = kernel, no padding, no remainder).
/// Parallel over channel blocks, each start to end on one thread: the same bits at every thread count. Not synchronized
/// across ranks.

#include <algorithm>
#include <cstring>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/batch_norm_options.hpp"
#include "simile/ops/conv.hpp"
#include "simile/ops/detail/batch_norm_blocked.hpp"
#include "simile/ops/detail/lane_vector.hpp"
#include "simile/ops/detail/padded_image.hpp"
#include "simile/ops/pool.hpp"

namespace simile {

/// The most taps (C_in kh kw) `conv2d_batch_norm_relu_max_pool2d` takes: 27, a 3x3 kernel on RGB.
inline constexpr Index conv_batch_norm_max_taps = detail::padded_image_max_taps;

namespace detail {

/// One plane of one channel block of the convolution: out[(i OW + j) b + l] = sum_t wt[t b + l] x_t(i, j),
/// with wt the block's weights tap-major [taps, b]. L: b when known at compile time, else 0; TAPS likewise
/// for the taps. With both known each position's sum runs in one vector of L lanes (GCC's and Clang's
/// vector extension, `Lanes`: a register on AVX-512 for 16 floats, two on AVX2), the TAPS weight vectors held in
/// registers across the plane; written as plain loops, GCC 12 vectorized the sum over taps by gathers
/// instead. Otherwise tap by tap over the plane.
template <Index L, Index TAPS, Real T>
void conv_block_plane(const ConvGeometry& g, const PaddedImage<T>& x, const T* wt, T* out, Index b) {
  if constexpr (L > 0 && TAPS > 0) {
    Lanes<T, L> w[TAPS];
    std::memcpy(static_cast<void*>(w), wt, sizeof(w));
    Index offset[TAPS];  // local: the stores to out cannot alias them, so they stay in registers
    std::copy(x.offset, x.offset + TAPS, offset);
    for (Index i = 0; i < g.oh; ++i)
      for (Index j = 0; j < g.ow; ++j) {
        const T* xv = x.at(g, i, j);
        Lanes<T, L> acc = xv[offset[0]] * w[0];
        for (Index t = 1; t < TAPS; ++t) acc += xv[offset[t]] * w[t];
        store_lanes<L>(out + (i * g.ow + j) * L, acc);
      }
  } else {
    const Index taps = TAPS > 0 ? TAPS : x.taps;
    for (Index t = 0; t < taps; ++t) {
      const T* w = wt + t * b;
      for (Index i = 0; i < g.oh; ++i) {
        const T* xr = x.at(g, i, 0) + x.offset[t];
        T* o = out + i * g.ow * b;
        for (Index j = 0; j < g.ow; ++j) {
          const T xs = xr[j * g.sw];
#pragma omp simd
          for (Index l = 0; l < b; ++l) o[j * b + l] = (t == 0 ? T(0) : o[j * b + l]) + xs * w[l];
        }
      }
    }
  }
}

/// Adds to sums[t b + l] (double) one plane's weight gradient sum_{i, j} d[(i OW + j) b + l] x_t(i, j),
/// summed in T over the plane first.
template <Index L, Index TAPS, Real T>
void add_conv_block_weight_grad(const ConvGeometry& g, const PaddedImage<T>& x, const T* d, double* sums, Index b) {
  if constexpr (L > 0) b = L;
  const Index taps = TAPS > 0 ? TAPS : x.taps;
  T acc[conv_batch_norm_max_taps * batch_norm_max_lanes];  // the first taps b used: only those zeroed, per plane
  std::fill_n(acc, taps * b, T(0));
  for (Index i = 0; i < g.oh; ++i)
    for (Index j = 0; j < g.ow; ++j) {
      const T* xv = x.at(g, i, j);
      const T* dv = d + (i * g.ow + j) * b;
      for (Index t = 0; t < taps; ++t) {
        const T xs = xv[x.offset[t]];
#pragma omp simd
        for (Index l = 0; l < b; ++l) acc[t * b + l] += xs * dv[l];
      }
    }
  for (Index k = 0; k < taps * b; ++k) sums[k] += double(acc[k]);
}

/// Calls f(std::integral_constant<Index, K>{}) with K = taps for a 3x3 kernel on one or three channels
/// (9, 27), else K = 0 (the count read at run time).
template <class F>
void with_taps(Index taps, F&& f) {
  if (taps == 9) return f(std::integral_constant<Index, 9>{});
  if (taps == 27) return f(std::integral_constant<Index, 27>{});
  f(std::integral_constant<Index, 0>{});
}

/// For each channel block cb, in parallel over blocks (each start to end on one thread): body(lanes,
/// tap_count, cb, plane, image), with lanes and tap_count `std::integral_constant`s (0: known at run time
/// only), plane(i) computing sample i's plane of block cb of the convolution of x [N, C, H, W] by the
/// tap-major weights wt into the thread's scratch [OH OW B] and returning it, and image the padded image
/// the last plane(i) loaded (sample i: the backward's weight gradient reads it).
template <Real T, class Body>
void for_each_conv_block(const ConvGeometry& g, const T* x, const T* wt, Index block, Body&& body) {
  const Index taps = g.c * g.kh * g.kw;
  with_lanes(block, [&](auto lanes) {
    with_taps(taps, [&](auto tap_count) {
      constexpr Index L = decltype(lanes)::value, TAPS = decltype(tap_count)::value;
      parallel_for(0, g.o / block, 1, [&](Index b0, Index b1) {
        PaddedImage<T> image(g);
        std::vector<T> scratch(static_cast<std::size_t>(g.oh * g.ow * block));
        for (Index cb = b0; cb < b1; ++cb) {
          auto plane = [&](Index i) -> T* {
            image.load(g, x + i * g.c * g.h * g.w);
            conv_block_plane<L, TAPS>(g, image, wt + cb * taps * block, scratch.data(), block);
            return scratch.data();
          };
          body(lanes, tap_count, cb, plane, static_cast<const PaddedImage<T>&>(image));
        }
      });
    });
  });
}

}  // namespace detail

/// y = max_pool2d(relu(batch_norm(conv2d(x, conv_weight, conv))), pool_kernel) as one op (see the file
/// comment): x [N, C, H, W] requiring no gradient, conv_weight [O, C, kh, kw] with C kh kw <= 27, batch
/// norm's `weight` and `bias` [O] (either may be undefined), running buffers [O] or empty, as `batch_norm`;
/// y [N, O / block, OH / pool_kernel, OW / pool_kernel, block] with OH x OW the convolution's output.
/// Throws ShapeError for shapes that do not fit, ValueError for x requiring a gradient, more than 27 taps,
/// a block outside [1, 64] or not dividing O, windows that do not tile OH x OW, a synchronized `opt.comm`,
/// and batch norm's own errors.
template <Real T>
Var<T> conv2d_batch_norm_relu_max_pool2d(const Var<T>& x, const Var<T>& conv_weight, const Var<T>& weight,
                                         const Var<T>& bias, const Tensor<T>& running_mean,
                                         const Tensor<T>& running_var, const BatchNormOptions& opt, Index block,
                                         const Conv2dOptions& conv = {}, Index pool_kernel = 2) {
  using namespace detail;
  const char* name = "conv2d_batch_norm_relu_max_pool2d";
  check<ValueError>(!x.requires_grad(), name, ": x ", x.shape(),
                    " requires a gradient; this op gives none (use conv2d_blocked and batch_norm_relu_max_pool2d)");
  const Shape &xs = x.shape(), &ws = conv_weight.shape();
  check<ShapeError>(xs.rank() == 4 && ws.rank() == 4 && ws[1] == xs[1], name, ": x ", xs, " and convolution weight ",
                    ws, " are not [N, C, H, W] and [O, C, kh, kw]");
  const ConvGeometry g = conv_geometry(xs, ws, nullptr, conv);
  const Index taps = g.c * g.kh * g.kw;
  check<ValueError>(taps <= conv_batch_norm_max_taps, name, ": weight ", conv_weight.shape(), " has ", taps,
                    " taps (C_in kh kw), at most ", conv_batch_norm_max_taps);
  check<ValueError>(block >= 1 && block <= batch_norm_max_lanes && g.o % block == 0, name, ": block ", block,
                    " must be in [1, ", batch_norm_max_lanes, "] and divide the ", g.o, " output channels");
  const Shape ys{g.n, g.o, g.oh, g.ow};  // the convolution's output, as the separate ops would see it
  const Pool2dGeometry pool = pool2d_geometry(name, ys, pool_kernel, pool_kernel, 0);
  check<ValueError>(pool.tiles(), name, ": ", pool_kernel, "x", pool_kernel, " windows do not tile the ", g.oh, "x",
                    g.ow, " output of the convolution");
  const Index N = g.n, B = block, CB = g.o / B, S = g.oh * g.ow, C = g.o;
  const BatchNormMode mode = check_batch_norm(name, ys, C, N * S, weight, bias, running_mean, running_var, opt);
  check<ValueError>(!is_distributed(mode.comm), name, ": synchronized batch norm is not supported here");
  const bool tracked = mode.tracked, batch_stats = mode.batch_stats;
  const Index out_plane = pool.out_plane() * B;
  // The weights tap-major per block: wt[(cb taps + t) B + l] = w[cb B + l, t].
  std::vector<T> wt(static_cast<std::size_t>(C * taps));
  for (Index o = 0; o < C; ++o)
    for (Index t = 0; t < taps; ++t)
      wt[std::size_t(((o / B) * taps + t) * B + o % B)] = conv_weight.value().data()[o * taps + t];
  const T* px = x.value().data();
  const T* pw = weight.defined() ? weight.value().data() : nullptr;
  const T* pb = bias.defined() ? bias.value().data() : nullptr;
  T* prm = tracked ? running_mean.data() : nullptr;
  T* prv = tracked ? running_var.data() : nullptr;
  Tensor<T> y = Tensor<T>::empty({N, CB, pool.oh, pool.ow, B});
  Tensor<std::int32_t> arg = Tensor<std::int32_t>::empty(y.shape());
  Tensor<T> x_at_max = Tensor<T>::empty(y.shape());
  Tensor<T> mean = Tensor<T>::empty({C}), invstd = Tensor<T>::empty({C});

  for_each_conv_block(g, px, wt.data(), B, [&](auto lanes, auto, Index cb, auto&& plane, const PaddedImage<T>&) {
    constexpr Index L = decltype(lanes)::value;
    const Index b = B;
    T* pm = mean.data() + cb * b;
    T* pi = invstd.data() + cb * b;
    // One convolution pass: each plane's statistics and its pooling by x (by -x where gamma < 0), normalized after.
    BlockMoments moments;
    T dir[batch_norm_max_lanes];
    block_pool_direction(pw, cb, b, dir);
    for (Index i = 0; i < N; ++i) {
      const T* xp = plane(i);
      if (batch_stats) moments.add_plane<L>(xp, S, b);
      const Index o = (i * CB + cb) * out_plane;
      max_pool_by_key_tiled_plane<L>(xp, dir, arg.data() + o, x_at_max.data() + o, pool, b);
    }
    block_statistics(moments, batch_stats, tracked, opt, cb, b, pm, pi, prm, prv);
    T scale[batch_norm_max_lanes], shift[batch_norm_max_lanes];
    block_scale_shift(pw, pb, pi, cb, b, scale, shift);
    for (Index i = 0; i < N; ++i) {
      const Index o = (i * CB + cb) * out_plane;
      normalize_plane<L, true>(x_at_max.data() + o, pm, scale, shift, y.data() + o, pool.out_plane(), b);
    }
  });

  const BatchNormInputs<T> inputs(conv_weight, weight, bias);  // slot 0: the convolution's weight
  Tensor<T> xv = x.value();
  Tensor<T> gamma = weight.defined() ? weight.value() : Tensor<T>();
  return make_op<T>(name, std::move(y), inputs.vars, [=](Node<T>& self) {
    const auto gw = self.grad_target(0);
    const std::pair<T*, T*> param_grads = inputs.grads(self);
    T* const pdw = param_grads.first;
    T* const pdb = param_grads.second;
    if (!gw && !pdw && !pdb) return;
    const T* gd = self.grad.data();
    const T* yd = self.value.data();
    const double inv_n = 1.0 / double(N * S);
    auto block_backward = [&](auto lanes, auto tap_count, Index cb, auto&& plane, const PaddedImage<T>& image) {
      constexpr Index L = decltype(lanes)::value, TAPS = decltype(tap_count)::value;
      const Index b = B;
      double s1[batch_norm_max_lanes] = {}, s2[batch_norm_max_lanes] = {};
      for (Index i = 0; i < N; ++i) {
        const Index p = (i * CB + cb) * out_plane;
        add_grad_sums<L, true>(gd + p, yd + p, x_at_max.data() + p, pool.out_plane(), mean.data() + cb * b, b, s1, s2);
      }
      const GradCoefficients<T> coef = grad_coefficients(s1, s2, inv_n, batch_stats, cb, b, mean.data(), invstd.data(),
                                                         gamma.defined() ? gamma.data() : nullptr, pdw, pdb);
      if (!gw) return;
      std::vector<T> d(static_cast<std::size_t>(S * B));
      std::vector<double> sums(static_cast<std::size_t>(taps * B), 0.0);
      for (Index i = 0; i < N; ++i) {
        const T* xp = plane(i);  // loads image i into `image` too
        const Index p = (i * CB + cb) * out_plane;
        tiled_pool_dx_plane<L>(xp, gd + p, yd + p, arg.data() + p, pool, coef, batch_stats, true, d.data(), b);
        add_conv_block_weight_grad<L, TAPS>(g, image, d.data(), sums.data(), b);
      }
      for (Index l = 0; l < b; ++l)
        for (Index t = 0; t < taps; ++t) {
          T& to = gw.data[(cb * b + l) * taps + t];
          const T v = static_cast<T>(sums[std::size_t(t * b + l)]);
          to = gw.assign ? v : to + v;
        }
    };
    for_each_conv_block(g, xv.data(), wt.data(), B, block_backward);
  });
}

}  // namespace simile
