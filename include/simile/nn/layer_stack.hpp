#pragma once
/// \file
/// `LayerStack`: a chain of Linear layers (with batch norms and activations between them) registered as
/// children "0", "1", ... as `nn.Sequential` numbers them. The base of `encoders::Mlp` and of the
/// projection and prediction heads (`heads/`), so that all three have `nn.Sequential`'s parameter names.

#include <memory>
#include <string>
#include <vector>

#include "simile/nn/activation.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/module.hpp"

namespace simile::nn {

/// The nonlinearity between the layers of an MLP.
enum class MlpActivation { relu, gelu, tanh, sigmoid, leaky_relu };

/// The activation's name as the command-line tool spells it: "relu", "gelu", "tanh", "sigmoid", "leaky_relu".
inline const char* to_string(MlpActivation a) {
  switch (a) {
    case MlpActivation::gelu: return "gelu";
    case MlpActivation::tanh: return "tanh";
    case MlpActivation::sigmoid: return "sigmoid";
    case MlpActivation::leaky_relu: return "leaky_relu";
    default: return "relu";
  }
}

namespace layer_stack_detail {
template <Real T>
std::shared_ptr<Module<T>> make_activation(MlpActivation a) {
  switch (a) {
    case MlpActivation::gelu: return std::make_shared<nn::GELU<T>>();
    case MlpActivation::tanh: return std::make_shared<nn::Tanh<T>>();
    case MlpActivation::sigmoid: return std::make_shared<nn::Sigmoid<T>>();
    case MlpActivation::leaky_relu: return std::make_shared<nn::LeakyReLU<T>>();
    default: return std::make_shared<nn::ReLU<T>>();
  }
}
}  // namespace layer_stack_detail

/// What a `LayerStack` is built from: `sizes` = {d_0, d_1, ..., d_L} gives L Linear layers d_{i-1} -> d_i.
struct LayerStackSpec {
  std::vector<Index> sizes;                        ///< d_0 .. d_L, at least two, all positive
  MlpActivation activation = MlpActivation::relu;  ///< the nonlinearity after each hidden Linear (and BN)
  bool batch_norm = false;        ///< BatchNorm1d after every hidden Linear, before its activation
  bool bias = true;               ///< Linear biases
  bool activate_last = false;     ///< a (batch norm and) activation after the last Linear too
};

/// A chain of modules registered as children "0", "1", ... in order, exactly as `nn.Sequential(Linear,
/// [BatchNorm1d,] activation, Linear, ...)` numbers them (activations and batch norms take an index too), so
/// that `0.weight`, `1.running_mean`, `3.bias`, ... are the keys PyTorch gives. Input [N, d_0], output [N, d_L].
/// The base of `encoders::Mlp` and of the heads; `Derived` is the concrete class (for `clone()`).
template <class Derived, Real T>
class LayerStack : public nn::Cloneable<Derived, T> {
 public:
  /// The layers in order: x [N, d_0] -> [N, d_L]. Throws ShapeError for any other input shape.
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
  /// Shares the layers (a handle copy, see `Module`); `clone()` deepens it.
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
      add(layer_stack_detail::make_activation<T>(spec_.activation));
    }
  }

  /// The spec the layers were built from.
  const LayerStackSpec& spec() const { return spec_; }
  /// "sizes=[d_0, ..., d_L], activation=relu, batch_norm=true": the part of `extra_repr()` the stack gives.
  std::string stack_repr() const {
    std::string s = "sizes=[";
    for (std::size_t i = 0; i < spec_.sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(spec_.sizes[i]);
    return s + "], activation=" + to_string(spec_.activation) + ", batch_norm=" + (spec_.batch_norm ? "true" : "false");
  }

 private:
  void add(std::shared_ptr<nn::Module<T>> m) { this->register_module(std::to_string(this->num_children()), std::move(m)); }

  LayerStackSpec spec_;
};

}  // namespace simile::nn
