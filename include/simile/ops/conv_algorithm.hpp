#pragma once
/// \file
/// The algorithm of the oneDNN convolution backend: direct, or Winograd's minimal filtering F(4x4, 3x3)
/// (Lavin and Gray, 2016), which computes a 3x3, stride-1 convolution from 6x6 tiles with 36 products
/// per 16 outputs instead of 144: four times fewer multiplications, paid for by the tiles' transforms
/// and by a little more rounding (in float its outputs and gradients came within 3.2e-6 of the sum of
/// the terms' magnitudes of the exact result, the direct ones within 2.1e-7: tests/ops/conv_winograd_test).
///
/// - `ConvAlgorithm::automatic` (the default): for the forward and input-gradient passes oneDNN's own
///   choice (`convolution_auto`) where the channels come in whole blocks of 16: Winograd where its kernels
///   exist (3x3, stride 1, on AVX-512 in float) and its heuristic expects them to win, which is at large
///   batches; for the weight gradient Winograd when the forward took it and the layer has at least 64
///   input channels (measured on an AVX-512 EPYC at batch 512: 32->64 at 14x14 9.3 ms direct against 10.0
///   Winograd, 64->128 at 7x7 9.3-10.1 against 7.5, ResNet-18's layers 1.4x to 2.9x faster by Winograd;
///   oneDNN's own choice had both SmallConvNet layers the slower way); direct everywhere else, and
///   always in bfloat16 (oneDNN has no bfloat16 Winograd).
/// - `ConvAlgorithm::direct`: the direct kernels only (simile before Winograd; PyTorch's oneDNN calls).
/// - `ConvAlgorithm::winograd`: Winograd for every pass that has a kernel for it, direct for the rest.
///
/// The choice depends on the shape, the thread count and the CPU only, never on timing, so a run stays
/// the same bits from one time to the next. The Eigen backend and double ignore it. The algorithm of a
/// call is its `Conv2dOptions::algorithm` when set, else the process-wide one (`set_conv_algorithm`);
/// the backward pass uses the algorithm of its forward.

#include <atomic>

namespace simile {

/// How the oneDNN backend computes a convolution (see the file comment).
enum class ConvAlgorithm { automatic, direct, winograd };

/// "automatic", "direct" or "winograd", as the command-line tool spells them.
inline const char* to_string(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::direct: return "direct";
    case ConvAlgorithm::winograd: return "winograd";
    default: return "automatic";
  }
}

namespace detail {
inline std::atomic<ConvAlgorithm>& conv_algorithm_setting() {
  static std::atomic<ConvAlgorithm> a{ConvAlgorithm::automatic};
  return a;
}
}  // namespace detail

/// The process-wide algorithm of convolutions whose options name none.
inline ConvAlgorithm conv_algorithm() { return detail::conv_algorithm_setting().load(std::memory_order_relaxed); }

/// Sets the process-wide convolution algorithm (every value is valid on every build and CPU).
inline void set_conv_algorithm(ConvAlgorithm a) {
  detail::conv_algorithm_setting().store(a, std::memory_order_relaxed);
}

/// Sets the process-wide algorithm for a scope and restores the previous one on exit.
class ConvAlgorithmScope {
 public:
  /// Sets the algorithm to `a` until the scope ends.
  explicit ConvAlgorithmScope(ConvAlgorithm a) : previous_(conv_algorithm()) { set_conv_algorithm(a); }
  ~ConvAlgorithmScope() { set_conv_algorithm(previous_); }
  ConvAlgorithmScope(const ConvAlgorithmScope&) = delete;
  ConvAlgorithmScope& operator=(const ConvAlgorithmScope&) = delete;

 private:
  ConvAlgorithm previous_;
};

}  // namespace simile
