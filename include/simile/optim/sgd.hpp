#pragma once
/// \file
/// `SGD`: stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
/// with exactly the update rule of `torch.optim.SGD` (Sutskever et al. 2013 for the Nesterov form).

#include <cmath>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/optim/optimizer.hpp"

namespace simile::optim {

/// Options of an SGD parameter group.
struct SGDOptions {
  double lr = 1e-3;           ///< learning rate (>= 0)
  double momentum = 0;        ///< momentum factor mu (>= 0); 0 disables the buffer
  double dampening = 0;       ///< dampening tau of the gradient in the buffer, in [0, 1]
  double weight_decay = 0;    ///< L2 penalty lambda (>= 0), added to the gradient
  bool nesterov = false;      ///< Nesterov momentum; requires momentum > 0 and dampening = 0
};

/// Throws ValueError naming `who` and the value when `o` is out of range.
inline void validate(const SGDOptions& o, const char* who) {
  check(std::isfinite(o.lr) && o.lr >= 0, who, ": lr ", o.lr, " must be finite and >= 0");
  check(o.momentum >= 0, who, ": momentum ", o.momentum, " must be >= 0");
  check(o.dampening >= 0 && o.dampening <= 1, who, ": dampening ", o.dampening, " must be in [0, 1]");
  check(o.weight_decay >= 0, who, ": weight_decay ", o.weight_decay, " must be >= 0");
  check(!o.nesterov || (o.momentum > 0 && o.dampening == 0), who,
        ": nesterov needs momentum > 0 and dampening 0, got momentum ", o.momentum, " and dampening ", o.dampening);
}

/// For each parameter p with gradient g, at step t (buffer b):
///   d = g + lambda p
///   b = d                          at the parameter's first update (no dampening then)
///   b = mu b + (1 - tau) d         afterwards
///   d = d + mu b  (Nesterov)   or  d = b    (when mu > 0)
///   p = p - lr d
/// State: slot `momentum_buffer` (when mu > 0).
template <Real T>
class SGD : public GroupedOptimizer<T, SGDOptions> {
 public:
  /// One group: `params` with `options`. Throws ValueError for a bad option or parameter list.
  SGD(const std::vector<Var<T>>& params, const SGDOptions& options) { this->add_param_group({params, options}); }
  /// Several groups, in order (e.g. `decay_groups`). Throws ValueError for a bad option or parameter list.
  explicit SGD(const std::vector<ParamGroup<T, SGDOptions>>& groups) { this->init_groups(groups); }

  const char* name() const override { return "SGD"; }

 protected:
  std::vector<std::string> slot_names() const override { return {"momentum_buffer"}; }

  void update(std::size_t group, std::size_t /*index*/,
              const Tensor<T>& value, const Tensor<T>& grad, ParamState<T>& s) override {
    const SGDOptions& o = this->options(group);
    const T lr = static_cast<T>(o.lr), wd = static_cast<T>(o.weight_decay), mu = static_cast<T>(o.momentum);
    const T keep = static_cast<T>(1 - o.dampening);
    const bool nesterov = o.nesterov;
    T* p = value.data();
    const T* g = grad.data();
    const Index n = value.numel();
    if (o.momentum == 0) {
      parallel_for(0, n, update_grain, [&](Index b, Index e) {
        for (Index i = b; i < e; ++i) p[i] -= lr * (g[i] + wd * p[i]);
      });
      return;
    }
    Tensor<T>& buf = s.slots[0];
    const bool first = !buf.defined();
    if (first) buf = Tensor<T>::empty(value.shape());
    T* m = buf.data();
    parallel_for(0, n, update_grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        T d = g[i] + wd * p[i];
        T v = first ? d : mu * m[i] + keep * d;
        m[i] = v;
        p[i] -= lr * (nesterov ? d + mu * v : v);
      }
    });
  }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_SGD(P, T) \
  P template class SGD<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SGD)

}  // namespace simile::optim

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_SGD_BASES(P, T) \
  P template class optim::GroupedOptimizer<T, optim::SGDOptions>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SGD_BASES)
}  // namespace simile
