#pragma once
/// \file
/// `Optimizer<T>`: the base of the optimizers, over parameter groups that each carry their own options
/// (a learning rate per group, weight decay off for biases and normalization parameters, ...).
///
/// - `step()` updates every parameter that has a gradient, in place, under `NoGradGuard`; parameters
///   without a gradient (unused in this step, or frozen) are left alone, as in PyTorch. Updates run in
///   parallel over elements for large tensors and allocate nothing after the first step (per-parameter
///   state such as momentum is created on first use and reused).
/// - Optimizers are not copyable (they hold state about parameters they do not own).
/// - State is explicit: `state()` returns a snapshot (step count, each group's learning rate, and the
///   per-parameter tensors named `<index>.<slot>`, e.g. `3.exp_avg`, where index counts parameters over
///   the groups in order, as PyTorch's `state_dict`); `load_state()` restores it, after which the
///   optimizer continues exactly as the one that was saved.
/// - Schedules live outside (see `optim/schedule.hpp`); they call `set_lr(group, value)`.

#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/nn/module.hpp"

namespace simile::optim {

/// Elements per parallel chunk in the update loops.
inline constexpr Index update_grain = 1 << 15;

/// Parameters updated with the same options.
template <Real T, class Options>
struct ParamGroup {
  std::vector<Var<T>> params;  ///< leaves (handles shared with their module), each in one group only
  Options options;             ///< the group's learning rate, weight decay, ...
};

/// A snapshot of an optimizer's state (see the file comment for the names).
template <Real T>
struct OptimizerState {
  std::int64_t steps = 0;                                          ///< calls of step() so far
  std::vector<double> lr;                                          ///< learning rate of each group
  std::vector<std::pair<std::string, Tensor<T>>> tensors;          ///< `<index>.<slot>`, own storage
  std::vector<std::pair<std::string, std::int64_t>> counters;      ///< `<index>.step` where counted
};

/// What an optimizer keeps about one parameter: its slot tensors (undefined until first used) and the
/// number of updates it received.
template <Real T>
struct ParamState {
  std::vector<Tensor<T>> slots;  ///< one per `slot_names()` entry, in that order
  std::int64_t step = 0;         ///< updates this parameter received (steps where it had a gradient)
};

/// The base of the optimizers (SGD, Adam/AdamW, LARS): parameter groups, `step()`, the learning rate of
/// each group, and the state snapshot (see the file comment). Not copyable.
template <Real T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// The optimizer's name ("SGD"), for messages.
  virtual const char* name() const = 0;

  /// One update of every parameter that has a gradient.
  void step() {
    NoGradGuard no_grad;
    std::size_t k = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g)
      for (const Var<T>& p : groups_[g]) {
        ParamState<T>& s = state_[k++];
        if (!p.has_grad()) continue;
        check<ShapeError>(p.grad().shape() == p.shape(), name(), "::step: gradient of shape ", p.grad().shape(),
                          " for a parameter of shape ", p.shape());
        ++s.step;
        update(g, k - 1, p.value(), p.grad(), s);
      }
    ++steps_;
  }
  /// Drops the gradient of every parameter in every group.
  void zero_grad() {
    for (auto& group : groups_)
      for (const Var<T>& p : group) p.zero_grad();
  }

  /// Number of parameter groups.
  std::size_t num_groups() const { return groups_.size(); }
  /// The parameters of `group`; throws std::out_of_range when `group >= num_groups()`.
  const std::vector<Var<T>>& params(std::size_t group) const { return groups_.at(group); }
  /// Parameters over all groups.
  std::size_t num_params() const { return state_.size(); }
  /// Calls of `step()` so far (restored by `load_state`).
  std::int64_t steps() const { return steps_; }

  /// The learning rate of `group`.
  virtual double lr(std::size_t group) const = 0;
  /// Sets the learning rate of `group` (a schedule's job). Requires a finite lr >= 0.
  virtual void set_lr(std::size_t group, double lr) = 0;

  /// A snapshot of the state, with its own storage.
  OptimizerState<T> state() const {
    OptimizerState<T> out;
    out.steps = steps_;
    for (std::size_t g = 0; g < groups_.size(); ++g) out.lr.push_back(lr(g));
    std::vector<std::string> slots = slot_names();
    for (std::size_t k = 0; k < state_.size(); ++k) {
      for (std::size_t j = 0; j < slots.size(); ++j)
        if (state_[k].slots[j].defined())
          out.tensors.emplace_back(std::to_string(k) + "." + slots[j], state_[k].slots[j].clone());
      if (counts_steps() && state_[k].step > 0) out.counters.emplace_back(std::to_string(k) + ".step", state_[k].step);
    }
    return out;
  }
  /// Restores a snapshot taken from an optimizer of the same kind over parameters of the same shapes
  /// in the same groups. Throws ValueError (names, counts), ShapeError (shapes) or NumericError (a slot
  /// that is not finite, a negative second moment) and then changes nothing.
  void load_state(const OptimizerState<T>& s) {
    check(s.lr.size() == groups_.size(), name(), "::load_state: state has ", s.lr.size(), " groups, the optimizer ",
          groups_.size());
    check(s.steps >= 0, name(), "::load_state: negative step count ", s.steps);
    std::vector<std::string> slots = slot_names();
    std::vector<ParamState<T>> fresh(state_.size(), ParamState<T>{std::vector<Tensor<T>>(slots.size()), 0});
    std::vector<Var<T>> flat;
    for (auto& group : groups_) flat.insert(flat.end(), group.begin(), group.end());
    for (auto& [key, t] : s.tensors) {
      auto [k, slot] = parse_key("load_state", key);
      std::size_t j = 0;
      while (j < slots.size() && slots[j] != slot) ++j;
      check(j < slots.size(), name(), "::load_state: unknown slot in \"", key, "\"");
      check<ShapeError>(t.shape() == flat[k].shape(), name(), "::load_state: \"", key, "\" has shape ", t.shape(),
                        ", parameter ", k, " has shape ", flat[k].shape());
      check(!fresh[k].slots[j].defined(), name(), "::load_state: \"", key, "\" given twice");
      check<NumericError>(t.array().isFinite().all(), name(), "::load_state: \"", key, "\" holds a NaN or infinity");
      // Second moments (slots named `*_sq`, e.g. Adam's exp_avg_sq) are averages of squares.
      check<NumericError>(slot.size() < 3 || slot.compare(slot.size() - 3, 3, "_sq") != 0 || (t.array() >= T(0)).all(),
                          name(), "::load_state: \"", key, "\" holds a negative second moment");
      fresh[k].slots[j] = t.clone();
    }
    for (auto& [key, n] : s.counters) {
      auto [k, slot] = parse_key("load_state", key);
      check(counts_steps() && slot == "step", name(), "::load_state: unknown counter \"", key, "\"");
      check(n >= 0, name(), "::load_state: counter \"", key, "\" is negative (", n, ")");
      fresh[k].step = n;
    }
    for (std::size_t g = 0; g < groups_.size(); ++g)
      check(std::isfinite(s.lr[g]) && s.lr[g] >= 0, name(), "::load_state: lr ", s.lr[g], " of group ", g,
            " must be finite and >= 0");
    state_ = std::move(fresh);
    steps_ = s.steps;
    for (std::size_t g = 0; g < groups_.size(); ++g) set_lr(g, s.lr[g]);
  }

 protected:
  Optimizer() = default;

  /// Adds a group's parameters: each a defined leaf, none already in the optimizer.
  void add_params(const std::vector<Var<T>>& params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Var<T>& p = params[i];
      check(p.defined(), name(), ": parameter ", i, " of group ", groups_.size(), " is undefined");
      check(p.node()->is_leaf(), name(), ": parameter ", i, " of group ", groups_.size(),
            " is not a leaf (made by ", p.op(), ")");
      check(seen_.insert(p.node()).second, name(), ": parameter ", i, " of group ", groups_.size(),
            " appears in more than one place");
    }
    groups_.push_back(params);
    state_.resize(state_.size() + params.size(), ParamState<T>{std::vector<Tensor<T>>(slot_names().size()), 0});
  }

  /// Names of the per-parameter state tensors, in slot order ("momentum_buffer").
  virtual std::vector<std::string> slot_names() const = 0;
  /// Whether `ParamState::step` is part of the state (Adam's bias correction counts per parameter).
  virtual bool counts_steps() const { return false; }
  /// Updates `value`, parameter `index` over all groups, in place from `grad` with the options of
  /// `group`; `s.step` already counts this update (1 at the parameter's first).
  virtual void update(std::size_t group, std::size_t index,
              const Tensor<T>& value, const Tensor<T>& grad, ParamState<T>& s) = 0;

 private:
  std::pair<std::size_t, std::string> parse_key(const char* fn, const std::string& key) const {
    std::size_t dot = key.find('.');
    std::size_t k = 0;
    bool digits = dot != std::string::npos && dot > 0;
    for (std::size_t i = 0; digits && i < dot; ++i) {
      digits = key[i] >= '0' && key[i] <= '9';
      if (digits) k = k * 10 + static_cast<std::size_t>(key[i] - '0');
      digits = digits && k <= state_.size();
    }
    check(digits && k < state_.size(), name(), "::", fn, ": key \"", key, "\" does not name one of the ",
          state_.size(), " parameters");
    return {k, key.substr(dot + 1)};
  }

  std::vector<std::vector<Var<T>>> groups_;
  std::vector<ParamState<T>> state_;  ///< one per parameter, groups in order
  std::unordered_set<const void*> seen_;
  std::int64_t steps_ = 0;
};

/// An optimizer whose groups all carry `Options` (with a field `double lr`): group bookkeeping for the
/// concrete optimizers. `validate(options, who)` is a free function found for `Options`.
template <Real T, class Options>
class GroupedOptimizer : public Optimizer<T> {
 public:
  /// Appends a group; its options are validated.
  void add_param_group(const ParamGroup<T, Options>& group) {
    validate(group.options, this->name());
    this->add_params(group.params);
    options_.push_back(group.options);
  }
  /// The options of `group`; throws std::out_of_range when `group >= num_groups()`.
  const Options& options(std::size_t group) const { return options_.at(group); }
  /// Replaces the options of `group` (validated).
  void set_options(std::size_t group, const Options& o) {
    check(group < options_.size(), this->name(), "::set_options: group ", group, " of ", options_.size());
    validate(o, this->name());
    options_[group] = o;
  }
  /// `options(group).lr`.
  double lr(std::size_t group) const override { return options(group).lr; }
  /// Sets `options(group).lr`. Throws ValueError for a group out of range or an lr that is not finite
  /// and >= 0.
  void set_lr(std::size_t group, double lr) override {
    check(group < options_.size(), this->name(), "::set_lr: group ", group, " of ", options_.size());
    check(std::isfinite(lr) && lr >= 0, this->name(), "::set_lr: lr ", lr, " of group ", group,
          " must be finite and >= 0");
    options_[group].lr = lr;
  }

 protected:
  GroupedOptimizer() = default;
  /// Adds `groups` in order (`add_param_group` each): what a concrete optimizer's constructor calls.
  void init_groups(const std::vector<ParamGroup<T, Options>>& groups) {
    for (const auto& g : groups) add_param_group(g);
  }

 private:
  std::vector<Options> options_;
};

/// Parameters split by `exclude(name, param)`: the regular ones and the excluded ones (by default the
/// parameters of rank <= 1: biases and normalization weights), in `named_parameters()` order.
template <Real T>
struct ParamSplit {
  std::vector<Var<T>> regular;   ///< where `exclude` said false: weight decay and adaptation apply
  std::vector<Var<T>> excluded;  ///< where `exclude` said true
};

/// The default exclusion rule of SimCLR, BYOL and most LARS/AdamW recipes: 1-D parameters (biases,
/// BatchNorm/LayerNorm weights and biases) take no weight decay and no layer adaptation.
struct ExcludeOneDimensional {
  /// True when `p` has rank 0 or 1 (the name is not looked at).
  template <Real T>
  bool operator()(const std::string&, const Var<T>& p) const {
    return p.shape().rank() <= 1;
  }
};

/// Splits named parameters (a module's `named_parameters()`) with `exclude`.
template <Real T, class Exclude = ExcludeOneDimensional>
ParamSplit<T> split_params(const nn::NamedParameters<T>& named, Exclude exclude = {}) {
  ParamSplit<T> out;
  for (auto& [n, p] : named) (exclude(n, p) ? out.excluded : out.regular).push_back(p);
  return out;
}

/// Two groups: 0 = the regular parameters with `options`, 1 = the excluded ones with the same options
/// but weight_decay = 0 (and, for options that have it, `adaptation = false`: LARS's trust ratio off).
/// Both groups are always present (possibly empty), so the group indices are fixed.
template <Real T, class Options, class Exclude = ExcludeOneDimensional>
std::vector<ParamGroup<T, Options>> decay_groups(const nn::NamedParameters<T>& named, const Options& options,
                                                 Exclude exclude = {}) {
  ParamSplit<T> split = split_params(named, exclude);
  Options off = options;
  off.weight_decay = 0;
  if constexpr (requires { off.adaptation; }) off.adaptation = false;
  return {{std::move(split.regular), options}, {std::move(split.excluded), off}};
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_OPTIMIZER(P, T) \
  P template class Optimizer<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_OPTIMIZER)

}  // namespace simile::optim
