#pragma once
/// \file
/// The weight gradient of a stride-1 convolution in bfloat16, on CPUs with AVX512_BF16:
///
///   dw[o, c, u, v] += sum_{n, i, j} dy[n, o, i, j] x[n, c, i - p_h + u, j - p_w + v]   (x 0 outside)
///
/// with x and dy rounded to bfloat16 and the products summed in float. oneDNN 2.6's kernel for this pass
/// pairs the terms of its bf16 dot products along the image width, so it first transposes x and dy and
/// pads odd widths (7 at SmallConvNet's third layer); it ran at 60 % of its own forward's speed. This one
/// pairs two *images* instead: x and dy go to the pair layout
///
///   [ceil(N/2), H, W, C, 2]: (n, c, i, j) at ((n/2 H + i) W + j) 2C + 2c + n % 2   (a missing image is 0)
///
/// in which the two terms of every VDPBF16PS lane (the same pixel and channel of images 2p and 2p+1) sit
/// side by side for any tap, so each tap's sum is a plain product over the pixels in range: 16 outputs
/// in a vector, 4 input channels broadcast, a tile of 4 x 4 vectors in registers.
/// On an AMD EPYC (family 26, AVX512_BF16), 2 threads, batch 512: 32->64 at 14x14 4.43 ms and 64->128 at 7x7
/// 4.03 ms, against oneDNN's 6.23 and 7.37 on its own layouts (1 thread: 8.91 and 7.97 against 12.1 and
/// 14.4); `simile_bench_conv --benchmark_filter=BM_conv_weight_grad_bf16 --benchmark_min_time=1`.
///
/// Work: the pixels are walked in chunks (an image pair's rows, or a few small pairs, whose dy fits in the
/// L1 cache), every tile (a tap, up to 64 outputs, a run of input channels 4 at a time) over each chunk
/// before the next. The chunks form `bf16_wgrad::chunk_groups` fixed groups, each summed into its own
/// float copy of dw, the groups spread over the threads and their sums added in group order: the same
/// bits at every thread count. (Splitting the tiles over the threads instead, each thread reading every
/// chunk, ran 5.3-6.2 ms against 4.7-4.9 at 64->128 in a scratch comparison on two threads; and GCC 12 kept
/// the dy vectors in memory, reloading them for every channel, until an empty asm pinned them to
/// registers: 10.6 against 4.1 ms.)

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/ops/detail/conv_eigen.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SIMILE_BF16_KERNELS 1
#define SIMILE_UNROLL _Pragma("GCC unroll 4")
#define SIMILE_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define SIMILE_BF16_KERNELS 0
#endif

namespace simile::detail {

/// The most weights (C_out C_in kh kw) `conv_weight_grad_bf16` takes: its float sums (4 bytes each) stay
/// in the L2 cache while every pixel chunk passes over them. Larger layers keep oneDNN's kernel.
inline constexpr Index bf16_weight_grad_max_weights = Index(1) << 18;

/// True when this CPU executes AVX512_BF16 and this build has the kernels.
inline bool cpu_has_avx512_bf16() {
#if SIMILE_BF16_KERNELS
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

/// True when `conv_weight_grad_bf16` takes geometry `g` on this CPU: stride 1, C_out a multiple of 16,
/// at most `bf16_weight_grad_max_weights` weights.
inline bool bf16_weight_grad_applies(const ConvGeometry& g) {
  return cpu_has_avx512_bf16() && g.sh == 1 && g.sw == 1 && g.n > 0 && g.c > 0 && g.o > 0 && g.o % 16 == 0 &&
         g.oh > 0 && g.ow > 0 && g.o * g.c * g.kh * g.kw <= bf16_weight_grad_max_weights;
}

/// `f` rounded to bfloat16 as VCVTNEPS2BF16 rounds it: to nearest even, denormals to signed zero, NaN quiet.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7F800000u) == 0) return static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

/// Elements of the pair layout of [n, c, h, w] (the last pair padded when n is odd).
inline Index bf16_pairs_size(Index n, Index c, Index h, Index w) { return (n + 1) / 2 * h * w * c * 2; }

#if SIMILE_BF16_KERNELS
/// Pair p, channels [16 cb, 16 cb + 16) of the blocked [N, C/16, H, W, 16] `in` to the pair layout; the
/// same values rounded into `same` (blocked, bf16) when not null.
SIMILE_TARGET_BF16 inline void bf16_pairs_block16(const float* in, Index n, Index c, Index h, Index w, Index p,
                                                  Index cb, std::uint16_t* pairs, std::uint16_t* same) {
  const Index plane = h * w * 16, image = c * h * w;
  const Index n0 = 2 * p, n1 = 2 * p + 1;
  const float* a = in + n0 * image + cb * plane;
  const float* b = n1 < n ? in + n1 * image + cb * plane : nullptr;
  std::uint16_t* out = pairs + p * h * w * c * 2 + cb * 32;
  for (Index q = 0; q < h * w; ++q, out += 2 * c) {
    const __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a + 16 * q));
    const __m256i hi = b ? (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(b + 16 * q)) : _mm256_setzero_si256();
    if (same) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(same + n0 * image + cb * plane + 16 * q), lo);
      if (b) _mm256_storeu_si256(reinterpret_cast<__m256i*>(same + n1 * image + cb * plane + 16 * q), hi);
    }
    const __m512i pair = _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
    _mm512_storeu_si512(out, pair);
  }
}
#endif

/// Rounds the float activations `in` ([n, c, h, w] NCHW when `block` is 0, else blocked
/// [n, c / block, h, w, block]) to bfloat16 in the pair layout of the file comment; when `same` is not
/// null, also into `same` in `in`'s own layout. Threads over image pairs.
inline void to_bf16_pairs(const float* in, Index block, Index n, Index c, Index h, Index w, std::uint16_t* pairs,
                          std::uint16_t* same = nullptr) {
  check(block == 0 || c % block == 0, "to_bf16_pairs: ", c, " channels in blocks of ", block);
  const Index pair_count = (n + 1) / 2;
#if SIMILE_BF16_KERNELS
  if (block == 16 && cpu_has_avx512_bf16()) {
    parallel_for(0, pair_count, 1, [&](Index p0, Index p1) {
      for (Index p = p0; p < p1; ++p)
        for (Index cb = 0; cb < c / 16; ++cb) bf16_pairs_block16(in, n, c, h, w, p, cb, pairs, same);
    });
    return;
  }
#endif
  auto at = [&](Index i, Index ch, Index y, Index x) {
    return block == 0 ? ((i * c + ch) * h + y) * w + x : (((i * (c / block) + ch / block) * h + y) * w + x) * block + ch % block;
  };
  parallel_for(0, pair_count, 1, [&](Index p0, Index p1) {
    for (Index p = p0; p < p1; ++p)
      for (Index s = 0; s < 2; ++s) {
        const Index i = 2 * p + s;
        for (Index ch = 0; ch < c; ++ch)
          for (Index y = 0; y < h; ++y)
            for (Index x = 0; x < w; ++x) {
              const std::uint16_t v = i < n ? to_bf16(in[at(i, ch, y, x)]) : std::uint16_t(0);
              pairs[((p * h + y) * w + x) * 2 * c + 2 * ch + s] = v;
              if (same && i < n) same[at(i, ch, y, x)] = v;
            }
      }
  });
}

namespace bf16_wgrad {

/// A run of pixels: image pairs [p0, p1), output rows [i0, i1) of each.
struct Chunk {
  Index p0, p1, i0, i1;
};

/// One tile over one chunk: acc[c][k] (input channel c0 + c, outputs o0 + 16k ...) += the products of
/// tap (u, v), loaded from and stored to `sums` [kh kw, C, O]. OV vectors of 16 outputs, CB channels.
#if SIMILE_BF16_KERNELS
template <int OV, int CB>
SIMILE_TARGET_BF16 void tile(const ConvGeometry& g, const std::uint16_t* x, const std::uint16_t* dy, float* sums,
                             const Chunk& k, Index u, Index v, Index o0, Index c_begin, Index c_end) {
  // Rows and columns whose input pixel (i - ph + u, j - pw + v) lies inside the image.
  const Index i_lo = std::max(k.i0, g.ph - u), i_hi = std::min(k.i1, g.h + g.ph - u);
  const Index j_lo = std::max<Index>(0, g.pw - v), j_hi = std::min(g.ow, g.w + g.pw - v);
  if (i_lo >= i_hi || j_lo >= j_hi) return;
  const Index O = g.o, dstep = 2 * g.o, xstep = 2 * g.c;
  for (Index c0 = c_begin; c0 < c_end; c0 += CB) {
  float* s = sums + ((u * g.kw + v) * g.c + c0) * O + o0;
  __m512 acc[CB][OV];
  SIMILE_UNROLL for (int c = 0; c < CB; ++c)
    SIMILE_UNROLL for (int q = 0; q < OV; ++q) acc[c][q] = _mm512_loadu_ps(s + c * O + 16 * q);
  for (Index p = k.p0; p < k.p1; ++p)
    for (Index i = i_lo; i < i_hi; ++i) {
      const std::uint16_t* d = dy + ((p * g.oh + i) * g.ow + j_lo) * dstep + 2 * o0;
      const std::uint16_t* xs = x + ((p * g.h + i - g.ph + u) * g.w + j_lo - g.pw + v) * xstep + 2 * c0;
      for (Index j = j_lo; j < j_hi; ++j, d += dstep, xs += xstep) {
        __m512bh dv[OV];
        SIMILE_UNROLL for (int q = 0; q < OV; ++q) {
          dv[q] = (__m512bh)_mm512_loadu_si512(d + 32 * q);
          __asm__("" : "+v"(dv[q]));  // kept in a register: else GCC reloads it for every channel
        }
        SIMILE_UNROLL for (int c = 0; c < CB; ++c) {
          std::int32_t pair;
          std::memcpy(&pair, xs + 2 * c, sizeof pair);
          const __m512bh b = (__m512bh)_mm512_set1_epi32(pair);
          SIMILE_UNROLL for (int q = 0; q < OV; ++q) acc[c][q] = _mm512_dpbf16_ps(acc[c][q], dv[q], b);
        }
      }
    }
  SIMILE_UNROLL for (int c = 0; c < CB; ++c)
    SIMILE_UNROLL for (int q = 0; q < OV; ++q) _mm512_storeu_ps(s + c * O + 16 * q, acc[c][q]);
  }
}

using TileFn = void (*)(const ConvGeometry&, const std::uint16_t*, const std::uint16_t*, float*, const Chunk&, Index,
                        Index, Index, Index, Index);

/// The tile of OV vectors and CB channels (1-4 each).
inline TileFn tile_for(int ov, int cb) {
  static constexpr TileFn table[4][4] = {{tile<1, 1>, tile<1, 2>, tile<1, 3>, tile<1, 4>},
                                         {tile<2, 1>, tile<2, 2>, tile<2, 3>, tile<2, 4>},
                                         {tile<3, 1>, tile<3, 2>, tile<3, 3>, tile<3, 4>},
                                         {tile<4, 1>, tile<4, 2>, tile<4, 3>, tile<4, 4>}};
  return table[ov - 1][cb - 1];
}
#endif

/// Output pixels a chunk aims at: its dy rows (64 outputs, 2 images: 256 bytes a pixel) stay in L1.
inline constexpr Index chunk_pixels = 96;
/// Groups of chunks summed apart (at most): the threads' shares, fixed so that the bits do not depend on
/// the thread count.
inline constexpr Index chunk_groups = 4;

}  // namespace bf16_wgrad

/// dw [O, C, kh, kw] += the sums of the file comment, x and dy in the pair layout (`to_bf16_pairs`):
/// x of [N, C, H, W], dy of [N, O, OH, OW]. Requires `bf16_weight_grad_applies(g)`.
inline void conv_weight_grad_bf16(const ConvGeometry& g, const std::uint16_t* x_pairs, const std::uint16_t* dy_pairs,
                                  float* dw) {
  check(bf16_weight_grad_applies(g), "conv_weight_grad_bf16: no kernel for weight [", g.o, ", ", g.c, ", ", g.kh, ", ",
        g.kw, "] with stride ", g.sh, "x", g.sw, (cpu_has_avx512_bf16() ? "" : " (this CPU lacks AVX512_BF16)"));
#if SIMILE_BF16_KERNELS
  using namespace bf16_wgrad;
  const Index taps = g.kh * g.kw, pairs = (g.n + 1) / 2;
  // Chunks: rows of one pair for large images, whole pairs for small ones.
  std::vector<Chunk> chunks;
  if (g.oh * g.ow >= chunk_pixels) {
    // Rows shared out evenly: 14x14 as 7 + 7 rows, not 6 + 6 + 2.
    const Index parts = std::max<Index>(1, (g.oh * g.ow + chunk_pixels / 2) / chunk_pixels);
    const Index rows = (g.oh + parts - 1) / parts;
    for (Index p = 0; p < pairs; ++p)
      for (Index i = 0; i < g.oh; i += rows) chunks.push_back({p, p + 1, i, std::min(g.oh, i + rows)});
  } else {
    const Index per = std::max<Index>(1, chunk_pixels / (g.oh * g.ow));
    for (Index p = 0; p < pairs; p += per) chunks.push_back({p, std::min(pairs, p + per), 0, g.oh});
  }
  // Runs of tiles: (tap, output group of up to 64 outputs), its input channels in tiles of 4, then the rest.
  struct Run {
    Index u, v, o0, c0, c1;
    TileFn fn;
  };
  std::vector<Run> runs;
  const Index whole = g.c / 4 * 4;
  for (Index t = 0; t < taps; ++t)
    for (Index o0 = 0; o0 < g.o; o0 += 64) {
      const int ov = static_cast<int>(std::min<Index>(4, (g.o - o0) / 16));
      if (whole > 0) runs.push_back({t / g.kw, t % g.kw, o0, 0, whole, tile_for(ov, 4)});
      if (whole < g.c) runs.push_back({t / g.kw, t % g.kw, o0, whole, g.c, tile_for(ov, static_cast<int>(g.c - whole))});
    }
  // A fixed number of groups of chunks, each summed on its own, the groups then added in order.
  const Index chunk_count = static_cast<Index>(chunks.size()), groups = std::min(chunk_groups, chunk_count);
  const Index size = taps * g.c * g.o;
  Tensor<float> sums = Tensor<float>::empty({groups, size});
  parallel_for(0, groups, 1, [&](Index g0, Index g1) {
    for (Index gi = g0; gi < g1; ++gi) {
      std::fill_n(sums.data() + gi * size, size, 0.0f);
      for (Index k = chunk_count * gi / groups; k < chunk_count * (gi + 1) / groups; ++k)
        for (const Run& r : runs)
          r.fn(g, x_pairs, dy_pairs, sums.data() + gi * size, chunks[std::size_t(k)], r.u, r.v, r.o0, r.c0, r.c1);
    }
  });
  const float* s = sums.data();
  parallel_for(0, g.o, 16, [&](Index o0, Index o1) {
    for (Index t = 0; t < taps; ++t)
      for (Index c = 0; c < g.c; ++c)
        for (Index o = o0; o < o1; ++o) {
          const Index at = (t * g.c + c) * g.o + o;
          float total = s[at];
          for (Index gi = 1; gi < groups; ++gi) total += s[gi * size + at];
          dw[(o * g.c + c) * taps + t] += total;
        }
  });
#else
  (void)x_pairs, (void)dy_pairs, (void)dw;
#endif
}

}  // namespace simile::detail
