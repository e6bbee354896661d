#pragma once
/// \file
/// The definitions behind `simile/autograd/gradcheck.hpp`: compiled once in `src/autograd/gradcheck.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/autograd/gradcheck.hpp"

namespace simile {

SIMILE_INLINE std::string GradcheckResult::message() const {
  std::ostringstream os;
  os << (ok ? "gradcheck passed" : "gradcheck FAILED") << ": " << checked << " elements, worst at input "
     << input << " element " << element << ": analytic " << analytic << ", numeric " << numeric;
  return os.str();
}

SIMILE_INLINE GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f, const std::vector<Var<double>>& inputs, const GradcheckOptions& opt) {
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
