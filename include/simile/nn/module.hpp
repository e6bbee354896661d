#pragma once
/// \file
/// `Module<T>`: the base of every layer and network. A module owns three kinds of state, kept apart:
/// - parameters: trainable `Var<T>` leaves (`requires_grad`), e.g. a Linear's `weight` and `bias`;
/// - buffers: `Tensor<T>` state that is saved but not trained, e.g. BatchNorm's `running_mean`;
/// - children: sub-modules;
/// each registered under a name, so that the keys of `named_parameters()`, `named_buffers()` and
/// `state_dict()` are stable dotted paths in registration order (`layer1.0.conv1.weight`), the same as
/// PyTorch's for the standard layers. Configuration (the options a module was built with) lives in the
/// concrete module, outside the registry.
///
/// Handles: copying a module object, like copying a `Var` or a `Tensor`, shares its parameters, buffers
/// and children. `clone()` makes a deep copy: a new tree with its own storage for every parameter and
/// buffer (MoCo's key encoder and BYOL's target network start as clones of the online network).
///
/// Writing a module: derive from `Cloneable<MyModule<T>, T>`, register state in the constructor and keep
/// the returned ids (`ParameterId`, `BufferId`, `ChildId<M>`), never Var, Tensor or module handles of
/// the module's own state: ids stay valid in a clone, handles would still point at the original.
/// Read state in `forward` with `get(id)`.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/tensor.hpp"

namespace simile::nn {

/// A parameter's place in the registry of the module that registered it (survives `clone()`).
struct ParameterId {
  /// Position in the module's own parameter list (registration order), not in `parameters()`.
  std::size_t index = 0;
};
/// A buffer's place in the registry of the module that registered it (survives `clone()`).
struct BufferId {
  /// Position in the module's own buffer list (registration order).
  std::size_t index = 0;
};
/// A child's place in the registry of its parent, typed with the child's concrete class.
template <class M>
struct ChildId {
  /// Position in the parent's list of direct children (registration order).
  std::size_t index = 0;
};

/// Parameters by dotted name, in registration order.
template <Real T>
using NamedParameters = std::vector<std::pair<std::string, Var<T>>>;
/// Tensors by dotted name, in registration order: buffers, or a state dict (parameters and buffers).
template <Real T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

/// The base of every layer and network: a registry of named parameters, buffers and children, a
/// training flag, and `forward`. Copying shares the registry (a handle); `clone()` is the deep copy. A
/// concrete module derives from `Cloneable<Derived, T>` (see the file's description).
template <Real T>
class Module {
 public:
  /// The element type of the module's parameters and of its input and output (float or double).
  using Scalar = T;

  virtual ~Module() = default;
  Module& operator=(const Module&) = delete;

  /// The module's computation. Shapes and formula: see each layer.
  virtual Var<T> forward(const Var<T>& x) = 0;
  /// `forward(x)`, so that a module is called like a function: `y = linear(x)`.
  Var<T> operator()(const Var<T>& x) { return forward(x); }

  /// The module's class name ("Linear"), for messages and `to_string()`.
  virtual std::string type_name() const = 0;
  /// The module's configuration in one line ("in_features=4, out_features=2, bias=true").
  virtual std::string extra_repr() const { return {}; }

  /// Every parameter of this module and its descendants, in `named_parameters()` order.
  std::vector<Var<T>> parameters() const {
    std::vector<Var<T>> out;
    for (auto& [name, p] : named_parameters()) out.push_back(p);
    return out;
  }
  /// (dotted path, parameter) for this module and its descendants: own parameters in registration
  /// order, then each child's in registration order. A parameter reachable twice (tied weights) is
  /// listed once, under its first path.
  NamedParameters<T> named_parameters() const {
    NamedParameters<T> out;
    std::unordered_set<const void*> seen;
    visit("", [&](const std::string& prefix, const Module& m) {
      for (auto& [name, p] : m.parameters_)
        if (seen.insert(p.node()).second) out.emplace_back(prefix + name, p);
    });
    return out;
  }
  /// (dotted path, buffer) for this module and its descendants, in the same order; listed once each.
  NamedTensors<T> named_buffers() const {
    NamedTensors<T> out;
    std::unordered_set<const void*> seen;
    visit("", [&](const std::string& prefix, const Module& m) {
      for (auto& [name, b] : m.buffers_)
        if (seen.insert(b.data()).second) out.emplace_back(prefix + name, b);
    });
    return out;
  }
  /// The direct children, (name, module), in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }

  /// Every parameter value and buffer by dotted path, PyTorch's order (per module: its parameters,
  /// then its buffers, then its children). The tensors share storage with the module: clone them to
  /// keep a snapshot. Tied tensors appear under each of their paths, as in PyTorch.
  NamedTensors<T> state_dict() const {
    NamedTensors<T> out;
    visit("", [&](const std::string& prefix, const Module& m) {
      for (auto& [name, p] : m.parameters_) out.emplace_back(prefix + name, p.value());
      for (auto& [name, b] : m.buffers_) out.emplace_back(prefix + name, b);
    });
    return out;
  }
  /// Copies `state` into this module's parameters and buffers in place (so optimizers holding the
  /// parameters keep working). Every key of `state_dict()` must be present with the same shape;
  /// with `strict`, `state` may hold no other key. Throws ValueError (key) or ShapeError (shape).
  void load_state_dict(const NamedTensors<T>& state, bool strict = true) {
    std::unordered_map<std::string_view, const Tensor<T>*> given;
    for (auto& [name, t] : state) {
      check(given.emplace(name, &t).second, "Module::load_state_dict: key \"", name, "\" given twice");
    }
    NamedTensors<T> own = state_dict();
    for (auto& [name, dst] : own) {
      auto it = given.find(name);
      check(it != given.end(), "Module::load_state_dict: missing key \"", name, "\" for ", type_name());
      check<ShapeError>(it->second->shape() == dst.shape(), "Module::load_state_dict: \"", name, "\" has shape ",
                        it->second->shape(), ", expected ", dst.shape());
    }
    if (strict) {
      std::unordered_set<std::string_view> expected;
      for (auto& [name, dst] : own) expected.insert(name);
      for (auto& [name, t] : state)
        check(expected.count(name) != 0, "Module::load_state_dict: unexpected key \"", name, "\" for ",
              type_name());
    }
    for (auto& [name, dst] : own) given.at(name)->copy_to(dst);
  }
  /// Copies the values of every parameter and buffer of `other`, a module of the same structure
  /// (same keys and shapes), into this one in place (a target network starting from the online one).
  void copy_state_from(const Module& other) {
    NamedTensors<T> src = other.state_dict();
    NamedTensors<T> dst = state_dict();
    check(src.size() == dst.size(), "Module::copy_state_from: ", other.type_name(), " has ", src.size(),
          " tensors, this ", type_name(), " has ", dst.size());
    for (std::size_t i = 0; i < dst.size(); ++i) {
      check(src[i].first == dst[i].first, "Module::copy_state_from: key \"", src[i].first, "\" where \"",
            dst[i].first, "\" was expected");
      check<ShapeError>(src[i].second.shape() == dst[i].second.shape(), "Module::copy_state_from: \"",
                        dst[i].first, "\" has shape ", src[i].second.shape(), ", expected ",
                        dst[i].second.shape());
    }
    for (std::size_t i = 0; i < dst.size(); ++i) src[i].second.copy_to(dst[i].second);
  }

  /// The parameter at a dotted path (`layer1.0.conv1.weight`). Throws ValueError when there is none.
  Var<T> parameter(std::string_view path) const {
    auto [m, leaf] = walk("Module::parameter", path);
    for (auto& [name, p] : m->parameters_)
      if (name == leaf) return p;
    throw ValueError(simile::detail::str("Module::parameter: no parameter \"", path, "\" in ", type_name()));
  }
  /// The buffer at a dotted path (`bn1.running_mean`). Throws ValueError when there is none.
  Tensor<T> buffer(std::string_view path) const {
    auto [m, leaf] = walk("Module::buffer", path);
    for (auto& [name, b] : m->buffers_)
      if (name == leaf) return b;
    throw ValueError(simile::detail::str("Module::buffer: no buffer \"", path, "\" in ", type_name()));
  }
  /// The descendant at a dotted path (`layer1.0`). Throws ValueError when there is none.
  std::shared_ptr<Module> child(std::string_view path) const {
    const Module* m = this;
    std::shared_ptr<Module> found;
    while (!path.empty()) {
      std::size_t dot = path.find('.');
      std::string_view head = path.substr(0, dot);
      found = m->find_child(head);
      check(found != nullptr, "Module::child: no child \"", head, "\" in ", m->type_name());
      m = found.get();
      path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    }
    check(found != nullptr, "Module::child: empty path");
    return found;
  }

  /// Puts this module and its descendants in training mode (`on`) or evaluation mode (`!on`): it
  /// changes what BatchNorm and Dropout do.
  void train(bool on = true) {
    training_ = on;
    for (auto& [name, c] : children_) c->train(on);
  }
  /// Evaluation mode for this module and its descendants: `train(false)`.
  void eval() { train(false); }
  /// True in training mode (the default for a new module), false after `eval()` or `train(false)`.
  bool is_training() const { return training_; }

  /// Makes every parameter of this module and its descendants trainable (`on`) or frozen (`!on`): a
  /// frozen parameter accumulates no gradient and costs no backward work.
  void requires_grad(bool on) {
    for (auto& [name, p] : parameters_) p.set_requires_grad(on);
    for (auto& [name, c] : children_) c->requires_grad(on);
  }
  /// Drops every parameter's gradient (the next backward starts from zero).
  void zero_grad() {
    for (auto& [name, p] : parameters_) p.zero_grad();
    for (auto& [name, c] : children_) c->zero_grad();
  }
  /// Number of parameter elements.
  Index num_parameters() const {
    Index n = 0;
    for (auto& [name, p] : named_parameters()) n += p.numel();
    return n;
  }

  /// A deep copy: a new module tree of the same classes and configuration with its own storage for
  /// every parameter (same values and `requires_grad`, no gradient) and buffer. Sharing inside the tree
  /// (tied weights, a child registered twice) is preserved; nothing is shared with the original.
  std::shared_ptr<Module> clone() const {
    CloneMemo memo;
    return clone_with(memo);
  }

  /// The tree in PyTorch's print format.
  std::string to_string() const {
    std::string s = type_name() + "(" + extra_repr();
    if (children_.empty()) return s + ")";
    s += "\n";
    for (auto& [name, c] : children_) {
      std::string sub = c->to_string();
      std::string indented;
      for (char ch : sub) indented += ch == '\n' ? std::string("\n  ") : std::string(1, ch);
      s += "  (" + name + "): " + indented + "\n";
    }
    return s + ")";
  }

 protected:
  Module() = default;
  /// Shares the registry (what copying a handle means); `clone()` deepens it afterwards.
  Module(const Module&) = default;

  /// Registers a trainable leaf holding `value` under `name` (no '.', unique in this module).
  ParameterId register_parameter(std::string name, Tensor<T> value, bool requires_grad = true) {
    check_new_name("Module::register_parameter", name);
    check(value.defined(), "Module::register_parameter: \"", name, "\" of ", type_name(), " has no value");
    parameters_.emplace_back(std::move(name), Var<T>(std::move(value), requires_grad));
    return {parameters_.size() - 1};
  }
  /// Registers a buffer (saved, not trained) under `name` (no '.', unique in this module).
  BufferId register_buffer(std::string name, Tensor<T> value) {
    check_new_name("Module::register_buffer", name);
    check(value.defined(), "Module::register_buffer: \"", name, "\" of ", type_name(), " has no value");
    buffers_.emplace_back(std::move(name), std::move(value));
    return {buffers_.size() - 1};
  }
  /// Registers a child module under `name` (no '.', unique in this module).
  template <class M>
    requires std::derived_from<M, Module>
  ChildId<M> register_module(std::string name, std::shared_ptr<M> module) {
    check_new_name("Module::register_module", name);
    check(module != nullptr, "Module::register_module: \"", name, "\" of ", type_name(), " is null");
    children_.emplace_back(std::move(name), std::move(module));
    return {children_.size() - 1};
  }

  /// \name Registered state by id
  /// What `forward` reads: the parameter, buffer or child registered with the id returned by
  /// `register_parameter`, `register_buffer` or `register_module` (the clone's own in a clone). The id
  /// must come from this module's class; it is not checked.
  ///@{
  /// The parameter (a trainable leaf) with id `id`.
  const Var<T>& get(ParameterId id) const { return parameters_[id.index].second; }
  /// The buffer with id `id`; its storage is the module's, so writing to it updates the buffer.
  const Tensor<T>& get(BufferId id) const { return buffers_[id.index].second; }
  /// The child with id `id`, as its concrete class `M`.
  template <class M>
  M& get(ChildId<M> id) const {
    return static_cast<M&>(*children_[id.index].second);
  }
  ///@}
  /// Number of direct children (not descendants).
  std::size_t num_children() const { return children_.size(); }
  /// The `i`-th direct child in registration order; `i < num_children()` is required, not checked.
  Module& child_at(std::size_t i) const { return *children_[i].second; }

 private:
  struct CloneMemo {
    std::unordered_map<const void*, Var<T>> parameters;
    std::unordered_map<const void*, Tensor<T>> buffers;
    std::unordered_map<const void*, std::shared_ptr<Module>> modules;
  };

  /// A new object of the concrete class sharing this one's registry (see `Cloneable`).
  virtual std::shared_ptr<Module> shallow_copy() const = 0;

  std::shared_ptr<Module> clone_with(CloneMemo& memo) const {
    if (auto it = memo.modules.find(this); it != memo.modules.end()) return it->second;
    std::shared_ptr<Module> copy = shallow_copy();
    memo.modules.emplace(this, copy);
    for (auto& [name, p] : copy->parameters_) {
      auto [it, fresh] = memo.parameters.try_emplace(p.node());
      if (fresh) it->second = Var<T>(p.value().clone(), p.requires_grad());
      p = it->second;
    }
    for (auto& [name, b] : copy->buffers_) {
      auto [it, fresh] = memo.buffers.try_emplace(b.data());
      if (fresh) it->second = b.clone();
      b = it->second;
    }
    for (auto& [name, c] : copy->children_) c = c->clone_with(memo);
    return copy;
  }

  /// Calls f(prefix, module) on this module and its descendants, depth first in registration order.
  template <class F>
  void visit(const std::string& prefix, F&& f) const {
    f(prefix, *this);
    for (auto& [name, c] : children_) c->visit(prefix + name + ".", f);
  }

  std::shared_ptr<Module> find_child(std::string_view name) const {
    for (auto& [n, c] : children_)
      if (n == name) return c;
    return nullptr;
  }

  /// The module owning the last component of `path`, and that component.
  std::pair<const Module*, std::string_view> walk(const char* fn, std::string_view path) const {
    const Module* m = this;
    for (std::size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.')) {
      std::shared_ptr<Module> c = m->find_child(path.substr(0, dot));
      check(c != nullptr, fn, ": no child \"", path.substr(0, dot), "\" in ", m->type_name());
      m = c.get();
      path = path.substr(dot + 1);
    }
    return {m, path};
  }

  void check_new_name(const char* fn, const std::string& name) const {
    check(!name.empty() && name.find('.') == std::string::npos, fn, ": name \"", name, "\" of ", type_name(),
          " must be non-empty and contain no '.'");
    auto taken = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
    };
    check(!taken(parameters_) && !taken(buffers_) && !taken(children_), fn, ": name \"", name,
          "\" already registered in ", type_name());
  }

  std::vector<std::pair<std::string, Var<T>>> parameters_;
  std::vector<std::pair<std::string, Tensor<T>>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// The base a concrete module derives from, `class Linear : public Cloneable<Linear<T>, T>`: it gives
/// `Module::clone()` the concrete class (through its copy constructor) and a typed `clone()`.
template <class Derived, Real T>
class Cloneable : public Module<T> {
 public:
  /// A deep copy with the concrete type (see `Module::clone`).
  std::shared_ptr<Derived> clone() const { return std::static_pointer_cast<Derived>(Module<T>::clone()); }

 protected:
  Cloneable() = default;
  /// Shares the registry, as `Module`'s copy constructor does; `shallow_copy` uses it, `clone()` deepens it.
  Cloneable(const Cloneable&) = default;

 private:
  std::shared_ptr<Module<T>> shallow_copy() const final {
    return std::make_shared<Derived>(static_cast<const Derived&>(*this));
  }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_MODULE(P, T) \
  P template class Module<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_MODULE)

}  // namespace simile::nn
