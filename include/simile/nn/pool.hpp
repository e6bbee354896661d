#pragma once
/// \file
/// Pooling layers over NCHW tensors: `MaxPool2d`, `AvgPool2d` and `GlobalAvgPool2d`, modules without
/// parameters around the ops of `ops/pool.hpp` (PyTorch's semantics: floor mode, average counting the
/// padding).

#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/pool.hpp"

namespace simile::nn {

/// Configuration of a windowed pooling layer: a kernel_size x kernel_size window moved by `stride`
/// (default: kernel_size, non-overlapping) over the input padded by `padding` on each side.
struct Pool2dOptions {
  Index kernel_size = 2;  ///< the window's side, >= 1
  std::optional<Index> stride{};  ///< unset: kernel_size
  Index padding = 0;            ///< in [0, kernel_size / 2]
};

namespace pool_detail {
inline std::string repr(const Pool2dOptions& o) {
  return simile::detail::str("kernel_size=", o.kernel_size, ", stride=", o.stride.value_or(o.kernel_size),
                             ", padding=", o.padding);
}
}  // namespace pool_detail

/// Max over each window: [N, C, H, W] -> [N, C, OH, OW], OH = floor((H + 2 padding - k) / stride) + 1.
/// The gradient goes to the position of each window's maximum (see `max_pool2d`).
template <Real T>
class MaxPool2d : public Cloneable<MaxPool2d<T>, T> {
 public:
  /// Max pooling with the window of `options` (checked in `forward`).
  explicit MaxPool2d(const Pool2dOptions& options = {}) : options_(options) {}
  Var<T> forward(const Var<T>& x) override {
    return max_pool2d(x, options_.kernel_size, options_.stride, options_.padding);
  }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override { return pool_detail::repr(options_); }
  /// The options it was built with.
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

/// Mean over each window, padded zeros included (every window divides by k^2); shapes as `MaxPool2d`.
template <Real T>
class AvgPool2d : public Cloneable<AvgPool2d<T>, T> {
 public:
  /// Average pooling with the window of `options` (checked in `forward`).
  explicit AvgPool2d(const Pool2dOptions& options = {}) : options_(options) {}
  Var<T> forward(const Var<T>& x) override {
    return avg_pool2d(x, options_.kernel_size, options_.stride, options_.padding);
  }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override { return pool_detail::repr(options_); }
  /// The options it was built with.
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

/// Mean of each plane: [N, C, H, W] -> [N, C] (PyTorch's AdaptiveAvgPool2d(1) followed by Flatten, the
/// pooling that ends a ResNet trunk and gives the representation h).
template <Real T>
class GlobalAvgPool2d : public Cloneable<GlobalAvgPool2d<T>, T> {
 public:
  Var<T> forward(const Var<T>& x) override { return global_avg_pool2d(x); }
  std::string type_name() const override { return "GlobalAvgPool2d"; }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_POOL(P, T) \
  P template class MaxPool2d<T>; \
  P template class AvgPool2d<T>; \
  P template class GlobalAvgPool2d<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_POOL)

}  // namespace simile::nn
