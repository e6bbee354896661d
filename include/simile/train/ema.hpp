#pragma once
/// \file
/// Exponential moving averages of a network, for the target networks of MoCo (He et al. 2020) and
/// BYOL (Grill et al. 2020): after each step, every target parameter becomes
///   xi <- tau * xi + (1 - tau) * theta
/// and every buffer (batch-norm running statistics) is copied from the online network, as the
/// reference implementations do. BYOL raises tau from tau_base to 1 over training:
///   tau_k = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2.

#include <cmath>
#include <numbers>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/nn/module.hpp"

namespace simile {

/// target <- tau * target + (1 - tau) * online, parameter by parameter (same architecture), and the
/// buffers copied. No gradient is recorded. Requires 0 <= tau <= 1.
template <Real T>
void ema_update(nn::Module<T>& target, const nn::Module<T>& online, double tau) {
  check(tau >= 0 && tau <= 1, "ema_update: tau ", tau, " must lie in [0, 1]");
  NoGradGuard no_grad;
  auto tp = target.named_parameters();
  auto op = online.named_parameters();
  check<ShapeError>(tp.size() == op.size(), "ema_update: target has ", tp.size(), " parameters, online ", op.size());
  const T a = static_cast<T>(tau), b = static_cast<T>(1 - tau);
  for (std::size_t i = 0; i < tp.size(); ++i) {
    const Tensor<T>& t = tp[i].second.value();
    const Tensor<T>& o = op[i].second.value();
    check<ShapeError>(t.shape() == o.shape(), "ema_update: ", tp[i].first, " has shape ", t.shape(), " in the target, ",
                      o.shape(), " online");
    T* pt = t.data();
    const T* po = o.data();
    parallel_for(0, t.numel(), 1 << 15, [&](Index lo, Index hi) {
      for (Index j = lo; j < hi; ++j) pt[j] = a * pt[j] + b * po[j];
    });
  }
  auto tb = target.named_buffers();
  auto ob = online.named_buffers();
  check<ShapeError>(tb.size() == ob.size(), "ema_update: target has ", tb.size(), " buffers, online ", ob.size());
  for (std::size_t i = 0; i < tb.size(); ++i) ob[i].second.copy_to(tb[i].second);
}

/// BYOL's target momentum at step k of K: 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2.
inline double byol_momentum(double tau_base, std::int64_t k, std::int64_t total) {
  check(tau_base >= 0 && tau_base <= 1, "byol_momentum: tau_base ", tau_base, " must lie in [0, 1]");
  if (total <= 0) return tau_base;
  double progress = std::min(1.0, double(k) / double(total));
  return 1 - (1 - tau_base) * (std::cos(std::numbers::pi * progress) + 1) / 2;
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_EMA(P, T) \
  P template void ema_update<T>(nn::Module<T>& target, const nn::Module<T>& online, double tau);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_EMA)

}  // namespace simile
