#pragma once
/// \file
/// `Dropout`: the inverted-dropout layer (Srivastava et al. 2014) around the `dropout` op. It owns its
/// random stream, seeded at construction, so a network's masks never depend on a global generator.

#include <cstdint>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/core/rng.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/unary.hpp"  // first: ops/dropout.hpp uses its elementwise_grain without including it
#include "simile/ops/dropout.hpp"

namespace simile::nn {

/// Configuration of a `Dropout` layer.
struct DropoutOptions {
  double p = 0.5;  ///< probability of zeroing an element, in [0, 1)
};

/// Training mode: y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element (same shape as x); eval
/// mode: y = x. The mask comes from the layer's own `Rng`, which advances by one draw per training
/// forward, so a run is reproducible from the seed; `rng()` exposes the stream's state for checkpoints.
/// A `clone()` continues from the same stream state (it draws the same masks as the original would).
template <Real T>
class Dropout : public Cloneable<Dropout<T>, T> {
 public:
  /// Dropout with probability `options.p`, masks drawn from the stream of `seed`.
  Dropout(const DropoutOptions& options, std::uint64_t seed) : Dropout(options, Rng(seed)) {}
  /// Dropout with probability `options.p`, masks drawn from `rng` (copied: the layer owns its stream).
  /// Throws ValueError unless p is in [0, 1).
  Dropout(const DropoutOptions& options, Rng rng) : options_(options), rng_(rng) {
    check(options.p >= 0 && options.p < 1, "Dropout: p ", options.p, " must be in [0, 1)");
  }

  Var<T> forward(const Var<T>& x) override { return dropout(x, options_.p, this->is_training(), rng_); }

  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override { return simile::detail::str("p=", options_.p); }
  /// The options it was built with.
  const DropoutOptions& options() const { return options_; }
  /// The layer's random stream (read its `state()` to checkpoint, assign to restore).
  Rng& rng() { return rng_; }

 private:
  DropoutOptions options_;
  Rng rng_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_DROPOUT(P, T) \
  P template class Dropout<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_DROPOUT)

}  // namespace simile::nn
