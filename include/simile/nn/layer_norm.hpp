#pragma once
/// \file
/// `LayerNorm`: normalization over the last dimension with a learned scale and shift, PyTorch's
/// `nn.LayerNorm(normalized_shape=D)` (parameter names `weight`, `bias`; weight 1, bias 0 at start).

#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/layer_norm.hpp"

namespace simile::nn {

/// Configuration of a `LayerNorm`.
struct LayerNormOptions {
  Index normalized_dim = 0;  ///< D, the last dimension of the input (> 0)
  double eps = 1e-5;         ///< added to the variance (> 0)
};

/// y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias over the last dimension (biased variance), the
/// same in training and evaluation. Input [..., D], output [..., D]; parameters `weight` [D], `bias` [D].
template <Real T>
class LayerNorm : public Cloneable<LayerNorm<T>, T> {
 public:
  /// Normalizes the last dimension of size `options.normalized_dim`, weight 1 and bias 0 to start.
  explicit LayerNorm(const LayerNormOptions& options) : options_(options) {
    check<ValueError>(options.normalized_dim > 0, "LayerNorm: normalized_dim ", options.normalized_dim,
                      " must be positive");
    check<ValueError>(options.eps > 0, "LayerNorm: eps ", options.eps, " must be positive");
    weight_ = this->register_parameter("weight", Tensor<T>::ones({options.normalized_dim}));
    bias_ = this->register_parameter("bias", Tensor<T>::zeros({options.normalized_dim}));
  }

  Var<T> forward(const Var<T>& x) override {
    return layer_norm(x, this->get(weight_), this->get(bias_), T(options_.eps));
  }
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override {
    return simile::detail::str("(", options_.normalized_dim, ",), eps=", options_.eps);
  }
  /// The options it was built with.
  const LayerNormOptions& options() const { return options_; }

 private:
  LayerNormOptions options_;
  ParameterId weight_, bias_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_LAYER_NORM(P, T) \
  P template class LayerNorm<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_LAYER_NORM)

}  // namespace simile::nn
