#pragma once
/// \file
/// Reductions: sum and mean over all elements or along one axis, max along an axis.
/// An axis reduction views the input as [outer, n, inner] (n = the reduced dimension) and produces
/// [outer, inner], reshaped to the input's shape without that axis (or with it as 1 under `keepdim`).
/// Sums use a fixed order, so results do not depend on the thread count.

#include <limits>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {
struct AxisSplit {
  Index outer = 1, n = 1, inner = 1;
  Shape out;
};
inline AxisSplit split_axis(const char* op, const Shape& s, int axis, bool keepdim) {
  check<ShapeError>(s.rank() >= 1 && axis >= -s.rank() && axis < s.rank(), op, ": axis ", axis,
                    " out of range for shape ", s);
  if (axis < 0) axis += s.rank();
  AxisSplit r;
  for (int i = 0; i < s.rank(); ++i) {
    if (i < axis) r.outer *= s[i];
    else if (i > axis) r.inner *= s[i];
    if (i != axis) r.out.push_back(s[i]);
    else if (keepdim) r.out.push_back(1);
  }
  r.n = s[axis];
  return r;
}

/// Sum of x over its axis split into out ([outer, inner]) scaled by `factor`.
template <Real T>
void sum_axis(const T* x, T* out, const AxisSplit& sp, T factor) {
  parallel_for(0, sp.outer, 1, [&](Index ob, Index oe) {
    for (Index o = ob; o < oe; ++o) {
      T* dst = out + o * sp.inner;
      for (Index j = 0; j < sp.inner; ++j) dst[j] = 0;
      for (Index i = 0; i < sp.n; ++i) {
        const T* src = x + (o * sp.n + i) * sp.inner;
        for (Index j = 0; j < sp.inner; ++j) dst[j] += src[j];
      }
      for (Index j = 0; j < sp.inner; ++j) dst[j] *= factor;
    }
  });
}

/// Broadcast-adds g ([outer, inner]) * factor back over the reduced axis into gx ([outer, n, inner]).
template <Real T>
void spread_axis(const T* g, T* gx, const AxisSplit& sp, T factor) {
  parallel_for(0, sp.outer, 1, [&](Index ob, Index oe) {
    for (Index o = ob; o < oe; ++o)
      for (Index i = 0; i < sp.n; ++i) {
        T* dst = gx + (o * sp.n + i) * sp.inner;
        const T* src = g + o * sp.inner;
        for (Index j = 0; j < sp.inner; ++j) dst[j] += factor * src[j];
      }
  });
}

template <Real T>
Var<T> reduce_all(const char* name, const Var<T>& x, T factor) {
  const Tensor<T>& xv = x.value();
  const T* p = xv.data();
  T s = parallel_reduce<T>(
      0, xv.numel(), elementwise_grain, T(0),
      [&](Index b, Index e) {
        T acc = 0;
        for (Index i = b; i < e; ++i) acc += p[i];
        return acc;
      },
      [](T a, T b) { return a + b; });
  return make_op<T>(name, Tensor<T>::scalar(s * factor), {x}, [factor](Node<T>& self) {
    if (Tensor<T>* gx = self.grad_for(0)) gx->array() += factor * self.grad.item();
  });
}

template <Real T>
Var<T> reduce_axis(const char* name, const Var<T>& x, int axis, bool keepdim, bool mean) {
  AxisSplit sp = split_axis(name, x.shape(), axis, keepdim);
  T factor = mean ? (sp.n ? T(1) / T(sp.n) : std::numeric_limits<T>::quiet_NaN()) : T(1);
  Tensor<T> y = Tensor<T>::empty(sp.out);
  sum_axis(x.value().data(), y.data(), sp, factor);
  return make_op<T>(name, std::move(y), {x}, [sp, factor](Node<T>& self) {
    if (Tensor<T>* gx = self.grad_for(0)) spread_axis(self.grad.data(), gx->data(), sp, factor);
  });
}
}  // namespace detail

/// Sum of all elements (a scalar).
template <Real T>
Var<T> sum(const Var<T>& x) {
  return detail::reduce_all<T>("sum", x, T(1));
}

/// Mean of all elements (a scalar). The mean of no elements is NaN, as in PyTorch.
template <Real T>
Var<T> mean(const Var<T>& x) {
  T f = x.numel() ? T(1) / T(x.numel()) : std::numeric_limits<T>::quiet_NaN();
  return detail::reduce_all<T>("mean", x, f);
}

/// Sum along `axis` (negative counts from the end); the axis is dropped, or kept as 1 with `keepdim`.
template <Real T>
Var<T> sum(const Var<T>& x, int axis, bool keepdim = false) {
  return detail::reduce_axis<T>("sum", x, axis, keepdim, false);
}

/// Mean along `axis`.
template <Real T>
Var<T> mean(const Var<T>& x, int axis, bool keepdim = false) {
  return detail::reduce_axis<T>("mean", x, axis, keepdim, true);
}

/// Maximum along `axis`. The gradient flows to the first position holding the maximum. The axis must
/// not be empty.
template <Real T>
Var<T> max(const Var<T>& x, int axis, bool keepdim = false) {
  detail::AxisSplit sp = detail::split_axis("max", x.shape(), axis, keepdim);
  check<ShapeError>(sp.n > 0, "max: axis ", axis, " of shape ", x.shape(), " is empty");
  Tensor<T> y = Tensor<T>::empty(sp.out);
  std::vector<Index> arg(static_cast<std::size_t>(sp.outer * sp.inner));
  const T* px = x.value().data();
  T* py = y.data();
  parallel_for(0, sp.outer, 1, [&](Index ob, Index oe) {
    for (Index o = ob; o < oe; ++o)
      for (Index j = 0; j < sp.inner; ++j) {
        Index best = 0;
        T v = px[o * sp.n * sp.inner + j];
        for (Index i = 1; i < sp.n; ++i) {
          T c = px[(o * sp.n + i) * sp.inner + j];
          if (c > v || (c != c && v == v)) v = c, best = i;  // NaN propagates, as in PyTorch
        }
        py[o * sp.inner + j] = v;
        arg[static_cast<std::size_t>(o * sp.inner + j)] = best;
      }
  });
  return make_op<T>("max", std::move(y), {x}, [sp, arg = std::move(arg)](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    const T* g = self.grad.data();
    T* d = gx->data();
    for (Index o = 0; o < sp.outer; ++o)
      for (Index j = 0; j < sp.inner; ++j) {
        Index k = o * sp.inner + j;
        d[(o * sp.n + arg[static_cast<std::size_t>(k)]) * sp.inner + j] += g[k];
      }
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_REDUCE(P, T) \
  P template Var<T> sum<T>(const Var<T>& x); \
  P template Var<T> mean<T>(const Var<T>& x); \
  P template Var<T> sum<T>(const Var<T>& x, int axis, bool keepdim); \
  P template Var<T> mean<T>(const Var<T>& x, int axis, bool keepdim); \
  P template Var<T> max<T>(const Var<T>& x, int axis, bool keepdim);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_REDUCE)

}  // namespace simile
