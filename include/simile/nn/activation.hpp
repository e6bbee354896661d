#pragma once
/// \file
/// Activation layers: modules without parameters that apply an elementwise op from `ops/unary.hpp`
/// (ReLU, LeakyReLU, GELU, Tanh, Sigmoid). Any input shape; the output has the input's shape. Their
/// gradients are the ops' (see each op for the derivative).

#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/unary.hpp"

namespace simile::nn {

/// max(x, 0).
template <Real T>
class ReLU : public Cloneable<ReLU<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

/// Configuration of a `LeakyReLU`.
struct LeakyReLUOptions {
  double negative_slope = 0.01;  ///< slope for x < 0, PyTorch's default
};

/// x for x > 0, negative_slope * x otherwise.
template <Real T>
class LeakyReLU : public Cloneable<LeakyReLU<T>, T> {
 public:
  /// max(x, negative_slope x) with the slope of `options`.
  explicit LeakyReLU(const LeakyReLUOptions& options = {}) : options_(options) {}
  Var<T> forward(const Var<T>& x) override { return leaky_relu(x, static_cast<T>(options_.negative_slope)); }
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override { return simile::detail::str("negative_slope=", options_.negative_slope); }
  /// The options it was built with.
  const LeakyReLUOptions& options() const { return options_; }

 private:
  LeakyReLUOptions options_;
};

/// GELU, exact form x Phi(x) (Hendrycks and Gimpel 2016; PyTorch's default).
template <Real T>
class GELU : public Cloneable<GELU<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return gelu(x); }
  std::string type_name() const override { return "GELU"; }
};

/// tanh(x).
template <Real T>
class Tanh : public Cloneable<Tanh<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

/// 1 / (1 + e^-x).
template <Real T>
class Sigmoid : public Cloneable<Sigmoid<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_ACTIVATION(P, T) \
  P template class ReLU<T>; \
  P template class LeakyReLU<T>; \
  P template class GELU<T>; \
  P template class Tanh<T>; \
  P template class Sigmoid<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_ACTIVATION)

}  // namespace simile::nn
