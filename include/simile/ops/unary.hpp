#pragma once
/// \file
/// Elementwise unary ops y = f(x) with dL/dx = dL/dy * f'(x). Each op's derivative stands beside its
/// forward. Derivatives are computed from x or from y, whichever is cheaper (exp, tanh and sigmoid reuse y).

#include <cmath>
#include <numbers>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"

namespace simile {

namespace detail {
/// Elements per parallel chunk for cheap elementwise loops.
inline constexpr Index elementwise_grain = 1 << 15;

/// y_i = fwd(x_i); backward: gx_i += g_i * deriv(x_i, y_i) (assigned when gx is fresh: `grad_target`).
template <Real T, class Fwd, class Deriv>
Var<T> unary_op(const char* name, const Var<T>& x, Fwd fwd, Deriv deriv) {
  const Tensor<T>& xv = x.value();
  Tensor<T> y = Tensor<T>::empty(xv.shape());
  const T* px = xv.data();
  T* py = y.data();
  parallel_for(0, xv.numel(), elementwise_grain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) py[i] = fwd(px[i]);
  });
  return make_op<T>(name, std::move(y), {x}, [xv, deriv](Node<T>& self) {
    const auto gx = self.grad_target(0);
    if (!gx) return;
    const T* px = xv.data();
    const T* py = self.value.data();
    const T* pg = self.grad.data();
    parallel_for(0, xv.numel(), elementwise_grain, [&](Index b, Index e) {
      write_grad(gx.data + b, e - b, gx.assign, [&](Index k) { return pg[b + k] * deriv(px[b + k], py[b + k]); });
    });
  });
}
}  // namespace detail

/// -x.
template <Real T>
Var<T> neg(const Var<T>& x) {
  return detail::unary_op<T>("neg", x, [](T v) { return -v; }, [](T, T) { return T(-1); });
}

/// s * x for a constant s.
template <Real T>
Var<T> scale(const Var<T>& x, T s) {
  return detail::unary_op<T>("scale", x, [s](T v) { return s * v; }, [s](T, T) { return s; });
}

/// x + c for a constant c.
template <Real T>
Var<T> add_scalar(const Var<T>& x, T c) {
  return detail::unary_op<T>("add_scalar", x, [c](T v) { return v + c; }, [](T, T) { return T(1); });
}

/// e^x; d/dx = e^x = y.
template <Real T>
Var<T> exp(const Var<T>& x) {
  return detail::unary_op<T>("exp", x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}

/// Natural logarithm; d/dx = 1/x. log of a non-positive value gives -inf or NaN, as in IEEE arithmetic.
template <Real T>
Var<T> log(const Var<T>& x) {
  return detail::unary_op<T>("log", x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}

/// x^p for a constant exponent p; d/dx = p x^(p-1).
template <Real T>
Var<T> pow(const Var<T>& x, T p) {
  return detail::unary_op<T>(
      "pow", x, [p](T v) { return std::pow(v, p); }, [p](T v, T) { return p * std::pow(v, p - T(1)); });
}

/// sqrt(x); d/dx = 1 / (2 sqrt(x)) = 1 / (2y).
template <Real T>
Var<T> sqrt(const Var<T>& x) {
  return detail::unary_op<T>("sqrt", x, [](T v) { return std::sqrt(v); }, [](T, T y) { return T(0.5) / y; });
}

/// |x|; d/dx = sign(x), taken as 0 at 0 (the subgradient PyTorch uses).
template <Real T>
Var<T> abs(const Var<T>& x) {
  return detail::unary_op<T>(
      "abs", x, [](T v) { return std::abs(v); }, [](T v, T) { return T((v > 0) - (v < 0)); });
}

/// min(max(x, lo), hi); gradient 1 inside [lo, hi], 0 where clamped. Requires lo <= hi.
template <Real T>
Var<T> clamp(const Var<T>& x, T lo, T hi) {
  check(lo <= hi, "clamp: lower bound ", lo, " above upper bound ", hi);
  return detail::unary_op<T>(
      "clamp", x, [lo, hi](T v) { return std::min(std::max(v, lo), hi); },
      [lo, hi](T v, T) { return T(v >= lo && v <= hi); });
}

/// max(x, 0); gradient 1 for x > 0, else 0 (told from y, which is > 0 exactly where x is: the backward
/// does not read x).
template <Real T>
Var<T> relu(const Var<T>& x) {
  return detail::unary_op<T>("relu", x, [](T v) { return v > 0 ? v : T(0); }, [](T, T y) { return T(y > 0); });
}

/// x for x > 0, slope * x otherwise.
template <Real T>
Var<T> leaky_relu(const Var<T>& x, T slope = T(0.01)) {
  return detail::unary_op<T>(
      "leaky_relu", x, [slope](T v) { return v > 0 ? v : slope * v; },
      [slope](T v, T) { return v > 0 ? T(1) : slope; });
}

namespace detail {
/// The vectorized GELU kernels over n contiguous elements (compiled in src/ops/unary.cpp, which alone includes
/// Eigen's special functions): y = x Phi(x), and out = g Phi'(x) assigned (`assign`) or added.
void gelu_forward(const float* x, float* y, Index n);
void gelu_forward(const double* x, double* y, Index n);
void gelu_backward(const float* x, const float* g, float* out, Index n, bool assign);
void gelu_backward(const double* x, const double* g, double* out, Index n, bool assign);
}  // namespace detail

/// GELU, exact form (PyTorch's default): x Phi(x) with Phi the standard normal CDF;
/// d/dx = Phi(x) + x phi(x). Vectorized with Eigen's erf and exp (float: Eigen's polynomial erf, within a
/// few ulp of std::erf; double: std::erf per element).
template <Real T>
Var<T> gelu(const Var<T>& x) {
  const Tensor<T>& xv = x.value();
  Tensor<T> y = Tensor<T>::empty(xv.shape());
  const Index n = xv.numel();
  parallel_for(0, n, detail::elementwise_grain,
               [&](Index b, Index e) { detail::gelu_forward(xv.data() + b, y.data() + b, e - b); });
  return make_op<T>("gelu", std::move(y), {x}, [xv, n](Node<T>& self) {
    auto gx = self.grad_target(0);
    if (!gx) return;
    parallel_for(0, n, detail::elementwise_grain, [&](Index b, Index e) {
      detail::gelu_backward(xv.data() + b, self.grad.data() + b, gx.data + b, e - b, gx.assign);
    });
  });
}

/// tanh(x); d/dx = 1 - y^2.
template <Real T>
Var<T> tanh(const Var<T>& x) {
  return detail::unary_op<T>("tanh", x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}

/// 1 / (1 + e^-x), computed without overflow for large |x|; d/dx = y (1 - y).
template <Real T>
Var<T> sigmoid(const Var<T>& x) {
  return detail::unary_op<T>(
      "sigmoid", x,
      [](T v) {
        if (v >= 0) return T(1) / (T(1) + std::exp(-v));
        T e = std::exp(v);
        return e / (T(1) + e);
      },
      [](T, T y) { return y * (T(1) - y); });
}

/// -x, `neg(x)`.
template <Real T>
Var<T> operator-(const Var<T>& x) {
  return neg(x);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_UNARY(P, T) \
  P template Var<T> neg<T>(const Var<T>& x); \
  P template Var<T> scale<T>(const Var<T>& x, T s); \
  P template Var<T> add_scalar<T>(const Var<T>& x, T c); \
  P template Var<T> exp<T>(const Var<T>& x); \
  P template Var<T> log<T>(const Var<T>& x); \
  P template Var<T> pow<T>(const Var<T>& x, T p); \
  P template Var<T> sqrt<T>(const Var<T>& x); \
  P template Var<T> abs<T>(const Var<T>& x); \
  P template Var<T> clamp<T>(const Var<T>& x, T lo, T hi); \
  P template Var<T> relu<T>(const Var<T>& x); \
  P template Var<T> leaky_relu<T>(const Var<T>& x, T slope); \
  P template Var<T> gelu<T>(const Var<T>& x); \
  P template Var<T> tanh<T>(const Var<T>& x); \
  P template Var<T> sigmoid<T>(const Var<T>& x); \
  P template Var<T> operator-<T>(const Var<T>& x);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_UNARY)

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/ops/unary-inl.hpp"
#endif
