#pragma once
/// \file
/// The portable conv2d backend (users include `simile/ops/conv.hpp`): im2col lowering to Eigen GEMM,
/// parallel over images with `parallel_chunked`, header only, float and double.
///
/// Each thread takes a contiguous chunk of images and lowers a group of `m` of them at a time into one
/// column matrix col [K, m * P] (K = C_in kh kw, P = H_out W_out; row (c, i, j) holds x[c, oh s - p + i,
/// ow s - p + j] for every output pixel of every image of the group, zero where that falls in the
/// padding). Grouping makes the GEMM wide enough to run near Eigen's peak even at 7x7 outputs. The
/// column and staging buffers are taken once per chunk from the caching allocator, never per image.
///
///   forward:          y_n        = W [O, K] col_n                (+ b broadcast over pixels)
///   backward data:    dcol_n     = W^T dy_n, then col2im adds dcol_n into dx_n
///   backward weights: dW        += sum_n dy_n col_n^T,  db += sum_n sum_pixels dy_n
///
/// dW and db are summed per chunk and the chunk partials added in chunk order, so the bits depend on
/// the thread count but never on scheduling.

#include <algorithm>
#include <cstring>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"

namespace simile::detail {

/// Sizes of one 2-D convolution, shared by both backends.
struct ConvGeometry {
  Index n = 0, c = 0, h = 0, w = 0;  ///< input [N, C_in, H, W]
  Index o = 0, kh = 0, kw = 0;       ///< weight [C_out, C_in, kh, kw]
  Index sh = 1, sw = 1, ph = 0, pw = 0;
  Index oh = 0, ow = 0;  ///< output [N, C_out, oh, ow]

  Index k() const { return c * kh * kw; }        ///< GEMM depth: one column of the lowered input
  Index pixels() const { return oh * ow; }       ///< output pixels per image and channel
  Index in_size() const { return c * h * w; }    ///< elements of one input image
  Index out_size() const { return o * oh * ow; } ///< elements of one output image
  /// Multiply-adds x 2 of one pass (forward, backward data or backward weights).
  double flops() const { return 2.0 * double(n) * double(o) * double(oh * ow) * double(k()); }
  friend bool operator==(const ConvGeometry&, const ConvGeometry&) = default;
};

namespace conv_eigen {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using StridedMap = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstStridedMap = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

/// Columns of a GEMM group: about this many makes Eigen's kernels run near their peak without the
/// column buffer leaving the L2 cache (measured on the SimCLR shapes, see bench/conv_bench.cpp).
inline constexpr Index group_columns = 512;

/// Images lowered together for this geometry.
inline Index group_images(const ConvGeometry& g) {
  return std::max<Index>(1, group_columns / std::max<Index>(1, g.pixels()));
}

/// Output columns q in [lo, hi) whose input column q s - p + j falls inside [0, w).
inline void valid_range(Index w, Index out_w, Index s, Index p, Index j, Index& lo, Index& hi) {
  Index off = j - p;  // input column = q s + off
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = (w - 1 - off) < 0 ? 0 : std::min<Index>(out_w, (w - 1 - off) / s + 1);
  if (hi < lo) hi = lo;
}

/// Lowers image `x` ([C, H, W]) into `col` (row-major [K, ld], this image's P columns start at `col`).
template <class T>
void im2col(const ConvGeometry& g, const T* x, T* col, Index ld) {
  for (Index c = 0; c < g.c; ++c)
    for (Index i = 0; i < g.kh; ++i)
      for (Index j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * ld;
        Index lo, hi;
        valid_range(g.w, g.ow, g.sw, g.pw, j, lo, hi);
        for (Index y = 0; y < g.oh; ++y) {
          T* d = row + y * g.ow;
          const Index iy = y * g.sh - g.ph + i;
          if (iy < 0 || iy >= g.h) {
            std::fill(d, d + g.ow, T(0));
            continue;
          }
          const T* src = x + (c * g.h + iy) * g.w + (j - g.pw);
          std::fill(d, d + lo, T(0));
          if (g.sw == 1) std::memcpy(d + lo, src + lo, static_cast<std::size_t>(hi - lo) * sizeof(T));
          else
            for (Index q = lo; q < hi; ++q) d[q] = src[q * g.sw];
          std::fill(d + hi, d + g.ow, T(0));
        }
      }
}

/// Adds the lowered gradient `col` (row-major [K, ld], this image's P columns at `col`) back into
/// image `dx` ([C, H, W]): the adjoint of `im2col`.
template <class T>
void col2im_add(const ConvGeometry& g, const T* col, Index ld, T* dx) {
  for (Index c = 0; c < g.c; ++c)
    for (Index i = 0; i < g.kh; ++i)
      for (Index j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * ld;
        Index lo, hi;
        valid_range(g.w, g.ow, g.sw, g.pw, j, lo, hi);
        for (Index y = 0; y < g.oh; ++y) {
          const Index iy = y * g.sh - g.ph + i;
          if (iy < 0 || iy >= g.h) continue;
          const T* s = row + y * g.ow;
          T* dst = dx + (c * g.h + iy) * g.w + (j - g.pw);
          if (g.sw == 1)
            for (Index q = lo; q < hi; ++q) dst[q] += s[q];
          else
            for (Index q = lo; q < hi; ++q) dst[q * g.sw] += s[q];
        }
      }
}

/// Scratch for each chunk of a parallel loop over images, taken from the allocator before the loop
/// starts: what a call allocates does not depend on how its threads interleave, so a training step's
/// memory is steady after one call. Each chunk gets `col` ([K, ld]), `stage` ([O, ld], used when images
/// are grouped) and `extra` floats, every part 64-byte aligned.
template <class T>
class ChunkScratch {
 public:
  ChunkScratch(const ConvGeometry& g, int chunks, Index extra = 0)
      : ld_(group_images(g) * g.pixels()),
        col_(round(g.k() * ld_)),
        stage_(group_images(g) > 1 ? round(g.o * ld_) : 0),
        per_chunk_(col_ + stage_ + round(extra)),
        data_(Tensor<T>::empty({Index(chunks) * per_chunk_})) {}
  T* col(int chunk) const { return data_.data() + chunk * per_chunk_; }
  T* stage(int chunk) const { return col(chunk) + col_; }
  T* extra(int chunk) const { return stage(chunk) + stage_; }

 private:
  static Index round(Index n) { return (n + 15) / 16 * 16; }
  Index ld_, col_, stage_, per_chunk_;
  Tensor<T> data_;
};

/// y = conv(x, w) + b. x [N, C, H, W], w [O, K], b [O] or null, y [N, O, oh, ow] (assigned).
template <class T>
void forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const Index K = g.k(), P = g.pixels(), nb = group_images(g);
  ConstStridedMap<T> W(w, g.o, K, Eigen::OuterStride<>(K));
  const ChunkScratch<T> scratch(g, parallel_chunks(g.n, 1));
  parallel_chunked(0, g.n, 1, [&](int chunk, Index begin, Index end) {
    const Index group = std::min(nb, end - begin), ld = group * P;
    T* col = scratch.col(chunk);
    T* stage = scratch.stage(chunk);
    for (Index n0 = begin; n0 < end; n0 += group) {
      const Index m = std::min(group, end - n0);
      for (Index i = 0; i < m; ++i) im2col(g, x + (n0 + i) * g.in_size(), col + i * P, ld);
      ConstStridedMap<T> C(col, K, m * P, Eigen::OuterStride<>(ld));
      if (group == 1) {
        StridedMap<T> Y(y + n0 * g.out_size(), g.o, P, Eigen::OuterStride<>(P));
        Y.noalias() = W * C;
      } else {
        StridedMap<T> S(stage, g.o, m * P, Eigen::OuterStride<>(ld));
        S.noalias() = W * C;
        // Scatter the group's [O, m P] block to NCHW, one contiguous run of P per (image, channel).
        for (Index i = 0; i < m; ++i)
          for (Index oc = 0; oc < g.o; ++oc)
            std::memcpy(y + (n0 + i) * g.out_size() + oc * P, stage + oc * ld + i * P,
                        static_cast<std::size_t>(P) * sizeof(T));
      }
      if (b)
        for (Index i = 0; i < m; ++i)
          for (Index oc = 0; oc < g.o; ++oc) {
            T* d = y + (n0 + i) * g.out_size() + oc * P;
            const T bo = b[oc];
            for (Index q = 0; q < P; ++q) d[q] += bo;
          }
    }
  });
}

/// Copies dy of images [n0, n0 + m) into `stage` (row-major [O, ld]) image after image.
template <class T>
void gather(const ConvGeometry& g, const T* dy, Index n0, Index m, T* stage, Index ld) {
  const Index P = g.pixels();
  for (Index i = 0; i < m; ++i)
    for (Index oc = 0; oc < g.o; ++oc)
      std::memcpy(stage + oc * ld + i * P, dy + (n0 + i) * g.out_size() + oc * P,
                  static_cast<std::size_t>(P) * sizeof(T));
}

/// dx += conv^T(dy, w). dy [N, O, oh, ow], w [O, K], dx [N, C, H, W] (accumulated).
template <class T>
void backward_data(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
  const Index K = g.k(), P = g.pixels(), nb = group_images(g);
  ConstStridedMap<T> W(w, g.o, K, Eigen::OuterStride<>(K));
  const ChunkScratch<T> scratch(g, parallel_chunks(g.n, 1));
  parallel_chunked(0, g.n, 1, [&](int chunk, Index begin, Index end) {
    const Index group = std::min(nb, end - begin), ld = group * P;
    T* dcol = scratch.col(chunk);
    T* stage = scratch.stage(chunk);
    for (Index n0 = begin; n0 < end; n0 += group) {
      const Index m = std::min(group, end - n0);
      const T* src = dy + n0 * g.out_size();
      if (group > 1) {
        gather(g, dy, n0, m, stage, ld);
        src = stage;
      }
      ConstStridedMap<T> G(src, g.o, m * P, Eigen::OuterStride<>(ld));
      StridedMap<T> D(dcol, K, m * P, Eigen::OuterStride<>(ld));
      D.noalias() = W.transpose() * G;
      for (Index i = 0; i < m; ++i) col2im_add(g, dcol + i * P, ld, dx + (n0 + i) * g.in_size());
    }
  });
}

/// dw += sum_n dy_n col_n^T, db += sum over images and pixels of dy. x [N, C, H, W], dy [N, O, oh, ow],
/// dw [O, K] or null, db [O] or null (both accumulated).
template <class T>
void backward_weights(const ConvGeometry& g, const T* x, const T* dy, T* dw, T* db) {
  const Index K = g.k(), P = g.pixels(), nb = group_images(g);
  const int chunks = parallel_chunks(g.n, 1);
  // One partial dw [O, K] and db [O] per chunk, added in chunk order below: no atomics, same bits at a
  // given thread count.
  const ChunkScratch<T> scratch(g, chunks, g.o * K + g.o);
  parallel_chunked(0, g.n, 1, [&](int chunk, Index begin, Index end) {
    const Index group = std::min(nb, end - begin), ld = group * P;
    StridedMap<T> pw(scratch.extra(chunk), g.o, K, Eigen::OuterStride<>(K));
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> pb(scratch.extra(chunk) + g.o * K, g.o);
    pw.setZero();
    pb.setZero();
    T* col = scratch.col(chunk);
    T* stage = scratch.stage(chunk);
    for (Index n0 = begin; n0 < end; n0 += group) {
      const Index m = std::min(group, end - n0);
      const T* src = dy + n0 * g.out_size();
      if (group > 1) {
        gather(g, dy, n0, m, stage, ld);
        src = stage;
      }
      ConstStridedMap<T> G(src, g.o, m * P, Eigen::OuterStride<>(ld));
      if (dw) {
        for (Index i = 0; i < m; ++i) im2col(g, x + (n0 + i) * g.in_size(), col + i * P, ld);
        ConstStridedMap<T> C(col, K, m * P, Eigen::OuterStride<>(ld));
        pw.noalias() += G * C.transpose();
      }
      if (db) pb += G.rowwise().sum().array();
    }
  });
  using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  for (int c = 0; c < chunks; ++c) {
    if (dw) Vec(dw, g.o * K) += Vec(scratch.extra(c), g.o * K);
    if (db) Vec(db, g.o) += Vec(scratch.extra(c) + g.o * K, g.o);
  }
}

}  // namespace conv_eigen
}  // namespace simile::detail
