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

#include "simile/autograd/var.hpp"
#include "simile/core/rng.hpp"

namespace simile {

struct GradcheckOptions {
  double eps = 1e-6;   ///< finite-difference step
  double atol = 1e-6;  ///< absolute tolerance
  double rtol = 1e-4;  ///< relative tolerance: passes when |analytic - numeric| <= atol + rtol * |numeric|
  std::uint64_t seed = 0;  ///< seed of the output weights w
};

/// Outcome of a gradcheck, with the worst element found.
struct GradcheckResult {
  bool ok = true;
  std::size_t input = 0;   ///< which input holds the worst element
  Index element = 0;       ///< flat index of the worst element in that input
  double analytic = 0;     ///< backward's value there
  double numeric = 0;      ///< central difference there
  double error = 0;        ///< |analytic - numeric| - rtol * |numeric| (the margin used by the test)
  Index checked = 0;       ///< elements compared
  std::string message() const {
    std::ostringstream os;
    os << (ok ? "gradcheck passed" : "gradcheck FAILED") << ": " << checked << " elements, worst at input "
       << input << " element " << element << ": analytic " << analytic << ", numeric " << numeric;
    return os.str();
  }
};

/// Checks `f(inputs)` (returning a Var<double> of any shape) against finite differences. Inputs that
/// do not require a gradient are held constant. The inputs' values are restored on return.
inline GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                 const std::vector<Var<double>>& inputs, const GradcheckOptions& opt = {}) {
  Var<double> y = f(inputs);
  Tensor<double> w = Tensor<double>::empty(y.shape());
  Rng rng(opt.seed);
  for (double& v : w.span()) v = rng.uniform(-1.0, 1.0);
  for (const auto& x : inputs) x.zero_grad();
  check(y.requires_grad(), "gradcheck: the output does not depend on any input that requires a gradient");
  y.backward(w);

  auto loss = [&] {
    NoGradGuard ng;
    Var<double> out = f(inputs);
    check<ShapeError>(out.shape() == w.shape(), "gradcheck: output shape changed from ", w.shape(), " to ",
                      out.shape());
    return (out.value().array() * w.array()).sum();
  };

  GradcheckResult r;
  double worst = 0;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Var<double>& x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor<double> analytic = x.has_grad() ? x.grad().clone() : Tensor<double>::zeros(x.shape());
    double* p = x.value().data();
    for (Index i = 0; i < x.numel(); ++i) {
      double orig = p[i];
      p[i] = orig + opt.eps;
      double up = loss();
      p[i] = orig - opt.eps;
      double down = loss();
      p[i] = orig;
      double numeric = (up - down) / (2 * opt.eps);
      double a = analytic.data()[i];
      double margin = std::abs(a - numeric) - opt.rtol * std::abs(numeric);
      if (std::isnan(margin)) margin = INFINITY;
      if (r.checked == 0 || margin > worst) {
        worst = margin;
        r.input = k;
        r.element = i;
        r.analytic = a;
        r.numeric = numeric;
        r.error = margin;
      }
      ++r.checked;
    }
    x.zero_grad();
  }
  r.ok = r.checked > 0 && worst <= opt.atol;
  return r;
}

}  // namespace simile
