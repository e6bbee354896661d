#pragma once
/// \file
/// `Flatten`: merges a range of dimensions into one, PyTorch's `nn.Flatten` (between a convolutional
/// trunk and a Linear head: [N, C, H, W] -> [N, C * H * W]).

#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/shape.hpp"

namespace simile::nn {

/// Configuration of a `Flatten`: the inclusive range of dimensions to merge; negative counts from the
/// end (-1 is the last). PyTorch's defaults keep dimension 0 (the batch).
struct FlattenOptions {
  int start_dim = 1;  ///< the first dimension merged
  int end_dim = -1;   ///< the last dimension merged
};

/// Input [d0, ..., d_{r-1}] -> [d0, ..., d_{s-1}, d_s * ... * d_e, d_{e+1}, ...] for s = start_dim and
/// e = end_dim. A view of the same storage (no copy); the gradient is reshaped back.
template <Real T>
class Flatten : public Cloneable<Flatten<T>, T> {
 public:
  /// Merges the dimensions of `options` (checked against each input's rank in `forward`).
  explicit Flatten(const FlattenOptions& options = {}) : options_(options) {}

  Var<T> forward(const Var<T>& x) override {
    const Shape& s = x.shape();
    int r = s.rank();
    int start = options_.start_dim < 0 ? options_.start_dim + r : options_.start_dim;
    int end = options_.end_dim < 0 ? options_.end_dim + r : options_.end_dim;
    check<ShapeError>(0 <= start && start <= end && end < r, "Flatten: dimensions [", options_.start_dim, ", ",
                      options_.end_dim, "] do not form a range of the input of shape ", s);
    Shape out;
    Index merged = 1;
    for (int i = 0; i < r; ++i) {
      if (i < start || i > end) out.push_back(s[i]);
      else merged *= s[i];
      if (i == end) out.push_back(merged);
    }
    return reshape(x, out);
  }

  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override {
    return simile::detail::str("start_dim=", options_.start_dim, ", end_dim=", options_.end_dim);
  }
  /// The options it was built with.
  const FlattenOptions& options() const { return options_; }

 private:
  FlattenOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_FLATTEN(P, T) \
  P template class Flatten<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_FLATTEN)

}  // namespace simile::nn
