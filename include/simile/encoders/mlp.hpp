#pragma once
/// \file
/// `Mlp`: a multilayer perceptron encoder for vector data (tabular features, embeddings), and
/// `detail::LayerStack`, the chain of layers named "0", "1", ... that it shares with the projection and
/// prediction heads (`heads/`), so that all three have `nn.Sequential`'s parameter names.

#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/nn/activation.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/module.hpp"

namespace simile::encoders {

/// The nonlinearity between the layers of an MLP.
enum class MlpActivation { relu, gelu, tanh, sigmoid, leaky_relu };

inline const char* to_string(MlpActivation a) {
  switch (a) {
    case MlpActivation::gelu: return "gelu";
    case MlpActivation::tanh: return "tanh";
    case MlpActivation::sigmoid: return "sigmoid";
    case MlpActivation::leaky_relu: return "leaky_relu";
    default: return "relu";
  }
}

namespace detail {

template <Real T>
std::shared_ptr<nn::Module<T>> make_activation(MlpActivation a) {
  switch (a) {
    case MlpActivation::gelu: return std::make_shared<nn::GELU<T>>();
    case MlpActivation::tanh: return std::make_shared<nn::Tanh<T>>();
    case MlpActivation::sigmoid: return std::make_shared<nn::Sigmoid<T>>();
    case MlpActivation::leaky_relu: return std::make_shared<nn::LeakyReLU<T>>();
    default: return std::make_shared<nn::ReLU<T>>();
  }
}

/// What a `LayerStack` is built from: `sizes` = {d_0, d_1, ..., d_L} gives L Linear layers d_{i-1} -> d_i.
struct LayerStackSpec {
  std::vector<Index> sizes;
  MlpActivation activation = MlpActivation::relu;
  bool batch_norm = false;        ///< BatchNorm1d after every hidden Linear, before its activation
  bool bias = true;               ///< Linear biases
  bool activate_last = false;     ///< a (batch norm and) activation after the last Linear too
};

/// A chain of modules registered as children "0", "1", ... in order, exactly as `nn.Sequential(Linear,
/// [BatchNorm1d,] activation, Linear, ...)` numbers them (activations and batch norms take an index too), so
/// that `0.weight`, `1.running_mean`, `3.bias`, ... are the keys PyTorch gives. Input [N, d_0], output [N, d_L].
/// The base of `Mlp` and of the heads; `Derived` is the concrete class (for `clone()`).
template <class Derived, Real T>
class LayerStack : public nn::Cloneable<Derived, T> {
 public:
  Var<T> forward(const Var<T>& x) override {
    check<ShapeError>(x.shape().rank() == 2 && x.dim(1) == spec_.sizes.front(), this->type_name(),
                      ": input of shape ", x.shape(), " is not [N, ", spec_.sizes.front(), "]");
    Var<T> y = x;
    for (std::size_t i = 0; i < this->num_children(); ++i) y = this->child_at(i).forward(y);
    return y;
  }

  /// d_0, the size of an input row.
  Index input_dim() const { return spec_.sizes.front(); }
  /// d_L, the size of an output row.
  Index output_dim() const { return spec_.sizes.back(); }

 protected:
  LayerStack() = default;
  LayerStack(const LayerStack&) = default;

  /// Builds the layers, drawing the Linear weights (then biases) from `rng` in order. Called from the
  /// constructor of `Derived` (registration names the module, which needs the concrete class).
  void build(const char* who, LayerStackSpec spec, Rng& rng) {
    spec_ = std::move(spec);
    check(spec_.sizes.size() >= 2, who, ": needs at least 2 sizes (input and output), got ", spec_.sizes.size());
    for (std::size_t i = 0; i < spec_.sizes.size(); ++i)
      check(spec_.sizes[i] > 0, who, ": size ", i, " is ", spec_.sizes[i], ", sizes must be positive");
    const std::size_t layers = spec_.sizes.size() - 1;
    for (std::size_t i = 0; i < layers; ++i) {
      add(std::make_shared<nn::Linear<T>>(
          nn::LinearOptions{.in_features = spec_.sizes[i], .out_features = spec_.sizes[i + 1], .bias = spec_.bias},
          rng));
      if (i + 1 == layers && !spec_.activate_last) break;
      if (spec_.batch_norm) {
        nn::BatchNormOptions bn;
        bn.num_features = spec_.sizes[i + 1];
        add(std::make_shared<nn::BatchNorm1d<T>>(bn));
      }
      add(make_activation<T>(spec_.activation));
    }
  }

  const LayerStackSpec& spec() const { return spec_; }
  std::string stack_repr() const {
    std::string s = "sizes=[";
    for (std::size_t i = 0; i < spec_.sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(spec_.sizes[i]);
    return s + "], activation=" + to_string(spec_.activation) + ", batch_norm=" + (spec_.batch_norm ? "true" : "false");
  }

 private:
  void add(std::shared_ptr<nn::Module<T>> m) { this->register_module(std::to_string(this->num_children()), std::move(m)); }

  LayerStackSpec spec_;
};

}  // namespace detail

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
class Mlp : public detail::LayerStack<Mlp<T>, T> {
 public:
  Mlp(const MlpOptions& o, Rng& rng) : options_(o) {
    this->build("Mlp",
                {.sizes = o.sizes, .activation = o.activation, .batch_norm = o.batch_norm, .bias = o.bias,
                 .activate_last = o.activate_last},
                rng);
  }
  Mlp(const Mlp&) = default;

  std::string type_name() const override { return "Mlp"; }
  std::string extra_repr() const override { return this->stack_repr(); }
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_MLP(P, T) \
  P template class Mlp<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_MLP)

}  // namespace simile::encoders
