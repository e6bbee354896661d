#pragma once
/// \file
/// Mixed precision: the number format convolutions compute in. `Precision::f32` (the default) computes
/// in float. `Precision::bf16` runs the float convolutions of the oneDNN backend in bfloat16 (8 bits of
/// mantissa, float's exponent range) on CPUs with AVX512_BF16 (AMX where present): inputs and weights are
/// rounded to bfloat16 as they are reordered into the primitives' layout, products accumulate in float,
/// and outputs and gradients come back in float. Stride-1 layers take their weight gradient from simile's
/// own bf16 kernel (`ops/detail/conv_weight_grad_bf16.hpp`, the same rounding, a different order of float
/// sums) and dx from oneDNN's forward kernel on flipped weights. Everything else stays float: the master weights and the
/// optimizer, batch-norm statistics, matrix products, losses and checkpoints. The Eigen backend and double
/// always compute at their own precision.
///
/// The precision of a call is its `Conv2dOptions::precision` when set, else the process-wide one
/// (`set_compute_precision`); the backward pass uses the precision of its forward. A layer whose shape has
/// no bfloat16 kernel on this CPU (oneDNN would fall back to its reference code) computes in float.

#include <atomic>
#include <string>

#include "simile/core/error.hpp"
#include "simile/ops/detail/conv_onednn.hpp"

namespace simile {

/// The number format of a convolution's products.
enum class Precision { f32, bf16 };

/// "f32" or "bf16", as the command-line tool spells them.
inline const char* to_string(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

/// True when this build and this CPU run bfloat16 convolutions natively: simile built with oneDNN, and
/// oneDNN's CPU dispatch (which `DNNL_MAX_CPU_ISA` may lower) reaching avx512_core_bf16 or beyond.
inline bool bf16_available() {
#if defined(SIMILE_WITH_ONEDNN)
  return detail::conv_onednn::bf16_supported();
#else
  return false;
#endif
}

/// Why bfloat16 is not available here (the CPU's instruction set as oneDNN sees it, or the build), or ""
/// when it is.
inline std::string bf16_unavailable_reason() {
#if defined(SIMILE_WITH_ONEDNN)
  if (bf16_available()) return "";
  return detail::str("this CPU lacks AVX512_BF16 (oneDNN dispatches to ", detail::conv_onednn::cpu_isa_name(),
                     ")");
#else
  return "simile was built without oneDNN (SIMILE_WITH_ONEDNN)";
#endif
}

namespace detail {
inline std::atomic<Precision>& precision_setting() {
  static std::atomic<Precision> p{Precision::f32};
  return p;
}
}  // namespace detail

/// The process-wide precision of convolutions whose options name none.
inline Precision compute_precision() { return detail::precision_setting().load(std::memory_order_relaxed); }

/// Sets the process-wide precision. Asking for bfloat16 where it is not available throws ValueError
/// naming the reason (callers that prefer to fall back test `bf16_available()` first).
inline void set_compute_precision(Precision p) {
  check(p != Precision::bf16 || bf16_available(), "set_compute_precision: bfloat16 is not available: ",
        bf16_unavailable_reason());
  detail::precision_setting().store(p, std::memory_order_relaxed);
}

/// Sets the process-wide precision for a scope and restores the previous one on exit.
class PrecisionScope {
 public:
  /// Sets the precision to `p` (`set_compute_precision`, which may throw) until the scope ends.
  explicit PrecisionScope(Precision p) : previous_(compute_precision()) { set_compute_precision(p); }
  ~PrecisionScope() { detail::precision_setting().store(previous_, std::memory_order_relaxed); }
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

}  // namespace simile
