#pragma once
/// \file
/// The weight gradient of a convolution with few input taps (C_in kh kw <= `few_channels_max_taps`, as
/// an encoder's first layer on grayscale or RGB images), plain x and channel-blocked dy:
///
///   dw[o, c, u, v] += sum_{n, i, j} dy[n, o, i, j] x[n, c, i s_h - p_h + u, j s_w - p_w + v]   (x 0 outside)
///   db[o]          += sum_{n, i, j} dy[n, o, i, j]
///
/// x NCHW [N, C, H, W], dy blocked [N, O / B, OH, OW, B] (`ops/blocked.hpp`), dw [O, C, kh, kw], db [O].
/// oneDNN's kernel for this pass is built for many input channels: at C_in = 1 (Fashion-MNIST's first layer,
/// [512, 1, 28, 28] -> 32 channels, 3x3) it ran 14.0 ms on an AVX2 EPYC (2 threads) where this one, reading
/// dy once with the taps' B-lane sums in registers, ran 3.0 (`bench/conv_bench.cpp`,
/// BM_first_layer_weight_grad).
///
/// Work: tasks of (a fixed chunk of `few_channels_chunk` images, one channel block), each summing its
/// images one by one (float within an image, its OH OW terms; double across images), then the tasks'
/// sums combined in chunk order: the same bits at every thread count.

#include <algorithm>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/ops/detail/conv_eigen.hpp"
#include "simile/ops/detail/padded_image.hpp"

namespace simile::detail {

/// The most taps (C_in kh kw) `conv_weight_grad_few_channels` takes: its sums live in registers.
inline constexpr Index few_channels_max_taps = padded_image_max_taps;
/// Images per task of `conv_weight_grad_few_channels` (fixed: the result does not depend on the threads).
inline constexpr Index few_channels_chunk = 32;

/// True when `conv_weight_grad_few_channels` takes the geometry `g` with channel block `b`.
inline bool few_channels_weight_grad_applies(const ConvGeometry& g, Index b) {
  return b > 0 && g.o % b == 0 && g.c * g.kh * g.kw <= few_channels_max_taps && g.n > 0;
}

/// One task's sums: images [n0, n1) of channel block `ob`, into sums[tap * b + lane] and bias[lane] (double).
/// L: the block when known at compile time (8, 16), else 0 and `b` gives it; TAPS likewise for C kh kw.
template <Index L, Index TAPS>
void few_channels_task(const ConvGeometry& g, const float* x, const float* dy, Index b, Index n0, Index n1, Index ob,
                       double* sums, double* bias) {
  const Index lanes = L > 0 ? L : b;
  const Index taps = TAPS > 0 ? TAPS : g.c * g.kh * g.kw;
  PaddedImage<float> padded(g);
  const Index ob_count = g.o / lanes, plane = g.oh * g.ow * lanes;
  for (Index n = n0; n < n1; ++n) {
    padded.load(g, x + n * g.c * g.h * g.w);
    float acc[(TAPS > 0 ? TAPS : few_channels_max_taps) * (L > 0 ? L : 64)] = {}, s[L > 0 ? L : 64] = {};
    const float* gy = dy + (n * ob_count + ob) * plane;
    for (Index i = 0; i < g.oh; ++i)
      for (Index j = 0; j < g.ow; ++j) {
        const float* gv = gy + (i * g.ow + j) * lanes;
        const float* xv = padded.at(g, i, j);
        for (Index t = 0; t < taps; ++t) {
          const float xs = xv[padded.offset[t]];
#pragma omp simd
          for (Index l = 0; l < lanes; ++l) acc[t * lanes + l] += xs * gv[l];
        }
#pragma omp simd
        for (Index l = 0; l < lanes; ++l) s[l] += gv[l];
      }
    for (Index k = 0; k < taps * lanes; ++k) sums[k] += acc[k];
    for (Index l = 0; l < lanes; ++l) bias[l] += s[l];
  }
}

/// dw += and db += the sums of the file comment; either may be null. Requires
/// `few_channels_weight_grad_applies(g, b)` (b <= 64); x and dy as described there.
inline void conv_weight_grad_few_channels(const ConvGeometry& g, const float* x, const float* dy, Index b, float* dw,
                                          float* db) {
  check(few_channels_weight_grad_applies(g, b) && b <= 64, "conv_weight_grad_few_channels: ", g.c, "x", g.kh, "x", g.kw,
        " taps (at most ", few_channels_max_taps, "), C_out ", g.o, ", channel block ", b);
  const Index taps = g.c * g.kh * g.kw, ob_count = g.o / b;
  const Index chunks = (g.n + few_channels_chunk - 1) / few_channels_chunk, tasks = chunks * ob_count;
  const Index stride = (taps + 1) * b;  // a task's sums, then its bias sums
  std::vector<double> partial(static_cast<std::size_t>(tasks * stride), 0.0);
  auto run = [&](auto lanes, auto tap_count) {
    constexpr Index L = decltype(lanes)::value, TAPS = decltype(tap_count)::value;
    parallel_for(0, tasks, 1, [&](Index t0, Index t1) {
      for (Index t = t0; t < t1; ++t) {
        const Index chunk = t / ob_count, ob = t % ob_count;
        const Index n0 = chunk * few_channels_chunk, n1 = std::min(g.n, n0 + few_channels_chunk);
        double* p = partial.data() + t * stride;
        few_channels_task<L, TAPS>(g, x, dy, b, n0, n1, ob, p, p + taps * b);
      }
    });
  };
  using std::integral_constant;
  if (b == 8 && taps == 9) run(integral_constant<Index, 8>{}, integral_constant<Index, 9>{});
  else if (b == 16 && taps == 9) run(integral_constant<Index, 16>{}, integral_constant<Index, 9>{});
  else if (b == 8) run(integral_constant<Index, 8>{}, integral_constant<Index, 0>{});
  else if (b == 16) run(integral_constant<Index, 16>{}, integral_constant<Index, 0>{});
  else run(integral_constant<Index, 0>{}, integral_constant<Index, 0>{});
  // Combined in chunk order; the tap t = (c, u, v) of lane l of block ob is dw[(ob b + l), c, u, v].
  for (Index ob = 0; ob < ob_count; ++ob)
    for (Index l = 0; l < b; ++l) {
      const Index o = ob * b + l;
      for (Index t = 0; t <= taps; ++t) {
        double total = 0;
        for (Index chunk = 0; chunk < chunks; ++chunk) total += partial[(chunk * ob_count + ob) * stride + t * b + l];
        if (t < taps && dw) dw[o * taps + t] += static_cast<float>(total);
        if (t == taps && db) db[o] += static_cast<float>(total);
      }
    }
}

}  // namespace simile::detail
