#pragma once
/// \file
/// Seeded weight initialization, with PyTorch's formulas (`torch.nn.init`). Every function fills a
/// tensor in place (through its handle) from the `Rng` it is given; there is no global generator.
///
/// Fans of a weight of shape [out, in, k1, k2, ...]: fan_in = in * k1 * k2 * ..., fan_out =
/// out * k1 * k2 * ... (a Linear weight [out, in] has no kernel dimensions).
///
/// PyTorch's default for Linear and Conv2d (`reset_parameters`), reproduced by `default_layer_init`:
/// weight ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the
/// same bound.

#include <cmath>
#include <utility>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"

namespace simile::nn::init {

/// Which fan a Kaiming initialization preserves the variance of: the forward pass (fan_in) or the
/// backward pass (fan_out).
enum class FanMode { fan_in, fan_out };

/// The nonlinearity that follows the layer, for the recommended gain.
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu };

/// PyTorch's `calculate_gain`: 1 for linear and sigmoid, 5/3 for tanh, sqrt(2) for relu,
/// sqrt(2 / (1 + a^2)) for leaky_relu with negative slope `a`.
inline double gain(Nonlinearity nonlinearity, double a = 0.01) {
  switch (nonlinearity) {
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + a * a));
    default: return 1.0;
  }
}

/// (fan_in, fan_out) of a weight of rank >= 2 (see the file comment). Throws ShapeError below rank 2.
template <Element T>
std::pair<Index, Index> fans(const Tensor<T>& weight) {
  check<ShapeError>(weight.rank() >= 2, "init::fans: weight of shape ", weight.shape(),
                    " has rank below 2, fans are undefined");
  Index receptive = 1;
  for (int i = 2; i < weight.rank(); ++i) receptive *= weight.shape()[i];
  return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

/// Fills `t` with U(lo, hi). Requires lo <= hi.
template <Real T>
void uniform(const Tensor<T>& t, double lo, double hi, Rng& rng) {
  check(lo <= hi, "init::uniform: lower bound ", lo, " above upper bound ", hi);
  for (T& v : t.span()) v = static_cast<T>(rng.uniform(lo, hi));
}

/// Fills `t` with N(mean, stddev^2). Requires stddev >= 0.
template <Real T>
void normal(const Tensor<T>& t, double mean, double stddev, Rng& rng) {
  check(stddev >= 0, "init::normal: standard deviation ", stddev, " is negative");
  for (T& v : t.span()) v = static_cast<T>(rng.normal(mean, stddev));
}

/// Fills `t` with `value`.
template <Real T>
void constant(const Tensor<T>& t, double value) {
  t.fill(static_cast<T>(value));
}

/// Options of the Kaiming (He et al. 2015) initializations. PyTorch's defaults.
struct KaimingOptions {
  double a = 0;                                          ///< negative slope of a following leaky_relu
  FanMode mode = FanMode::fan_in;  ///< keep the variance of the forward (fan_in) or backward (fan_out) pass
  Nonlinearity nonlinearity = Nonlinearity::leaky_relu;  ///< the gain's nonlinearity (with `a`)
};

namespace kaiming_detail {
template <Real T>
double kaiming_std(const char* fn, const Tensor<T>& weight, const KaimingOptions& o) {
  auto [fan_in, fan_out] = fans(weight);
  Index fan = o.mode == FanMode::fan_in ? fan_in : fan_out;
  check<ShapeError>(fan > 0, fn, ": weight of shape ", weight.shape(), " has a zero fan");
  return gain(o.nonlinearity, o.a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace kaiming_detail

/// He et al. 2015, "Delving Deep into Rectifiers", uniform form: U(-b, b) with
/// b = gain * sqrt(3 / fan). With `{.a = sqrt(5)}` this is PyTorch's Linear/Conv2d default,
/// b = 1 / sqrt(fan_in).
template <Real T>
void kaiming_uniform(const Tensor<T>& weight, Rng& rng, const KaimingOptions& o = {}) {
  double bound = std::sqrt(3.0) * kaiming_detail::kaiming_std("init::kaiming_uniform", weight, o);
  uniform(weight, -bound, bound, rng);
}

/// He et al. 2015, normal form: N(0, gain^2 / fan). The default here is the one torchvision's ResNet
/// uses for convolutions: mode fan_out, nonlinearity relu, std = sqrt(2 / fan_out).
template <Real T>
void kaiming_normal(const Tensor<T>& weight, Rng& rng,
                    const KaimingOptions& o = {.a = 0, .mode = FanMode::fan_out, .nonlinearity = Nonlinearity::relu}) {
  normal(weight, 0.0, kaiming_detail::kaiming_std("init::kaiming_normal", weight, o), rng);
}

/// Glorot and Bengio 2010: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
template <Real T>
void xavier_uniform(const Tensor<T>& weight, Rng& rng, double gain = 1.0) {
  auto [fan_in, fan_out] = fans(weight);
  check<ShapeError>(fan_in + fan_out > 0, "init::xavier_uniform: weight of shape ", weight.shape(),
                    " has zero fans");
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform(weight, -bound, bound, rng);
}

/// Glorot and Bengio 2010, normal form: N(0, gain^2 * 2 / (fan_in + fan_out)).
template <Real T>
void xavier_normal(const Tensor<T>& weight, Rng& rng, double gain = 1.0) {
  auto [fan_in, fan_out] = fans(weight);
  check<ShapeError>(fan_in + fan_out > 0, "init::xavier_normal: weight of shape ", weight.shape(),
                    " has zero fans");
  normal(weight, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), rng);
}

/// PyTorch's `reset_parameters` of Linear and Conv2d: weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// (kaiming_uniform with a = sqrt(5)), then `bias` (when defined) from the same bound. Weight first,
/// then bias, from `rng`.
template <Real T>
void default_layer_init(const Tensor<T>& weight, const Tensor<T>& bias, Rng& rng) {
  kaiming_uniform(weight, rng,
                  {.a = std::sqrt(5.0), .mode = FanMode::fan_in, .nonlinearity = Nonlinearity::leaky_relu});
  if (bias.defined()) {
    Index fan_in = fans(weight).first;
    double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform(bias, -bound, bound, rng);
  }
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_INIT(P, T) \
  P template void uniform<T>(const Tensor<T>& t, double lo, double hi, Rng& rng); \
  P template void normal<T>(const Tensor<T>& t, double mean, double stddev, Rng& rng); \
  P template void constant<T>(const Tensor<T>& t, double value); \
  P template void kaiming_uniform<T>(const Tensor<T>& weight, Rng& rng, const KaimingOptions& o); \
  P template void kaiming_normal<T>(const Tensor<T>& weight, Rng& rng, const KaimingOptions& o); \
  P template void xavier_uniform<T>(const Tensor<T>& weight, Rng& rng, double gain); \
  P template void xavier_normal<T>(const Tensor<T>& weight, Rng& rng, double gain); \
  P template void default_layer_init<T>(const Tensor<T>& weight, const Tensor<T>& bias, Rng& rng);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_INIT)

}  // namespace simile::nn::init
