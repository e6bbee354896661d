#pragma once
/// \file
/// Elementwise binary ops add, sub, mul, div with broadcasting, and their operators.
///
/// Broadcasting covers the cases a network needs, each without a copy of the small operand:
/// - equal shapes;
/// - scalar: one operand has a single element;
/// - row: the small operand's shape (leading 1s dropped) equals the trailing dims of the large one,
///   e.g. [R, C] with [C] or [1, C] (a bias);
/// - column: the small operand's shape (trailing 1s dropped) equals the leading dims of the large one,
///   e.g. [R, C] with [R, 1] or [R] (a per-row scale).
/// The result has the large operand's shape. Anything else throws `ShapeError` naming both shapes.
/// The gradient of a broadcast operand is the upstream gradient summed over the broadcast positions.

#include <algorithm>
#include <span>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {

/// How an operand is laid over the [R, K] grid of the result.
enum class Layout { full, scalar, row, col };

struct Broadcast {
  Layout a = Layout::full, b = Layout::full;
  Shape out;
  Index rows = 0, cols = 0;  ///< the [R, K] grid of the result
};

inline std::span<const Index> strip_leading_ones(std::span<const Index> d) {
  while (!d.empty() && d.front() == 1) d = d.subspan(1);
  return d;
}
inline std::span<const Index> strip_trailing_ones(std::span<const Index> d) {
  while (!d.empty() && d.back() == 1) d = d.first(d.size() - 1);
  return d;
}

/// Layout of `small` against `big`, or false when it does not broadcast; sets the grid.
inline bool fit(const Shape& small, const Shape& big, Layout& layout, Index& rows, Index& cols) {
  if (small == big) {
    layout = Layout::full, rows = 1, cols = big.numel();
    return true;
  }
  if (small.numel() == 1) {
    layout = Layout::scalar, rows = 1, cols = big.numel();
    return true;
  }
  auto sd = strip_leading_ones(small.dims());
  auto bd = big.dims();
  if (sd.size() <= bd.size() && std::equal(sd.begin(), sd.end(), bd.end() - static_cast<std::ptrdiff_t>(sd.size()))) {
    layout = Layout::row, cols = small.numel(), rows = cols ? big.numel() / cols : 0;
    return true;
  }
  sd = strip_trailing_ones(small.dims());
  if (sd.size() <= bd.size() && std::equal(sd.begin(), sd.end(), bd.begin())) {
    layout = Layout::col, rows = small.numel(), cols = rows ? big.numel() / rows : 0;
    return true;
  }
  return false;
}

inline Broadcast broadcast(const char* op, const Shape& a, const Shape& b) {
  Broadcast r;
  bool ok;
  if (a.numel() >= b.numel()) {
    r.out = a;
    ok = fit(b, a, r.b, r.rows, r.cols);
  } else {
    r.out = b;
    ok = fit(a, b, r.a, r.rows, r.cols);
  }
  check<ShapeError>(ok, op, ": cannot broadcast shapes ", a, " and ", b);
  if (r.a == Layout::full && r.b == Layout::full) r.rows = 1, r.cols = r.out.numel();
  return r;
}

template <Layout L>
inline Index at(Index r, Index k, Index K) {
  if constexpr (L == Layout::full) return r * K + k;
  else if constexpr (L == Layout::scalar) return 0;
  else if constexpr (L == Layout::row) return k;
  else return r;
}

/// Calls `f.template operator()<LA, LB>()` with the layouts as compile-time constants.
template <class F>
void dispatch(Layout la, Layout lb, F&& f) {
  using L = Layout;
  if (la == L::full && lb == L::full) f.template operator()<L::full, L::full>();
  else if (la == L::full && lb == L::scalar) f.template operator()<L::full, L::scalar>();
  else if (la == L::full && lb == L::row) f.template operator()<L::full, L::row>();
  else if (la == L::full && lb == L::col) f.template operator()<L::full, L::col>();
  else if (la == L::scalar) f.template operator()<L::scalar, L::full>();
  else if (la == L::row) f.template operator()<L::row, L::full>();
  else f.template operator()<L::col, L::full>();
}

/// Accumulates into `out` (laid out as `LT` over the [R, K] grid, a broadcast layout: the full one is
/// written by `gradient`) the values term(r, k), summing over broadcast positions. Fixed summation order,
/// parallel over the dimension that is not reduced.
template <Layout LT, Real T, class Term>
void accumulate(T* out, Index R, Index K, Term term) {
  static_assert(LT != Layout::full, "a full-layout gradient is written by gradient()");
  if constexpr (LT == Layout::row) {
    parallel_for(0, K, std::max<Index>(1, elementwise_grain / std::max<Index>(R, 1)), [&](Index b, Index e) {
      for (Index r = 0; r < R; ++r)
        for (Index k = b; k < e; ++k) out[k] += term(r, k);
    });
  } else if constexpr (LT == Layout::col) {
    parallel_for(0, R, std::max<Index>(1, elementwise_grain / std::max<Index>(K, 1)), [&](Index b, Index e) {
      for (Index r = b; r < e; ++r) {
        T s = 0;
        for (Index k = 0; k < K; ++k) s += term(r, k);
        out[r] += s;
      }
    });
  } else {
    T s = parallel_reduce<T>(
        0, R * K, elementwise_grain, T(0),
        [&](Index b, Index e) {
          T acc = 0;
          Index r = b / std::max<Index>(K, 1), k = b - r * K;
          for (Index i = b; i < e; ++i) {
            acc += term(r, k);
            if (++k == K) k = 0, ++r;
          }
          return acc;
        },
        [](T x, T y) { return x + y; });
    out[0] += s;
  }
}

/// Input `i`'s gradient from term(r, k): a full-layout one, which every term writes once, is assigned
/// when fresh (`Node::grad_target`: no zero fill to read back); a broadcast one is accumulated.
template <Layout L, Real T, class Term>
void gradient(Node<T>& self, std::size_t i, Index R, Index K, Term term) {
  if constexpr (L == Layout::full) {
    const auto g = self.grad_target(i);
    if (!g) return;
    // Row by row: no division per element (it cost as much as the rest of an add's backward).
    parallel_for(0, R, std::max<Index>(1, elementwise_grain / std::max<Index>(K, 1)), [&](Index b, Index e) {
      for (Index r = b; r < e; ++r) write_grad(g.data + r * K, K, g.assign, [&](Index k) { return term(r, k); });
    });
  } else if (Tensor<T>* g = self.grad_for(i)) {
    accumulate<L>(g->data(), R, K, term);
  }
}

/// y = f(a, b) with broadcasting; backward: ga += g * da(a, b, y), gb += g * db(a, b, y), reduced over
/// broadcast positions.
template <Real T, class F, class DA, class DB>
Var<T> binary_op(const char* name, const Var<T>& a, const Var<T>& b, F f, DA da, DB db) {
  Broadcast bc = broadcast(name, a.shape(), b.shape());
  const Tensor<T>& av = a.value();
  const Tensor<T>& bv = b.value();
  Tensor<T> y = Tensor<T>::empty(bc.out);
  const Index R = bc.rows, K = bc.cols;
  dispatch(bc.a, bc.b, [&]<Layout LA, Layout LB>() {
    const T* pa = av.data();
    const T* pb = bv.data();
    T* py = y.data();
    parallel_for(0, R, std::max<Index>(1, elementwise_grain / std::max<Index>(K, 1)), [&](Index rb, Index re) {
      for (Index r = rb; r < re; ++r)
        for (Index k = 0; k < K; ++k) py[r * K + k] = f(pa[at<LA>(r, k, K)], pb[at<LB>(r, k, K)]);
    });
  });
  return make_op<T>(name, std::move(y), {a, b}, [av, bv, bc, da, db](Node<T>& self) {
    const Index R = bc.rows, K = bc.cols;
    const T* pa = av.data();
    const T* pb = bv.data();
    const T* py = self.value.data();
    const T* pg = self.grad.data();
    dispatch(bc.a, bc.b, [&]<Layout LA, Layout LB>() {
      gradient<LA>(self, 0, R, K, [&](Index r, Index k) {
        Index i = r * K + k;
        return pg[i] * da(pa[at<LA>(r, k, K)], pb[at<LB>(r, k, K)], py[i]);
      });
      gradient<LB>(self, 1, R, K, [&](Index r, Index k) {
        Index i = r * K + k;
        return pg[i] * db(pa[at<LA>(r, k, K)], pb[at<LB>(r, k, K)], py[i]);
      });
    });
  });
}
}  // namespace detail

/// a + b with broadcasting.
template <Real T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return detail::binary_op<T>(
      "add", a, b, [](T x, T y) { return x + y; }, [](T, T, T) { return T(1); }, [](T, T, T) { return T(1); });
}

/// a - b with broadcasting.
template <Real T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return detail::binary_op<T>(
      "sub", a, b, [](T x, T y) { return x - y; }, [](T, T, T) { return T(1); }, [](T, T, T) { return T(-1); });
}

/// a * b elementwise with broadcasting.
template <Real T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return detail::binary_op<T>(
      "mul", a, b, [](T x, T y) { return x * y; }, [](T, T y, T) { return y; }, [](T x, T, T) { return x; });
}

/// a / b elementwise with broadcasting; d/da = 1/b, d/db = -a/b^2 = -y/b.
template <Real T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return detail::binary_op<T>(
      "div", a, b, [](T x, T y) { return x / y; }, [](T, T y, T) { return T(1) / y; },
      [](T, T y, T out) { return -out / y; });
}

/// @{
/// The ops above as operators: `a + b` is `add(a, b)`, `a * s` is `scale(a, s)`, `c - a` is
/// `add_scalar(neg(a), c)`, `a / s` is `scale(a, 1 / s)`; same shapes, broadcasting and gradients.
template <Real T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <Real T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <Real T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <Real T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }

template <Real T> Var<T> operator+(const Var<T>& a, std::type_identity_t<T> c) { return add_scalar(a, c); }
template <Real T> Var<T> operator+(std::type_identity_t<T> c, const Var<T>& a) { return add_scalar(a, c); }
template <Real T> Var<T> operator-(const Var<T>& a, std::type_identity_t<T> c) { return add_scalar(a, -c); }
template <Real T> Var<T> operator-(std::type_identity_t<T> c, const Var<T>& a) { return add_scalar(neg(a), c); }
template <Real T> Var<T> operator*(const Var<T>& a, std::type_identity_t<T> s) { return scale(a, s); }
template <Real T> Var<T> operator*(std::type_identity_t<T> s, const Var<T>& a) { return scale(a, s); }
template <Real T> Var<T> operator/(const Var<T>& a, std::type_identity_t<T> s) { return scale(a, T(1) / s); }
/// @}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_BINARY(P, T) \
  P template Var<T> add<T>(const Var<T>& a, const Var<T>& b); \
  P template Var<T> sub<T>(const Var<T>& a, const Var<T>& b); \
  P template Var<T> mul<T>(const Var<T>& a, const Var<T>& b); \
  P template Var<T> div<T>(const Var<T>& a, const Var<T>& b);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_BINARY)

}  // namespace simile
