#pragma once
/// \file
/// Containers: `Sequential` chains modules (numbered or named children), `Identity` passes its input
/// through (what replaces a classifier head when an encoder's representation h is wanted).

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"

namespace simile::nn {

/// y = m_{n-1}( ... m_1(m_0(x))). Children appended with `push_back` are named by their position "0",
/// "1", ..., so their parameters appear as `0.weight`, `2.bias`, ... as in PyTorch's `nn.Sequential`;
/// children appended with `add(name, m)` keep their name, as `nn.Sequential(OrderedDict(...))` does, so
/// a recipe's model of an encoder and a projector has keys `encoder.conv1.weight`, `projector.0.weight`.
/// An empty Sequential is the identity.
template <Real T>
class Sequential : public Cloneable<Sequential<T>, T> {
 public:
  Sequential() = default;
  /// @{
  /// The modules in order, registered as children "0", "1", ... (`push_back` each).
  Sequential(std::initializer_list<std::shared_ptr<Module<T>>> modules) {
    for (const auto& m : modules) push_back(m);
  }
  explicit Sequential(const std::vector<std::shared_ptr<Module<T>>>& modules) {
    for (const auto& m : modules) push_back(m);
  }
  /// @}

  /// Appends `module` under the name of its position.
  Sequential& push_back(std::shared_ptr<Module<T>> module) {
    check(module != nullptr, "Sequential::push_back: null module at position ", size());
    this->register_module(std::to_string(size()), std::move(module));
    return *this;
  }
  /// Appends `module` under `name` (a name already taken, or a null module, throws ValueError).
  Sequential& add(std::string name, std::shared_ptr<Module<T>> module) {
    check(module != nullptr, "Sequential::add: null module \"", name, "\" at position ", size());
    this->register_module(std::move(name), std::move(module));
    return *this;
  }

  Var<T> forward(const Var<T>& x) override {
    Var<T> y = x;
    for (std::size_t i = 0; i < size(); ++i) y = this->child_at(i).forward(y);
    return y;
  }

  /// Number of modules.
  std::size_t size() const { return this->num_children(); }
  /// True with no module (`forward` then returns its input).
  bool empty() const { return size() == 0; }
  /// The module at position `i`. Throws ValueError when out of range.
  Module<T>& operator[](std::size_t i) const {
    check(i < size(), "Sequential: index ", i, " out of range for ", size(), " modules");
    return this->child_at(i);
  }

  std::string type_name() const override { return "Sequential"; }
};

/// y = x, for any shape (the gradient passes through unchanged).
template <Real T>
class Identity : public Cloneable<Identity<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

}  // namespace simile::nn

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_SEQUENTIAL(P, T) \
  P template class nn::Sequential<T>; \
  P template class nn::Identity<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_SEQUENTIAL)
}  // namespace simile
