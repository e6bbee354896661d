#pragma once
/// \file
/// `gradcheck`: compares the gradients that `backward()` computes with central finite differences, in
/// double precision. For a function f of several inputs with output y, it checks the gradient of the
/// scalar L = <w, f(x)> for fixed random weights w (so a non-scalar output is checked in every
/// direction at once): analytic dL/dx_ij from one backward pass against
/// (L(x + eps e_ij) - L(x - eps e_ij)) / (2 eps) for every element of every input that requires a gradient.

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/rng.hpp"

namespace simile {

/// Options of `gradcheck`: the finite-difference step and the tolerances.
struct GradcheckOptions {
  double eps = 1e-6;   ///< finite-difference step
  double atol = 1e-6;  ///< absolute tolerance
  double rtol = 1e-4;  ///< relative tolerance: passes when |analytic - numeric| <= atol + rtol * |numeric|
  std::uint64_t seed = 0;  ///< seed of the output weights w
};

/// Outcome of a gradcheck, with the worst element found.
struct GradcheckResult {
  bool ok = true;          ///< every element within tolerance
  std::size_t input = 0;   ///< which input holds the worst element
  Index element = 0;       ///< flat index of the worst element in that input
  double analytic = 0;     ///< backward's value there
  double numeric = 0;      ///< central difference there
  double error = 0;        ///< |analytic - numeric| - rtol * |numeric| (the margin used by the test)
  Index checked = 0;       ///< elements compared
  /// One line for a test failure: passed or FAILED, elements checked, the worst element and both values.
  std::string message() const;
};

/// Checks `f(inputs)` (returning a Var<double> of any shape) against finite differences. Inputs that
/// do not require a gradient are held constant. The inputs' values are restored on return.
GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f, const std::vector<Var<double>>& inputs, const GradcheckOptions& opt = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/autograd/gradcheck-inl.hpp"
#endif
