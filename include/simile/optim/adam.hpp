#pragma once
/// \file
/// `Adam` (Kingma and Ba 2015) and `AdamW` (Loshchilov and Hutter 2019, decoupled weight decay), with
/// the update rules of `torch.optim.Adam` and `torch.optim.AdamW` (amsgrad off).

#include <cmath>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/optim/optimizer.hpp"

namespace simile::optim {

/// Options of an Adam parameter group. Weight decay here is an L2 penalty added to the gradient.
struct AdamOptions {
  double lr = 1e-3;          ///< learning rate (>= 0)
  double beta1 = 0.9;        ///< decay of the first moment, in [0, 1)
  double beta2 = 0.999;      ///< decay of the second moment, in [0, 1)
  double eps = 1e-8;         ///< added to the denominator (>= 0)
  double weight_decay = 0;   ///< L2 penalty lambda (>= 0)
};

/// Options of an AdamW parameter group: the same fields, weight decay decoupled from the gradient
/// and PyTorch's default of 0.01.
struct AdamWOptions {
  double lr = 1e-3;          ///< learning rate (>= 0)
  double beta1 = 0.9;        ///< decay of the first moment, in [0, 1)
  double beta2 = 0.999;      ///< decay of the second moment, in [0, 1)
  double eps = 1e-8;         ///< added to the denominator (>= 0)
  double weight_decay = 1e-2;  ///< decoupled decay lambda: p = p (1 - lr lambda) before the Adam step
};

}  // namespace simile::optim

namespace simile::detail {
template <class O>
void validate_adam(const O& o, const char* who) {
  check(std::isfinite(o.lr) && o.lr >= 0, who, ": lr ", o.lr, " must be finite and >= 0");
  check(o.beta1 >= 0 && o.beta1 < 1, who, ": beta1 ", o.beta1, " must be in [0, 1)");
  check(o.beta2 >= 0 && o.beta2 < 1, who, ": beta2 ", o.beta2, " must be in [0, 1)");
  check(o.eps >= 0, who, ": eps ", o.eps, " must be >= 0");
  check(o.weight_decay >= 0, who, ": weight_decay ", o.weight_decay, " must be >= 0");
}

/// The shared update. For each parameter p with gradient g at its t-th update (t from 1):
///   AdamW: p = p (1 - lr lambda);     Adam: g = g + lambda p
///   m = beta1 m + (1 - beta1) g
///   v = beta2 v + (1 - beta2) g^2
///   p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// State: slots `exp_avg` (m), `exp_avg_sq` (v), counter `step` (t).
template <Real T, class Options, bool Decoupled>
class AdamFamily : public optim::GroupedOptimizer<T, Options> {
 protected:
  std::vector<std::string> slot_names() const override { return {"exp_avg", "exp_avg_sq"}; }
  bool counts_steps() const override { return true; }

  void update(std::size_t group, std::size_t /*index*/,
              const Tensor<T>& value, const Tensor<T>& grad, optim::ParamState<T>& s) override {
    const Options& o = this->options(group);
    for (Tensor<T>& slot : s.slots)
      if (!slot.defined()) slot = Tensor<T>::zeros(value.shape());
    const double t = static_cast<double>(s.step);
    const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2), eps = static_cast<T>(o.eps);
    const T step_size = static_cast<T>(o.lr / (1 - std::pow(o.beta1, t)));
    const T inv_sqrt_bc2 = static_cast<T>(1 / std::sqrt(1 - std::pow(o.beta2, t)));
    const T l2 = Decoupled ? T(0) : static_cast<T>(o.weight_decay);
    const T shrink = Decoupled ? static_cast<T>(1 - o.lr * o.weight_decay) : T(1);
    T* p = value.data();
    const T* g = grad.data();
    T* m = s.slots[0].data();
    T* v = s.slots[1].data();
    parallel_for(0, value.numel(), optim::update_grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        T gi = g[i] + l2 * p[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] = p[i] * shrink - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    });
  }
};
}  // namespace simile::detail

namespace simile::optim {

/// @{
/// Throws ValueError, naming `who` and the field, when an option is out of the range its comment gives.
inline void validate(const AdamOptions& o, const char* who) { simile::detail::validate_adam(o, who); }
inline void validate(const AdamWOptions& o, const char* who) { simile::detail::validate_adam(o, who); }
/// @}

/// Adam with L2 weight decay (see `simile::detail::AdamFamily` for the rule).
template <Real T>
class Adam : public simile::detail::AdamFamily<T, AdamOptions, false> {
 public:
  /// One group: `params` with `options`. Throws ValueError for a bad option or parameter list.
  Adam(const std::vector<Var<T>>& params, const AdamOptions& options) { this->add_param_group({params, options}); }
  /// Several groups, in order (e.g. `decay_groups`). Throws ValueError for a bad option or parameter list.
  explicit Adam(const std::vector<ParamGroup<T, AdamOptions>>& groups) { this->init_groups(groups); }
  const char* name() const override { return "Adam"; }
};

/// AdamW: Adam with decoupled weight decay p = p (1 - lr lambda) applied before the moment update
/// (see `simile::detail::AdamFamily` for the rule).
template <Real T>
class AdamW : public simile::detail::AdamFamily<T, AdamWOptions, true> {
 public:
  /// One group: `params` with `options`. Throws ValueError for a bad option or parameter list.
  AdamW(const std::vector<Var<T>>& params, const AdamWOptions& options) { this->add_param_group({params, options}); }
  /// Several groups, in order (e.g. `decay_groups`). Throws ValueError for a bad option or parameter list.
  explicit AdamW(const std::vector<ParamGroup<T, AdamWOptions>>& groups) { this->init_groups(groups); }
  const char* name() const override { return "AdamW"; }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_ADAM(P, T) \
  P template class Adam<T>; \
  P template class AdamW<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_ADAM)

}  // namespace simile::optim

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_ADAM_BASES(P, T) \
  P template class optim::GroupedOptimizer<T, optim::AdamOptions>; \
  P template class optim::GroupedOptimizer<T, optim::AdamWOptions>; \
  P template class detail::AdamFamily<T, optim::AdamOptions, false>; \
  P template class detail::AdamFamily<T, optim::AdamWOptions, true>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_ADAM_BASES)
}  // namespace simile
