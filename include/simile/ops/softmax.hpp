#pragma once
/// \file
/// Softmax family: `softmax`, `log_softmax` along an axis, and `cross_entropy`, a fused log-softmax +
/// negative log-likelihood with its own backward.
///
/// Every exponential is taken after subtracting the maximum of its slice (the log-sum-exp trick), so
/// logits of +-1e4 give finite results in float and double. A slice holding NaN gives NaN; a slice
/// holding +inf gives NaN, as in PyTorch.
///
/// An axis op views the input as [outer, n, inner] (n = the softmax dimension). The last axis
/// (inner = 1, rows of a matrix) runs row by row; another axis runs over contiguous [n, inner] slabs
/// with one scratch row per chunk, so the inner loops stay contiguous.

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/reduce.hpp"

namespace simile {

namespace detail {

/// Slices per parallel chunk so that a chunk holds about `elementwise_grain` elements.
inline Index slice_grain(Index slice_elements) {
  return std::max<Index>(1, elementwise_grain / std::max<Index>(slice_elements, 1));
}

/// The larger of m and v, letting a NaN win (so it reaches the output, as in PyTorch).
template <Real T>
inline T max_nan(T m, T v) {
  return (v > m || v != v) ? v : m;
}

/// Softmax (or log-softmax when `Log`) of x over the axis described by `sp`, written to y.
template <Real T, bool Log>
void softmax_forward(const T* x, T* y, const AxisSplit& sp) {
  const Index n = sp.n, inner = sp.inner;
  if (n == 0) return;
  if (inner == 1) {
    parallel_for(0, sp.outer, slice_grain(n), [&](Index b, Index e) {
      for (Index o = b; o < e; ++o) {
        const T* xr = x + o * n;
        T* yr = y + o * n;
        T m = xr[0];
        for (Index i = 1; i < n; ++i) m = max_nan(m, xr[i]);
        T s = 0;
        if constexpr (Log) {
          for (Index i = 0; i < n; ++i) s += std::exp(xr[i] - m);
          // (x - m) - log s, not x - (m + log s): the sum m + log s would round off at large |m|.
          T log_s = std::log(s);
          for (Index i = 0; i < n; ++i) yr[i] = (xr[i] - m) - log_s;
        } else {
          for (Index i = 0; i < n; ++i) s += (yr[i] = std::exp(xr[i] - m));
          T r = T(1) / s;
          for (Index i = 0; i < n; ++i) yr[i] *= r;
        }
      }
    });
    return;
  }
  parallel_for(0, sp.outer, slice_grain(n * inner), [&](Index b, Index e) {
    std::vector<T> m(static_cast<std::size_t>(inner)), s(static_cast<std::size_t>(inner));
    for (Index o = b; o < e; ++o) {
      const T* xs = x + o * n * inner;
      T* ys = y + o * n * inner;
      std::copy(xs, xs + inner, m.begin());
      for (Index i = 1; i < n; ++i)
        for (Index j = 0; j < inner; ++j) m[j] = max_nan(m[j], xs[i * inner + j]);
      std::fill(s.begin(), s.end(), T(0));
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < inner; ++j) {
          T ex = std::exp(xs[i * inner + j] - m[j]);
          s[j] += ex;
          if constexpr (!Log) ys[i * inner + j] = ex;
        }
      if constexpr (Log) {
        for (Index j = 0; j < inner; ++j) s[j] = std::log(s[j]);
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < inner; ++j) ys[i * inner + j] = (xs[i * inner + j] - m[j]) - s[j];
      } else {
        for (Index j = 0; j < inner; ++j) s[j] = T(1) / s[j];
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < inner; ++j) ys[i * inner + j] *= s[j];
      }
    }
  });
}

/// Backward of softmax (`Log` false): gx += y (g - <g, y>), or of log-softmax (`Log` true):
/// gx += g - exp(y) sum(g), the dot product and the sum taken along the axis.
template <Real T, bool Log>
void softmax_backward(const T* y, const T* g, T* gx, const AxisSplit& sp) {
  const Index n = sp.n, inner = sp.inner;
  if (n == 0) return;
  if (inner == 1) {
    parallel_for(0, sp.outer, slice_grain(n), [&](Index b, Index e) {
      for (Index o = b; o < e; ++o) {
        const T* yr = y + o * n;
        const T* gr = g + o * n;
        T* dr = gx + o * n;
        T s = 0;
        if constexpr (Log) {
          for (Index i = 0; i < n; ++i) s += gr[i];
          for (Index i = 0; i < n; ++i) dr[i] += gr[i] - std::exp(yr[i]) * s;
        } else {
          for (Index i = 0; i < n; ++i) s += gr[i] * yr[i];
          for (Index i = 0; i < n; ++i) dr[i] += yr[i] * (gr[i] - s);
        }
      }
    });
    return;
  }
  parallel_for(0, sp.outer, slice_grain(n * inner), [&](Index b, Index e) {
    std::vector<T> s(static_cast<std::size_t>(inner));
    for (Index o = b; o < e; ++o) {
      const Index base = o * n * inner;
      std::fill(s.begin(), s.end(), T(0));
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < inner; ++j) {
          Index k = base + i * inner + j;
          s[j] += Log ? g[k] : g[k] * y[k];
        }
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < inner; ++j) {
          Index k = base + i * inner + j;
          if constexpr (Log) gx[k] += g[k] - std::exp(y[k]) * s[j];
          else gx[k] += y[k] * (g[k] - s[j]);
        }
    }
  });
}

template <Real T, bool Log>
Var<T> softmax_op(const char* name, const Var<T>& x, int axis) {
  AxisSplit sp = split_axis(name, x.shape(), axis, true);
  Tensor<T> y = Tensor<T>::empty(x.shape());
  softmax_forward<T, Log>(x.value().data(), y.data(), sp);
  // Both backwards need only the output, which the node holds already: nothing is captured but sizes.
  return make_op<T>(name, std::move(y), {x}, [sp](Node<T>& self) {
    if (Tensor<T>* gx = self.grad_for(0))
      softmax_backward<T, Log>(self.value.data(), self.grad.data(), gx->data(), sp);
  });
}

}  // namespace detail

/// Softmax along `axis` (default: the last; negative counts from the end), same shape as x:
/// y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j, over each slice along the axis.
/// Backward: dx_i = y_i (dy_i - sum_j dy_j y_j). Invariant: softmax(x + c) = softmax(x).
template <Real T>
Var<T> softmax(const Var<T>& x, int axis = -1) {
  return detail::softmax_op<T, false>("softmax", x, axis);
}

/// Log-softmax along `axis`, same shape as x: y_i = x_i - m - log sum_j exp(x_j - m), m = max_j x_j.
/// Backward: dx_i = dy_i - exp(y_i) sum_j dy_j. More accurate than log(softmax(x)) for very negative y.
template <Real T>
Var<T> log_softmax(const Var<T>& x, int axis = -1) {
  return detail::softmax_op<T, true>("log_softmax", x, axis);
}

/// Cross-entropy of logits [N, C] against class indices `labels` (N of them, each in [0, C)), averaged
/// over the batch (PyTorch's `cross_entropy`, reduction "mean"), a scalar:
///   L = (1/N) sum_i (lse_i - x[i, labels_i]),  lse_i = m_i + log sum_c exp(x[i, c] - m_i),  m_i = max_c x[i, c].
/// Fused backward: dL/dx[i, c] = dL * (softmax(x)[i, c] - [c == labels_i]) / N, the softmax recomputed
/// from two values kept per row (m_i and log of the sum) rather than stored. N = 0 gives NaN, as in PyTorch.
/// Throws ShapeError when logits are not 2-D or the label count is not N, ValueError for a label
/// outside [0, C).
template <Real T>
Var<T> cross_entropy(const Var<T>& logits, std::span<const std::int64_t> labels) {
  check<ShapeError>(logits.shape().rank() == 2, "cross_entropy: logits must be [N, C], got ", logits.shape());
  const Index N = logits.dim(0), C = logits.dim(1);
  check<ShapeError>(static_cast<Index>(labels.size()) == N, "cross_entropy: ", labels.size(),
                    " labels for logits of shape ", logits.shape(), " (expected ", N, ")");
  for (std::size_t i = 0; i < labels.size(); ++i)
    check<ValueError>(labels[i] >= 0 && labels[i] < C, "cross_entropy: label ", labels[i], " at row ", i,
                      " out of range for ", C, " classes");

  const Tensor<T>& xv = logits.value();
  const T* x = xv.data();
  // Per row: the max m_i and log s_i, s_i = sum_c exp(x[i, c] - m_i). Kept apart rather than as
  // lse_i = m_i + log s_i: near |x| = 1e4 a float lse has lost the low bits that x - m keeps exactly.
  Tensor<T> stats = Tensor<T>::empty({N, 2});
  T* ps = stats.data();
  std::vector<std::int64_t> lab(labels.begin(), labels.end());
  parallel_for(0, N, detail::slice_grain(C), [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const T* xr = x + i * C;
      T m = xr[0];
      for (Index c = 1; c < C; ++c) m = detail::max_nan(m, xr[c]);
      T s = 0;
      for (Index c = 0; c < C; ++c) s += std::exp(xr[c] - m);
      ps[2 * i] = m;
      ps[2 * i + 1] = std::log(s);
    }
  });
  // Summed serially in row order: the loss does not depend on the thread count.
  T total = 0;
  for (Index i = 0; i < N; ++i) total += (ps[2 * i] - x[i * C + lab[static_cast<std::size_t>(i)]]) + ps[2 * i + 1];
  T inv_n = N ? T(1) / T(N) : std::numeric_limits<T>::quiet_NaN();

  return make_op<T>("cross_entropy", Tensor<T>::scalar(total * inv_n), {logits},
                    [xv, stats, lab = std::move(lab), N, C, inv_n](Node<T>& self) {
                      Tensor<T>* gx = self.grad_for(0);
                      if (!gx) return;
                      const T scale = self.grad.item() * inv_n;
                      const T* x = xv.data();
                      const T* ps = stats.data();
                      T* d = gx->data();
                      parallel_for(0, N, detail::slice_grain(C), [&](Index b, Index e) {
                        for (Index i = b; i < e; ++i) {
                          const T* xr = x + i * C;
                          T* dr = d + i * C;
                          const T m = ps[2 * i], log_s = ps[2 * i + 1];
                          for (Index c = 0; c < C; ++c) dr[c] += scale * std::exp((xr[c] - m) - log_s);
                          dr[lab[static_cast<std::size_t>(i)]] -= scale;
                        }
                      });
                    });
}

/// The same with labels in a vector.
template <Real T>
Var<T> cross_entropy(const Var<T>& logits, const std::vector<std::int64_t>& labels) {
  return cross_entropy(logits, std::span<const std::int64_t>(labels.data(), labels.size()));
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_SOFTMAX(P, T) \
  P template Var<T> softmax<T>(const Var<T>& x, int axis); \
  P template Var<T> log_softmax<T>(const Var<T>& x, int axis); \
  P template Var<T> cross_entropy<T>(const Var<T>& logits, std::span<const std::int64_t> labels); \
  P template Var<T> cross_entropy<T>(const Var<T>& logits, const std::vector<std::int64_t>& labels);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_SOFTMAX)

}  // namespace simile
