#pragma once
/// \file
/// `Linear`: the fully connected layer y = x W^T + b, PyTorch's `nn.Linear` (same parameter names,
/// shapes and default initialization, so a checkpoint maps one to one).

#include <cstdint>
#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/matmul.hpp"
#include "simile/ops/shape.hpp"

namespace simile::nn {

/// Configuration of a `Linear` layer.
struct LinearOptions {
  Index in_features = 0;   ///< size of the last input dimension (> 0)
  Index out_features = 0;  ///< size of the last output dimension (> 0)
  bool bias = true;        ///< add a learned bias b
};

/// y = x W^T + b.
/// - Parameters: `weight` [out_features, in_features], `bias` [out_features] (when `bias`).
/// - Input [..., in_features] (rank >= 1; leading dimensions are batch dimensions), output
///   [..., out_features].
/// - Initialization (PyTorch's default): W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
/// Gradients come from the ops: dW = G^T x, db = sum over rows of G, dx = G W.
template <Real T>
class Linear : public Cloneable<Linear<T>, T> {
 public:
  /// Registers and initializes the parameters from `rng` (weight first, then bias).
  Linear(const LinearOptions& options, Rng& rng) : options_(options) {
    check(options.in_features > 0 && options.out_features > 0, "Linear: in_features ", options.in_features,
          " and out_features ", options.out_features, " must be positive");
    weight_ = this->register_parameter("weight", Tensor<T>::empty({options.out_features, options.in_features}));
    if (options.bias) bias_ = this->register_parameter("bias", Tensor<T>::empty({options.out_features}));
    init::default_layer_init(weight().value(), options.bias ? bias().value() : Tensor<T>(), rng);
  }

  Var<T> forward(const Var<T>& x) override {
    const Shape& s = x.shape();
    check<ShapeError>(s.rank() >= 1 && s[s.rank() - 1] == options_.in_features, "Linear: input of shape ", s,
                      " does not end in in_features = ", options_.in_features);
    if (s.rank() == 2) return affine(x);
    // Other ranks go through the 2-D product as [rows, in_features] (reshapes are views).
    Shape out = s;
    out[s.rank() - 1] = options_.out_features;
    return reshape(affine(reshape(x, Shape{s.numel() / options_.in_features, options_.in_features})), out);
  }

  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override {
    return simile::detail::str("in_features=", options_.in_features, ", out_features=", options_.out_features,
                       ", bias=", options_.bias ? "true" : "false");
  }

  /// The options it was built with.
  const LinearOptions& options() const { return options_; }
  /// W [out_features, in_features].
  const Var<T>& weight() const { return this->get(weight_); }
  /// The bias; requires `options().bias`.
  const Var<T>& bias() const {
    check(bias_.has_value(), "Linear::bias: this layer was built without a bias");
    return this->get(*bias_);
  }

 private:
  Var<T> affine(const Var<T>& x) const {
    Var<T> y = matmul(x, weight(), false, true);
    return bias_ ? add(y, this->get(*bias_)) : y;
  }

  LinearOptions options_;
  ParameterId weight_;
  std::optional<ParameterId> bias_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_LINEAR(P, T) \
  P template class Linear<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_LINEAR)

}  // namespace simile::nn
