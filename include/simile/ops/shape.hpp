#pragma once
/// \file
/// Shape ops: reshape, 2-D transpose, concat along an axis, row slice, row gather and its inverse scatter.
/// `reshape` and `slice_rows` return views that share the input's storage (no copy); their backward
/// adds the gradient back into the matching elements.

#include <cstdint>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/reduce.hpp"

namespace simile {

/// The same elements under `shape` (equal element count), sharing storage.
template <Real T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  check<ShapeError>(shape.numel() == x.numel(), "reshape: cannot view ", x.shape(), " (", x.numel(),
                    " elements) as ", shape);
  return make_op<T>("reshape", x.value().reshape(shape), {x}, [](Node<T>& self) {
    auto gx = self.grad_target(0);
    if (!gx) return;
    const T* g = self.grad.data();
    const Index n = self.grad.numel();
    parallel_for(0, n, detail::elementwise_grain, [&](Index b, Index e) {
      write_grad(gx.data + b, e - b, gx.assign, [&](Index k) { return g[b + k]; });
    });
  });
}

/// [N, d1, d2, ...] -> [N, d1 * d2 * ...] (a view).
template <Real T>
Var<T> flatten(const Var<T>& x) {
  check<ShapeError>(x.shape().rank() >= 1, "flatten: scalar input");
  return reshape(x, Shape{x.dim(0), x.value().cols()});
}

/// Transpose of a 2-D Var: [M, N] -> [N, M].
template <Real T>
Var<T> transpose(const Var<T>& x) {
  check<ShapeError>(x.shape().rank() == 2, "transpose: expected a 2-D input, got ", x.shape());
  Tensor<T> y = Tensor<T>::empty({x.dim(1), x.dim(0)});
  y.matrix() = x.value().matrix().transpose();
  return make_op<T>("transpose", std::move(y), {x}, [](Node<T>& self) {
    if (Tensor<T>* gx = self.grad_for(0)) gx->matrix() += self.grad.matrix().transpose();
  });
}

/// Concatenation along `axis`: every input has the same shape except along that axis.
template <Real T>
Var<T> concat(const std::vector<Var<T>>& xs, int axis = 0) {
  check<ShapeError>(!xs.empty(), "concat: no inputs");
  const Shape& s0 = xs[0].shape();
  detail::AxisSplit sp0 = detail::split_axis("concat", s0, axis, true);
  int ax = axis < 0 ? axis + s0.rank() : axis;
  Index total = 0;
  std::vector<Index> widths;  // elements per outer slice contributed by each input
  for (const Var<T>& x : xs) {
    const Shape& s = x.shape();
    bool same = s.rank() == s0.rank();
    for (int i = 0; same && i < s.rank(); ++i) same = (i == ax) || s[i] == s0[i];
    check<ShapeError>(same, "concat: shape ", s, " does not match ", s0, " outside axis ", axis);
    total += s[ax];
    widths.push_back(s[ax] * sp0.inner);
  }
  Shape out = s0;
  out[ax] = total;
  Tensor<T> y = Tensor<T>::empty(out);
  const Index outer = sp0.outer, row = total * sp0.inner;
  Index offset = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const T* src = xs[k].value().data();
    Index w = widths[k];
    for (Index o = 0; o < outer; ++o) std::copy(src + o * w, src + (o + 1) * w, y.data() + o * row + offset);
    offset += w;
  }
  return make_op<T>("concat", std::move(y), xs, [widths, outer, row](Node<T>& self) {
    Index offset = 0;
    for (std::size_t k = 0; k < widths.size(); ++k) {
      Index w = widths[k];
      if (Tensor<T>* gx = self.grad_for(k)) {
        T* dst = gx->data();
        const T* g = self.grad.data();
        for (Index o = 0; o < outer; ++o)
          for (Index j = 0; j < w; ++j) dst[o * w + j] += g[o * row + offset + j];
      }
      offset += w;
    }
  });
}

/// Rows [begin, end) of dimension 0, a view sharing storage.
template <Real T>
Var<T> slice_rows(const Var<T>& x, Index begin, Index end) {
  check<ShapeError>(x.shape().rank() >= 1 && 0 <= begin && begin <= end && end <= x.dim(0), "slice_rows: range [",
                    begin, ", ", end, ") out of bounds for shape ", x.shape());
  return make_op<T>("slice_rows", x.value().slice_rows(begin, end), {x}, [begin](Node<T>& self) {
    if (Tensor<T>* gx = self.grad_for(0)) {
      Index c = self.value.cols();
      auto dst = gx->array().segment(begin * c, self.value.numel());
      dst += self.grad.array();
    }
  });
}

/// Rows `index[i]` of x, stacked: [len(index), ...]. Indices may repeat; the backward sums their
/// gradients (scatter-add, in index order).
template <Real T>
Var<T> gather_rows(const Var<T>& x, const std::vector<Index>& index) {
  check<ShapeError>(x.shape().rank() >= 1, "gather_rows: scalar input");
  const Index n = x.dim(0), c = x.value().cols();
  for (Index i : index)
    check<ShapeError>(i >= 0 && i < n, "gather_rows: index ", i, " out of range for ", n, " rows");
  Shape out = x.shape();
  out[0] = static_cast<Index>(index.size());
  Tensor<T> y = Tensor<T>::empty(out);
  const T* src = x.value().data();
  T* dst = y.data();
  parallel_for(0, out[0], 64, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) std::copy(src + index[r] * c, src + (index[r] + 1) * c, dst + r * c);
  });
  return make_op<T>("gather_rows", std::move(y), {x}, [index, c](Node<T>& self) {
    Tensor<T>* gx = self.grad_for(0);
    if (!gx) return;
    const T* g = self.grad.data();
    T* d = gx->data();
    // Parallel over columns keeps the index order, hence the bits, for repeated rows.
    parallel_for(0, c, 256, [&](Index cb, Index ce) {
      for (std::size_t r = 0; r < index.size(); ++r)
        for (Index j = cb; j < ce; ++j) d[index[r] * c + j] += g[static_cast<Index>(r) * c + j];
    });
  });
}

/// The inverse of `gather_rows` for distinct indices: row r of x goes to row index[r] of an [n, ...] result
/// whose other rows are zero (the padded layout of packed tokens). Backward: dx_r = dy_{index[r]}.
/// Throws ShapeError for an index outside [0, n) or given twice.
template <Real T>
Var<T> scatter_rows(const Var<T>& x, const std::vector<Index>& index, Index n) {
  check<ShapeError>(x.shape().rank() >= 1 && x.dim(0) == static_cast<Index>(index.size()), "scatter_rows: ",
                    index.size(), " indices for x of shape ", x.shape());
  check<ShapeError>(n >= 0, "scatter_rows: n ", n, " is negative");
  const Index c = x.value().cols();
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(n), 0);
  for (Index i : index) {
    check<ShapeError>(i >= 0 && i < n, "scatter_rows: index ", i, " out of range for ", n, " rows");
    check<ShapeError>(!taken[std::size_t(i)], "scatter_rows: index ", i, " given twice");
    taken[std::size_t(i)] = 1;
  }
  Shape out = x.shape();
  out[0] = n;
  Tensor<T> y = Tensor<T>::zeros(out);
  const T* src = x.value().data();
  T* dst = y.data();
  parallel_for(0, x.dim(0), 64, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) std::copy(src + r * c, src + (r + 1) * c, dst + index[std::size_t(r)] * c);
  });
  return make_op<T>("scatter_rows", std::move(y), {x}, [index, c](Node<T>& self) {
    auto gx = self.grad_target(0);
    if (!gx) return;
    const T* g = self.grad.data();
    parallel_for(0, static_cast<Index>(index.size()), 64, [&](Index b, Index e) {
      for (Index r = b; r < e; ++r)
        write_grad(gx.data + r * c, c, gx.assign, [&](Index j) { return g[index[std::size_t(r)] * c + j]; });
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_SHAPE(P, T) \
  P template Var<T> reshape<T>(const Var<T>& x, const Shape& shape); \
  P template Var<T> flatten<T>(const Var<T>& x); \
  P template Var<T> scatter_rows<T>(const Var<T>& x, const std::vector<Index>& index, Index n); \
  P template Var<T> transpose<T>(const Var<T>& x); \
  P template Var<T> concat<T>(const std::vector<Var<T>>& xs, int axis); \
  P template Var<T> slice_rows<T>(const Var<T>& x, Index begin, Index end); \
  P template Var<T> gather_rows<T>(const Var<T>& x, const std::vector<Index>& index);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_SHAPE)

}  // namespace simile
