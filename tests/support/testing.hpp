#pragma once
/// \file
/// Shared test helpers: random tensors from fixed seeds, approximate comparison, gradcheck assertions.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "simile/autograd/gradcheck.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"

namespace simile::testing {

/// Uniform random tensor in [lo, hi) from a fixed seed.
template <class T>
Tensor<T> random_tensor(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor<T> t = Tensor<T>::empty(shape);
  Rng rng(seed);
  for (T& v : t.span()) v = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

/// Batch norm's gamma [C] of every sign: random magnitudes in [0.5, 1.5), channel c positive, negative or
/// zero as c % 3 is 0, 1 or 2 (the fused pooling takes the window's maximum of x, its minimum or its first
/// position accordingly).
template <class T>
Tensor<T> signed_gamma(Index channels, std::uint64_t seed) {
  Tensor<T> t = random_tensor<T>({channels}, seed, 0.5, 1.5);
  for (Index c = 0; c < channels; ++c) t.data()[c] *= c % 3 == 0 ? T(1) : c % 3 == 1 ? T(-1) : T(0);
  return t;
}

/// A trainable Var<double> with random values.
inline Var<double> random_param(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return Var<double>(random_tensor<double>(shape, seed, lo, hi), true);
}

/// Every element of `a` within `atol + rtol * |b|` of `b`; shapes equal.
template <class T>
::testing::AssertionResult tensors_near(const Tensor<T>& a, const Tensor<T>& b, double atol = 1e-6,
                                        double rtol = 1e-6) {
  if (!(a.shape() == b.shape()))
    return ::testing::AssertionFailure() << "shapes differ: " << a.shape() << " vs " << b.shape();
  for (Index i = 0; i < a.numel(); ++i) {
    double x = a.data()[i], y = b.data()[i];
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y)))
      return ::testing::AssertionFailure() << "element " << i << ": " << x << " vs " << y << " (shape "
                                           << a.shape() << ")";
  }
  return ::testing::AssertionSuccess();
}

/// Runs gradcheck and turns its result into a gtest assertion that names the worst element.
inline ::testing::AssertionResult grad_ok(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                          const std::vector<Var<double>>& inputs, GradcheckOptions opt = {}) {
  GradcheckResult r = gradcheck(f, inputs, opt);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message();
}

/// Asserts that `f` throws a simile::Error (of type E) whose message contains every one of `parts`.
template <class E = Error, class F>
::testing::AssertionResult throws_with(F&& f, std::vector<std::string> parts) {
  try {
    f();
  } catch (const E& e) {
    std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace simile::testing
