#pragma once
/// \file
/// `Mlp`: a multilayer perceptron encoder for vector data (tabular features, embeddings), an
/// `nn::LayerStack` (the chain of layers named "0", "1", ... that it shares with the projection and
/// prediction heads, so that all three have `nn.Sequential`'s parameter names).

#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/nn/layer_stack.hpp"

namespace simile::encoders {

/// The nonlinearity between the layers of an MLP (defined with `nn::LayerStack`).
using nn::MlpActivation;

/// Configuration of an `Mlp`.
struct MlpOptions {
  std::vector<Index> sizes;                        ///< {input, hidden..., output}, at least 2, all > 0
  MlpActivation activation = MlpActivation::relu;  ///< between layers
  bool batch_norm = false;                         ///< BatchNorm1d after each hidden Linear, before the activation
  bool bias = true;                                ///< Linear biases
  bool activate_last = false;  ///< also (batch-normalize and) activate the output: h = act(W_L h_{L-1} + b_L)
};

/// Multilayer perceptron encoder: for sizes {d_0, ..., d_L},
///   h_0 = x,  h_i = act(BN_i(W_i h_{i-1} + b_i)) for i < L,  h = W_L h_{L-1} + b_L  (BN_i only with `batch_norm`;
///   with `activate_last` the output is activated, and normalized, like the hidden layers).
/// Input [N, d_0], output h [N, d_L]. Children are numbered as `nn.Sequential` would number the same layers:
/// sizes {4, 8, 2} with batch_norm gives `0.weight` [8, 4], `0.bias` [8], `1.weight` [8], `1.bias` [8] (the
/// BatchNorm1d, buffers `1.running_mean`, `1.running_var`, `1.num_batches_tracked`), `2` the activation,
/// `3.weight` [2, 8], `3.bias` [2]. Initialization: PyTorch's Linear default.
template <Real T>
class Mlp : public nn::LayerStack<Mlp<T>, T> {
 public:
  /// The layers of `o`, weights drawn from `rng`. Throws ValueError for fewer than two sizes or a
  /// size <= 0.
  Mlp(const MlpOptions& o, Rng& rng) : options_(o) {
    this->build("Mlp",
                {.sizes = o.sizes, .activation = o.activation, .batch_norm = o.batch_norm, .bias = o.bias,
                 .activate_last = o.activate_last},
                rng);
  }
  /// Shares the layers (a handle, see `nn::Module`); `clone()` is the deep copy.
  Mlp(const Mlp&) = default;

  std::string type_name() const override { return "Mlp"; }
  std::string extra_repr() const override { return this->stack_repr(); }
  /// The options it was built with.
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_MLP(P, T) \
  P template class Mlp<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_MLP)

}  // namespace simile::encoders

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_MLP_BASES(P, T) \
  P template class nn::LayerStack<encoders::Mlp<T>, T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_MLP_BASES)
}  // namespace simile
