#pragma once
/// \file
/// The vectorized GELU kernels declared in ops/unary.hpp (compiled once by src/ops/unary.cpp, or included by
/// the header in header-only mode): the only place that includes Eigen's special functions.

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "simile/ops/unary.hpp"

namespace simile::detail {

template <class T>
inline void gelu_forward_kernel(const T* x, T* y, Index n) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Array> xs(x, n);
  Eigen::Map<Array>(y, n) = T(0.5) * xs * (T(1) + (xs * T(0.70710678118654752440)).erf());
}

template <class T>
inline void gelu_backward_kernel(const T* x, const T* g, T* out, Index n, bool assign) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Array> xs(x, n), gs(g, n);
  Eigen::Map<Array> o(out, n);
  // Phi(x) + x phi(x)
  auto d = T(0.5) * (T(1) + (xs * T(0.70710678118654752440)).erf()) +
           xs * T(0.39894228040143267794) * (T(-0.5) * xs.square()).exp();
  if (assign) o = gs * d;
  else o += gs * d;
}

SIMILE_INLINE void gelu_forward(const float* x, float* y, Index n) { gelu_forward_kernel(x, y, n); }
SIMILE_INLINE void gelu_forward(const double* x, double* y, Index n) { gelu_forward_kernel(x, y, n); }
SIMILE_INLINE void gelu_backward(const float* x, const float* g, float* out, Index n, bool assign) {
  gelu_backward_kernel(x, g, out, n, assign);
}
SIMILE_INLINE void gelu_backward(const double* x, const double* g, double* out, Index n, bool assign) {
  gelu_backward_kernel(x, g, out, n, assign);
}

}  // namespace simile::detail
