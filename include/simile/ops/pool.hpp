#pragma once
/// \file
/// 2-D pooling over NCHW tensors: `max_pool2d`, `avg_pool2d`, `global_avg_pool2d` and `adaptive_avg_pool2d`
/// (and `adaptive_avg_pool2d_blocked`, the last on channel-blocked tensors),
/// with PyTorch's semantics (square windows, floor mode: a window that would hang over the padded edge is
/// dropped, so a 7x7 plane under a 2x2 window gives 3x3).
///
/// Every op works plane by plane (one plane = one (n, c) pair), parallel over the N * C planes; a plane
/// is written by one thread only, so the backward scatter needs no atomics and the result does not
/// depend on the thread count.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {

/// Geometry of a pooling window over one plane.
struct Pool2dGeometry {
  Index planes = 0, h = 0, w = 0;    ///< N * C, input height and width
  Index oh = 0, ow = 0;              ///< output height and width
  Index kernel = 1, stride = 1, padding = 0;
  Index in_plane() const { return h * w; }
  Index out_plane() const { return oh * ow; }
  /// True when the windows tile the plane exactly (stride = kernel, no padding, no remainder), as the
  /// encoders' 2x2: every input position is in exactly one window.
  bool tiles() const { return stride == kernel && padding == 0 && oh * kernel == h && ow * kernel == w; }
  /// Planes per parallel chunk: about `elementwise_grain` input elements.
  Index grain() const { return std::max<Index>(1, elementwise_grain / std::max<Index>(in_plane(), 1)); }
};

/// Checks the input and options of a windowed pool and computes its output size
/// floor((H + 2 padding - kernel) / stride) + 1 (and the same for W).
inline Pool2dGeometry pool2d_geometry(const char* op, const Shape& s, Index kernel, std::optional<Index> stride,
                                      Index padding) {
  check<ShapeError>(s.rank() == 4, op, ": expected x of shape [N, C, H, W], got ", s);
  check<ValueError>(kernel >= 1, op, ": kernel ", kernel, " must be at least 1");
  Index st = stride.value_or(kernel);
  check<ValueError>(st >= 1, op, ": stride ", st, " must be at least 1");
  check<ValueError>(padding >= 0 && 2 * padding <= kernel, op, ": padding ", padding,
                    " must be in [0, kernel / 2] for kernel ", kernel);
  Pool2dGeometry g;
  g.planes = s[0] * s[1];
  g.h = s[2];
  g.w = s[3];
  check<ShapeError>(g.h + 2 * padding >= kernel && g.w + 2 * padding >= kernel, op, ": input ", s,
                    " with padding ", padding, " is smaller than the kernel ", kernel);
  check<ShapeError>(g.h * g.w <= std::numeric_limits<std::int32_t>::max(), op, ": plane of ", s,
                    " too large for 32-bit indices");
  g.kernel = kernel;
  g.stride = st;
  g.padding = padding;
  g.oh = (g.h + 2 * padding - kernel) / st + 1;
  g.ow = (g.w + 2 * padding - kernel) / st + 1;
  return g;
}

/// The window of output position o along a dimension of size n, clipped to the input: [begin, end).
inline void window(Index o, Index n, const Pool2dGeometry& g, Index& begin, Index& end) {
  Index start = o * g.stride - g.padding;
  begin = std::max<Index>(start, 0);
  end = std::min<Index>(start + g.kernel, n);
}

/// Max pooling of one plane with a 2x2 window, stride 2, no padding (the encoders' common case): the
/// general loop's result (first maximum in row-major order, NaN wins) without its window clipping, in
/// two long branch-free loops that vectorize (the output rows, 14 or 7 wide, are too short for that).
/// First each horizontal pair of the used rows is reduced into `hm` / `hk` (value, 0 or 1 for the right
/// element), then the lower row's pair replaces the upper one only when strictly larger, which keeps
/// the row-major order on ties. `hm` and `hk` hold 2 OH OW scratch values.
template <Real T>
void max_pool_2x2_plane(const T* xp, T* yp, std::int32_t* ap, const Pool2dGeometry& g, T* hm, std::int32_t* hk) {
  auto wins = [](T u, T v) { return u > v || (u != u && v == v); };  // u replaces v
  const Index ow = g.ow, w = g.w;
  auto pairs = [&](const T* row, T* m, std::int32_t* k, Index n) {
    for (Index q = 0; q < n; ++q) {
      T a0 = row[2 * q], a1 = row[2 * q + 1];
      bool t = wins(a1, a0);
      m[q] = t ? a1 : a0;
      k[q] = t ? 1 : 0;
    }
  };
  if (w == 2 * ow) pairs(xp, hm, hk, 2 * g.oh * ow);  // even width: the used rows are one run of pairs
  else
    for (Index r = 0; r < 2 * g.oh; ++r) pairs(xp + r * w, hm + r * ow, hk + r * ow, ow);
  const auto wi = static_cast<std::int32_t>(w);
  for (Index i = 0; i < g.oh; ++i) {
    const T* up = hm + 2 * i * ow;
    const T* lo = up + ow;
    const std::int32_t* ku = hk + 2 * i * ow;
    const std::int32_t* kl = ku + ow;
    T* yr = yp + i * ow;
    std::int32_t* ar = ap + i * ow;
    const auto base = static_cast<std::int32_t>(2 * i * w);
    for (Index j = 0; j < ow; ++j) {
      bool t = wins(lo[j], up[j]);
      yr[j] = t ? lo[j] : up[j];
      ar[j] = base + static_cast<std::int32_t>(2 * j) + (t ? wi + kl[j] : ku[j]);
    }
  }
}

/// Max pooling of one plane (`in_plane()` values in, `out_plane()` values and their in-plane positions
/// out): the 2x2 fast path when the geometry allows, the general window loop otherwise. Holds the fast
/// path's scratch, so make one per thread and call it for each of that thread's planes.
template <Real T>
class MaxPoolPlane {
 public:
  explicit MaxPoolPlane(const Pool2dGeometry& g)
      : g_(g), two_by_two_(g.kernel == 2 && g.stride == 2 && g.padding == 0),
        hm_(two_by_two_ ? static_cast<std::size_t>(2 * g.out_plane()) : 0), hk_(hm_.size()) {}

  void operator()(const T* xp, T* yp, std::int32_t* ap) {
    const Pool2dGeometry& g = g_;
    if (two_by_two_) return max_pool_2x2_plane(xp, yp, ap, g, hm_.data(), hk_.data());
    for (Index i = 0; i < g.oh; ++i) {
      Index h0, h1;
      window(i, g.h, g, h0, h1);
      for (Index j = 0; j < g.ow; ++j) {
        Index w0, w1;
        window(j, g.w, g, w0, w1);
        Index best = h0 * g.w + w0;
        T v = xp[best];
        for (Index a = h0; a < h1; ++a)
          for (Index c = w0; c < w1; ++c) {
            T u = xp[a * g.w + c];
            if (u > v || (u != u && v == v)) v = u, best = a * g.w + c;
          }
        yp[i * g.ow + j] = v;
        ap[i * g.ow + j] = static_cast<std::int32_t>(best);
      }
    }
  }

 private:
  Pool2dGeometry g_;
  bool two_by_two_;
  std::vector<T> hm_;
  std::vector<std::int32_t> hk_;
};

}  // namespace detail

/// Max pooling of x [N, C, H, W] with a kernel x kernel window moved by `stride` (default: kernel) over
/// the input padded by `padding` on each side (the padding never wins), shape [N, C, OH, OW],
/// OH = floor((H + 2 padding - kernel) / stride) + 1:
///   y[n, c, i, j] = max over the window of x[n, c, i stride - padding + a, j stride - padding + b].
/// The position of the maximum is kept (the first in row-major order on ties, NaN wins, as in PyTorch);
/// backward adds dy to that position only. Throws ShapeError for a non-4-D x or a plane smaller than
/// the kernel, ValueError for kernel < 1, stride < 1 or padding outside [0, kernel / 2].
template <Real T>
Var<T> max_pool2d(const Var<T>& x, Index kernel, std::optional<Index> stride = std::nullopt, Index padding = 0) {
  detail::Pool2dGeometry g = detail::pool2d_geometry("max_pool2d", x.shape(), kernel, stride, padding);
  Tensor<T> y = Tensor<T>::empty({x.dim(0), x.dim(1), g.oh, g.ow});
  Tensor<std::int32_t> arg = Tensor<std::int32_t>::empty(y.shape());
  const T* px = x.value().data();
  T* py = y.data();
  std::int32_t* pa = arg.data();
  parallel_for(0, g.planes, g.grain(), [&](Index b, Index e) {
    detail::MaxPoolPlane<T> pool(g);
    for (Index p = b; p < e; ++p) pool(px + p * g.in_plane(), py + p * g.out_plane(), pa + p * g.out_plane());
  });
  return make_op<T>("max_pool2d", std::move(y), {x}, [g, arg](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (!gx) return;
    const T* pg = self.grad.data();
    const std::int32_t* pa = arg.data();
    T* pd = gx.data;
    parallel_for(0, g.planes, g.grain(), [&](Index b, Index e) {
      for (Index p = b; p < e; ++p) {
        T* dp = pd + p * g.in_plane();
        const T* gp = pg + p * g.out_plane();
        const std::int32_t* ap = pa + p * g.out_plane();
        if (gx.assign) std::fill(dp, dp + g.in_plane(), T(0));  // here, in parallel and in cache
        for (Index k = 0; k < g.out_plane(); ++k) dp[ap[k]] += gp[k];
      }
    });
  });
}

/// Average pooling of x [N, C, H, W] with a kernel x kernel window moved by `stride` (default: kernel)
/// over the input zero-padded by `padding`, shape [N, C, OH, OW] as for `max_pool2d`. Padded zeros count
/// in the average (PyTorch's default count_include_pad = true), so every window divides by kernel^2:
///   y[n, c, i, j] = (1 / kernel^2) sum over the window of x (zero outside the input).
/// Backward: each input element in a window receives dy / kernel^2. Errors as for `max_pool2d`.
template <Real T>
Var<T> avg_pool2d(const Var<T>& x, Index kernel, std::optional<Index> stride = std::nullopt, Index padding = 0) {
  detail::Pool2dGeometry g = detail::pool2d_geometry("avg_pool2d", x.shape(), kernel, stride, padding);
  Tensor<T> y = Tensor<T>::empty({x.dim(0), x.dim(1), g.oh, g.ow});
  const T inv_area = T(1) / T(kernel * kernel);
  const T* px = x.value().data();
  T* py = y.data();
  parallel_for(0, g.planes, g.grain(), [&](Index b, Index e) {
    for (Index p = b; p < e; ++p) {
      const T* xp = px + p * g.in_plane();
      T* yp = py + p * g.out_plane();
      for (Index i = 0; i < g.oh; ++i) {
        Index h0, h1;
        detail::window(i, g.h, g, h0, h1);
        for (Index j = 0; j < g.ow; ++j) {
          Index w0, w1;
          detail::window(j, g.w, g, w0, w1);
          T s = 0;
          for (Index a = h0; a < h1; ++a)
            for (Index c = w0; c < w1; ++c) s += xp[a * g.w + c];
          yp[i * g.ow + j] = s * inv_area;
        }
      }
    }
  });
  return make_op<T>("avg_pool2d", std::move(y), {x}, [g, inv_area](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    const T* pg = self.grad.data();
    T* pd = gx->data();
    parallel_for(0, g.planes, g.grain(), [&](Index b, Index e) {
      for (Index p = b; p < e; ++p) {
        T* dp = pd + p * g.in_plane();
        const T* gp = pg + p * g.out_plane();
        for (Index i = 0; i < g.oh; ++i) {
          Index h0, h1;
          detail::window(i, g.h, g, h0, h1);
          for (Index j = 0; j < g.ow; ++j) {
            Index w0, w1;
            detail::window(j, g.w, g, w0, w1);
            T v = gp[i * g.ow + j] * inv_area;
            for (Index a = h0; a < h1; ++a)
              for (Index c = w0; c < w1; ++c) dp[a * g.w + c] += v;
          }
        }
      }
    });
  });
}

/// Mean of each plane of x [N, C, H, W], shape [N, C] (the pooling before a ResNet's projector):
///   y[n, c] = (1 / (H W)) sum_{h, w} x[n, c, h, w].
/// Backward: every element of a plane receives dy[n, c] / (H W). Throws ShapeError for a non-4-D x or
/// an empty plane (H W = 0).
template <Real T>
Var<T> global_avg_pool2d(const Var<T>& x) {
  const Shape& s = x.shape();
  check<ShapeError>(s.rank() == 4, "global_avg_pool2d: expected x of shape [N, C, H, W], got ", s);
  check<ShapeError>(s[2] * s[3] > 0, "global_avg_pool2d: empty plane in x of shape ", s);
  const Index planes = s[0] * s[1], area = s[2] * s[3];
  const Index grain = std::max<Index>(1, detail::elementwise_grain / area);
  const T inv_area = T(1) / T(area);
  Tensor<T> y = Tensor<T>::empty({s[0], s[1]});
  const T* px = x.value().data();
  T* py = y.data();
  parallel_for(0, planes, grain, [&](Index b, Index e) {
    for (Index p = b; p < e; ++p) {
      const T* xp = px + p * area;
      T acc = 0;
      for (Index k = 0; k < area; ++k) acc += xp[k];
      py[p] = acc * inv_area;
    }
  });
  return make_op<T>("global_avg_pool2d", std::move(y), {x}, [planes, area, grain, inv_area](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (!gx) return;
    const T* pg = self.grad.data();
    T* pd = gx.data;
    parallel_for(0, planes, grain, [&](Index b, Index e) {
      for (Index p = b; p < e; ++p) {
        const T v = pg[p] * inv_area;
        write_grad(pd + p * area, area, gx.assign, [v](Index) { return v; });
      }
    });
  });
}

namespace detail {
/// Cell o of an adaptive pool along a dimension of size n cut into `cells`: [floor(o n / cells),
/// ceil((o + 1) n / cells)), never empty for n >= 1; neighbouring cells overlap when cells does not divide n.
inline void adaptive_cell(Index o, Index n, Index cells, Index& begin, Index& end) {
  begin = o * n / cells;
  end = ((o + 1) * n + cells - 1) / cells;
}

/// Calls f(o, h0, h1, w0, w1, 1 / |cell|) for each cell o = i out_w + j of an h x w plane cut into
/// out_h x out_w adaptive cells (rows [h0, h1), columns [w0, w1)), in row-major order.
template <Real T, class F>
void for_each_adaptive_cell(Index h, Index w, Index out_h, Index out_w, F&& f) {
  for (Index i = 0; i < out_h; ++i) {
    Index h0, h1;
    adaptive_cell(i, h, out_h, h0, h1);
    for (Index j = 0; j < out_w; ++j) {
      Index w0, w1;
      adaptive_cell(j, w, out_w, w0, w1);
      f(i * out_w + j, h0, h1, w0, w1, T(1) / T((h1 - h0) * (w1 - w0)));
    }
  }
}

/// The adaptive average pool of both layouts: x holds planes [H, W, lanes] (NCHW: N C planes of one lane;
/// channel-blocked: N C / B planes of B lanes), each cell of each lane summed in row-major order then scaled
/// by 1 / |cell|; y [x's first two dimensions, out_h, out_w (, lanes)]. Backward: each position receives
/// dy / |cell| from every cell it is in (the plane zeroed first, in cache, when the gradient is written whole).
template <Real T>
Var<T> adaptive_avg_pool2d_lanes(const char* op, const Var<T>& x, Index out_h, Index out_w) {
  const Shape& s = x.shape();
  check<ShapeError>(s[2] * s[3] > 0, op, ": empty plane in x of shape ", s);
  check(out_h >= 1 && out_w >= 1, op, ": output size ", out_h, "x", out_w, " must be at least 1x1");
  const bool blocked = s.rank() == 5;
  const Index planes = s[0] * s[1], h = s[2], w = s[3], b = blocked ? s[4] : 1;
  const Index plane = h * w * b, out_plane = out_h * out_w * b;
  const Index grain = std::max<Index>(1, elementwise_grain / plane);
  auto cells = [=](auto&& f) { for_each_adaptive_cell<T>(h, w, out_h, out_w, f); };
  Tensor<T> y = blocked ? Tensor<T>::empty({s[0], s[1], out_h, out_w, b})
                        : Tensor<T>::empty({s[0], s[1], out_h, out_w});
  const T* px = x.value().data();
  T* py = y.data();
  parallel_for(0, planes, grain, [&](Index p0, Index p1) {
    for (Index p = p0; p < p1; ++p) {
      const T* xp = px + p * plane;
      T* yp = py + p * out_plane;
      cells([&](Index o, Index h0, Index h1, Index w0, Index w1, T inv) {
        T* acc = yp + o * b;
        std::fill(acc, acc + b, T(0));
        for (Index r = h0; r < h1; ++r)
          for (Index c = w0; c < w1; ++c) {
            const T* u = xp + (r * w + c) * b;
            for (Index l = 0; l < b; ++l) acc[l] += u[l];
          }
        for (Index l = 0; l < b; ++l) acc[l] *= inv;
      });
    }
  });
  return make_op<T>(op, std::move(y), {x}, [=](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (!gx) return;
    const T* pg = self.grad.data();
    parallel_for(0, planes, grain, [&](Index p0, Index p1) {
      std::vector<T> v(static_cast<std::size_t>(b));
      for (Index p = p0; p < p1; ++p) {
        T* dp = gx.data + p * plane;
        const T* gp = pg + p * out_plane;
        // Cells may overlap: zero the plane (in cache) first when it is ours to write whole.
        if (gx.assign) std::fill(dp, dp + plane, T(0));
        cells([&](Index o, Index h0, Index h1, Index w0, Index w1, T inv) {
          for (Index l = 0; l < b; ++l) v[l] = gp[o * b + l] * inv;  // rounded once, then added
          for (Index r = h0; r < h1; ++r)
            for (Index c = w0; c < w1; ++c) {
              T* d = dp + (r * w + c) * b;
              for (Index l = 0; l < b; ++l) d[l] += v[l];
            }
        });
      }
    });
  });
}
}  // namespace detail

/// Average pooling of x [N, C, H, W] onto a grid of out_h x out_w cells, as PyTorch's adaptive_avg_pool2d,
/// shape [N, C, out_h, out_w]: cell (i, j) covers rows [floor(i H / out_h), ceil((i + 1) H / out_h)) and
/// the columns likewise (cells overlap when out_h does not divide H: a 7x7 map onto 2x2 takes rows 0..3
/// and 3..6), and
///   y[n, c, i, j] = (1 / |cell|) sum over the cell of x[n, c, a, b].
/// (1, 1) is `global_avg_pool2d` with two unit dimensions; an encoder reads a coarse spatial layout with
/// (2, 2). Backward: each element of a cell receives dy[n, c, i, j] / |cell|. Throws ShapeError for a
/// non-4-D x or an empty plane, ValueError for out_h or out_w below 1.
template <Real T>
Var<T> adaptive_avg_pool2d(const Var<T>& x, Index out_h, Index out_w) {
  check<ShapeError>(x.shape().rank() == 4, "adaptive_avg_pool2d: expected x of shape [N, C, H, W], got ", x.shape());
  return detail::adaptive_avg_pool2d_lanes("adaptive_avg_pool2d", x, out_h, out_w);
}

/// `adaptive_avg_pool2d` of channel-blocked x [N, C / B, H, W, B] (`ops/blocked.hpp`, channel c = cb B + l),
/// blocked y [N, C / B, out_h, out_w, B]: the same cells, and the same values to the bit as
/// `to_blocked(adaptive_avg_pool2d(from_blocked(x), out_h, out_w), B)` (one kernel serves both layouts, NCHW
/// as planes of one lane, so each lane's cells sum in the same order), without converting the full-size map:
/// an encoder that keeps its activations blocked pools them this way and converts only the small result.
/// Each inner loop runs over the B lanes of a position. Throws ShapeError for an x that is not rank 5 or has
/// an empty plane, ValueError for out_h or out_w below 1.
template <Real T>
Var<T> adaptive_avg_pool2d_blocked(const Var<T>& x, Index out_h, Index out_w) {
  const Shape& s = x.shape();
  check<ShapeError>(s.rank() == 5 && s[4] >= 1,
                    "adaptive_avg_pool2d_blocked: expected blocked x [N, C / B, H, W, B], got ", s);
  return detail::adaptive_avg_pool2d_lanes("adaptive_avg_pool2d_blocked", x, out_h, out_w);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_POOL(P, T)                                                                       \
  P template Var<T> max_pool2d<T>(const Var<T>& x, Index kernel, std::optional<Index> stride, Index padding); \
  P template Var<T> avg_pool2d<T>(const Var<T>& x, Index kernel, std::optional<Index> stride, Index padding); \
  P template Var<T> global_avg_pool2d<T>(const Var<T>& x);                                                    \
  P template Var<T> adaptive_avg_pool2d<T>(const Var<T>& x, Index out_h, Index out_w);                        \
  P template Var<T> adaptive_avg_pool2d_blocked<T>(const Var<T>& x, Index out_h, Index out_w);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_POOL)

}  // namespace simile
