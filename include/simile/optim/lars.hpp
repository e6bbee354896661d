#pragma once
/// \file
/// `LARS`: layer-wise adaptive rate scaling (You, Gitman and Ginsburg 2017, "Large Batch Training of
/// Convolutional Networks"), the optimizer of SimCLR and BYOL at large batch sizes. Each parameter
/// tensor (a layer) gets its own learning-rate multiplier, the trust ratio, from the norms of its
/// weights and its gradient; biases and normalization parameters are usually excluded from weight decay
/// and adaptation (`decay_groups` in optim/optimizer.hpp builds those two groups).

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/optim/optimizer.hpp"

namespace simile::optim {

/// Which norm divides in the trust ratio.
enum class LarsTrustNorm {
  /// The paper's: eta ||w|| / (||g|| + lambda ||w||).
  paper,
  /// SimCLR's TensorFlow LARS and Barlow Twins': eta ||w|| / ||g + lambda w||.
  decayed_gradient,
};

/// Options of a LARS parameter group.
struct LarsOptions {
  double lr = 0.1;               ///< learning rate gamma (>= 0)
  double momentum = 0.9;         ///< momentum mu, in [0, 1)
  double weight_decay = 1e-6;    ///< lambda (>= 0), SimCLR's value
  double eta = 1e-3;             ///< trust coefficient (> 0)
  bool nesterov = false;         ///< Nesterov form of the momentum update
  bool adaptation = true;        ///< use the trust ratio (false: ratio 1, for excluded parameters)
  LarsTrustNorm trust_norm = LarsTrustNorm::paper;  ///< the trust ratio's denominator (see LarsTrustNorm)
};

/// Throws ValueError naming `who` and the value when `o` is out of range.
inline void validate(const LarsOptions& o, const char* who) {
  check(std::isfinite(o.lr) && o.lr >= 0, who, ": lr ", o.lr, " must be finite and >= 0");
  check(o.momentum >= 0 && o.momentum < 1, who, ": momentum ", o.momentum, " must be in [0, 1)");
  check(o.weight_decay >= 0, who, ": weight_decay ", o.weight_decay, " must be >= 0");
  check(o.eta > 0, who, ": eta ", o.eta, " must be > 0");
}

/// For each parameter tensor w with gradient g (momentum buffer v, zero at first):
///   d = g + lambda w
///   r = eta ||w|| / (||g|| + lambda ||w||)   (paper)   or   eta ||w|| / ||d||   (decayed_gradient)
///       when `adaptation` and both norms (||w|| and the divisor's gradient norm) are positive, else 1
///   v = mu v + lr r d
///   w = w - v                (or w = w - (mu v + lr r d) with Nesterov)
/// This is the update of SimCLR's LARSOptimizer (the learning rate enters the buffer, so a schedule's
/// change of lr acts on new gradients only). Norms are accumulated in double in a fixed order.
/// State: slot `momentum_buffer`.
template <Real T>
class LARS : public GroupedOptimizer<T, LarsOptions> {
 public:
  /// One group: `params` with `options`. Throws ValueError for a bad option or parameter list.
  LARS(const std::vector<Var<T>>& params, const LarsOptions& options) { this->add_param_group({params, options}); }
  /// Several groups, in order (e.g. `decay_groups`). Throws ValueError for a bad option or parameter list.
  explicit LARS(const std::vector<ParamGroup<T, LarsOptions>>& groups) { this->init_groups(groups); }

  const char* name() const override { return "LARS"; }

  /// The trust ratio the last update of parameter `index` (over all groups) used; 1 before any.
  double last_trust_ratio(std::size_t index) const {
    check(index < this->num_params(), "LARS::last_trust_ratio: parameter ", index, " of ", this->num_params());
    return index < trust_.size() ? trust_[index] : 1.0;
  }

 protected:
  std::vector<std::string> slot_names() const override { return {"momentum_buffer"}; }

  void update(std::size_t group, std::size_t index,
              const Tensor<T>& value, const Tensor<T>& grad, ParamState<T>& s) override {
    const LarsOptions& o = this->options(group);
    Tensor<T>& buf = s.slots[0];
    if (!buf.defined()) buf = Tensor<T>::zeros(value.shape());
    T* p = value.data();
    const T* g = grad.data();
    T* v = buf.data();
    const Index n = value.numel();

    double ratio = 1;
    if (o.adaptation) {
      // ||w||^2, ||g||^2 and <w, g> in one pass, per chunk, combined in chunk order.
      int chunks = parallel_chunks(n, update_grain);
      if (partial_.size() < static_cast<std::size_t>(chunks)) partial_.resize(static_cast<std::size_t>(chunks));
      parallel_chunked(0, n, update_grain, [&](int c, Index b, Index e) {
        double ww = 0, gg = 0, wg = 0;
        for (Index i = b; i < e; ++i) {
          double w = p[i], d = g[i];
          ww += w * w, gg += d * d, wg += w * d;
        }
        partial_[static_cast<std::size_t>(c)] = {ww, gg, wg};
      });
      double ww = 0, gg = 0, wg = 0;
      for (int c = 0; c < chunks; ++c) {
        auto& q = partial_[static_cast<std::size_t>(c)];
        ww += q[0], gg += q[1], wg += q[2];
      }
      double w_norm = std::sqrt(ww), g_norm = std::sqrt(gg), lambda = o.weight_decay;
      double divisor = o.trust_norm == LarsTrustNorm::paper
                           ? g_norm + lambda * w_norm
                           : std::sqrt(std::max(0.0, gg + 2 * lambda * wg + lambda * lambda * ww));
      if (w_norm > 0 && g_norm > 0 && divisor > 0) ratio = o.eta * w_norm / divisor;
    }
    if (trust_.size() < this->num_params()) trust_.resize(this->num_params(), 1.0);
    trust_[index] = ratio;

    const T scaled_lr = static_cast<T>(o.lr * ratio), wd = static_cast<T>(o.weight_decay);
    const T mu = static_cast<T>(o.momentum);
    const bool nesterov = o.nesterov;
    parallel_for(0, n, update_grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        T step = scaled_lr * (g[i] + wd * p[i]);
        v[i] = mu * v[i] + step;
        p[i] -= nesterov ? mu * v[i] + step : v[i];
      }
    });
  }

 private:
  std::vector<std::array<double, 3>> partial_;
  std::vector<double> trust_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_LARS(P, T) \
  P template class LARS<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_LARS)

}  // namespace simile::optim

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPTIM_LARS_BASES(P, T) \
  P template class optim::GroupedOptimizer<T, optim::LarsOptions>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPTIM_LARS_BASES)
}  // namespace simile
