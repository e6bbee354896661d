#pragma once
/// \file
/// `BatchNorm1d` and `BatchNorm2d`: batch normalization layers (Ioffe and Szegedy 2015) around the
/// `batch_norm` op, with PyTorch's parameters and buffers (`weight`, `bias`, `running_mean`,
/// `running_var`, `num_batches_tracked`), so their checkpoints map one to one. In data-parallel
/// training, `set_batch_norm_sync` makes them synchronized (statistics over every rank's batch).

#include <memory>
#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/batch_norm.hpp"
#include "simile/ops/conv_batch_norm.hpp"

namespace simile::nn {

/// Configuration of a batch-norm layer (PyTorch's defaults).
struct BatchNormOptions {
  Index num_features = 0;          ///< C, the channel dimension (dimension 1 of the input), > 0
  double eps = 1e-5;               ///< added to the variance before the square root, > 0
  double momentum = 0.1;           ///< running = (1 - momentum) running + momentum batch, in [0, 1]
  bool affine = true;              ///< learn a per-channel scale `weight` and shift `bias`
  bool track_running_stats = true; ///< keep running statistics for evaluation (else batch statistics always)
};

}  // namespace simile::nn

namespace simile::detail {
/// What BatchNorm1d and BatchNorm2d share; they differ in the input ranks they accept.
template <class Derived, Real T>
class BatchNormBase : public nn::Cloneable<Derived, T> {
 public:
  explicit BatchNormBase(const nn::BatchNormOptions& options) : options_(options) {
    const nn::BatchNormOptions& o = options;
    check(o.num_features > 0, Derived::name, ": num_features ", o.num_features, " must be positive");
    check(o.eps > 0, Derived::name, ": eps ", o.eps, " must be positive");
    check(o.momentum >= 0 && o.momentum <= 1, Derived::name, ": momentum ", o.momentum, " must be in [0, 1]");
    const Index c = o.num_features;
    if (o.affine) {
      weight_ = this->register_parameter("weight", Tensor<T>::ones({c}));
      bias_ = this->register_parameter("bias", Tensor<T>::zeros({c}));
    }
    if (o.track_running_stats) {
      running_mean_ = this->register_buffer("running_mean", Tensor<T>::zeros({c}));
      running_var_ = this->register_buffer("running_var", Tensor<T>::ones({c}));
      num_batches_tracked_ = this->register_buffer("num_batches_tracked", Tensor<T>::zeros({}));
    }
  }

  /// y = weight (x - mean) / sqrt(var + eps) + bias per channel (see `batch_norm`): batch statistics in
  /// training mode (the running ones updated, `num_batches_tracked` counted), running ones in eval mode.
  Var<T> forward(const Var<T>& x) override { return run(x, BatchNormEpilogue::none); }
  /// relu(forward(x)) through the fused `batch_norm_relu` op (one pass, no intermediate tensor).
  Var<T> forward_relu(const Var<T>& x) { return run(x, BatchNormEpilogue::relu); }
  /// max_pool2d(relu(forward(x)), kernel, stride, padding) through the fused `batch_norm_relu_max_pool2d`
  /// op (the full-size activation is never stored); x [N, C, H, W].
  Var<T> forward_relu_max_pool(const Var<T>& x, Index kernel, std::optional<Index> stride = std::nullopt,
                               Index padding = 0) {
    return run(x, BatchNormEpilogue::relu_max_pool, kernel, stride, padding);
  }
  /// forward_relu_max_pool(conv2d(x, conv_weight, conv), kernel) with this layer after the convolution, as
  /// one op (`conv2d_batch_norm_relu_max_pool2d`: the convolution's output is never stored): x [N, C, H, W]
  /// an image requiring no gradient, conv_weight [num_features, C, kh, kw] with C kh kw <= 27 and no bias,
  /// output channel-blocked [N, num_features / block, OH / kernel, OW / kernel, block].
  Var<T> forward_conv_relu_max_pool(const Var<T>& x, const Var<T>& conv_weight, const Conv2dOptions& conv, Index kernel,
                                    Index block) {
    check<ShapeError>(conv_weight.shape().rank() == 4 && conv_weight.shape()[0] == options_.num_features, Derived::name,
                      ": convolution weight of shape ", conv_weight.shape(),
                      " does not give C = ", options_.num_features);
    return run_op([&](const Var<T>& w, const Var<T>& b, const Tensor<T>& mean, const Tensor<T>& var,
                      const simile::BatchNormOptions& op) {
      return conv2d_batch_norm_relu_max_pool2d(x, conv_weight, w, b, mean, var, op, block, conv, kernel);
    });
  }

  std::string type_name() const override { return Derived::name; }
  std::string extra_repr() const override {
    const nn::BatchNormOptions& o = options_;
    return str(o.num_features, ", eps=", o.eps, ", momentum=", o.momentum, ", affine=",
                               o.affine ? "true" : "false", ", track_running_stats=",
                               o.track_running_stats ? "true" : "false");
  }

  const nn::BatchNormOptions& options() const { return options_; }
  /// Synchronized batch norm: with a communicator of more than one rank, training-mode statistics run
  /// over the batches of all ranks (see `simile::BatchNormOptions::comm`); null: this process's batch.
  void set_sync(std::shared_ptr<Communicator> comm) { sync_ = std::move(comm); }
  const std::shared_ptr<Communicator>& sync() const { return sync_; }
  /// gamma [C]; requires `affine`.
  const Var<T>& weight() const { return this->get(affine_id("weight", weight_)); }
  /// beta [C]; requires `affine`.
  const Var<T>& bias() const { return this->get(affine_id("bias", bias_)); }
  /// [C]; requires `track_running_stats`.
  const Tensor<T>& running_mean() const { return this->get(tracked_id("running_mean", running_mean_)); }
  /// [C], unbiased; requires `track_running_stats`.
  const Tensor<T>& running_var() const { return this->get(tracked_id("running_var", running_var_)); }
  /// Training-mode forward passes so far (a scalar, exact up to 2^24 in float); requires `track_running_stats`.
  const Tensor<T>& num_batches_tracked() const {
    return this->get(tracked_id("num_batches_tracked", num_batches_tracked_));
  }

 private:
  Var<T> run(const Var<T>& x, BatchNormEpilogue epilogue, Index kernel = 1, std::optional<Index> stride = {},
             Index padding = 0) {
    const Shape& s = x.shape();
    check<ShapeError>(Derived::accepts_rank(s.rank()) && unblocked_shape(s)[1] == options_.num_features, Derived::name,
                      ": input of shape ", s, " is not ", Derived::expected, " with C = ", options_.num_features);
    return run_op([&](const Var<T>& w, const Var<T>& b, const Tensor<T>& mean, const Tensor<T>& var,
                      simile::BatchNormOptions op) {
      op.blocked = s.rank() == 5;  // only BatchNorm2d takes rank 5: its blocked form
      switch (epilogue) {
        case BatchNormEpilogue::none: return batch_norm(x, w, b, mean, var, op);
        case BatchNormEpilogue::relu: return batch_norm_relu(x, w, b, mean, var, op);
        default: return batch_norm_relu_max_pool2d(x, w, b, mean, var, op, kernel, stride, padding);
      }
    });
  }
  /// op(weight, bias, running_mean, running_var, options) with this layer's parameters, buffers and options,
  /// then the count of training batches.
  template <class Op>
  Var<T> run_op(Op&& op) {
    const bool tracked = options_.track_running_stats;
    Var<T> w = options_.affine ? this->get(weight_) : Var<T>();
    Var<T> b = options_.affine ? this->get(bias_) : Var<T>();
    Tensor<T> mean = tracked ? this->get(running_mean_) : Tensor<T>();
    Tensor<T> var = tracked ? this->get(running_var_) : Tensor<T>();
    Var<T> y = op(
        w, b, mean, var,
        simile::BatchNormOptions{
            .training = this->is_training(), .momentum = options_.momentum, .eps = options_.eps, .comm = sync_.get()});
    if (tracked && this->is_training()) this->get(num_batches_tracked_).data()[0] += T(1);
    return y;
  }
  nn::ParameterId affine_id(const char* what, nn::ParameterId id) const {
    check(options_.affine, Derived::name, "::", what, ": this layer was built with affine = false");
    return id;
  }
  nn::BufferId tracked_id(const char* what, nn::BufferId id) const {
    check(options_.track_running_stats, Derived::name, "::", what,
          ": this layer was built with track_running_stats = false");
    return id;
  }

  nn::BatchNormOptions options_;
  std::shared_ptr<Communicator> sync_;
  nn::ParameterId weight_, bias_;
  nn::BufferId running_mean_, running_var_, num_batches_tracked_;
};
}  // namespace simile::detail

namespace simile::nn {

/// Batch normalization over [N, C] or [N, C, L] inputs (PyTorch's BatchNorm1d), as in the projection
/// heads of SimCLR and BYOL.
template <Real T>
class BatchNorm1d : public simile::detail::BatchNormBase<BatchNorm1d<T>, T> {
 public:
  using simile::detail::BatchNormBase<BatchNorm1d<T>, T>::BatchNormBase;
  static constexpr const char* name = "BatchNorm1d";  ///< the class name, in `type_name()` and messages
  static constexpr const char* expected = "[N, C] or [N, C, L]";  ///< the input shapes, for the ShapeError message
  /// True for the input ranks the layer takes (2 and 3).
  static bool accepts_rank(int r) { return r == 2 || r == 3; }
};

/// Batch normalization over [N, C, H, W] inputs (PyTorch's BatchNorm2d), as in ResNets.
template <Real T>
class BatchNorm2d : public simile::detail::BatchNormBase<BatchNorm2d<T>, T> {
 public:
  using simile::detail::BatchNormBase<BatchNorm2d<T>, T>::BatchNormBase;
  static constexpr const char* name = "BatchNorm2d";  ///< the class name, in `type_name()` and messages
  static constexpr const char* expected = "[N, C, H, W] or blocked [N, C / B, H, W, B]";  ///< for the ShapeError message
  /// True for the input ranks the layer takes (4, and 5 for channel-blocked activations, `ops/blocked.hpp`).
  static bool accepts_rank(int r) { return r == 4 || r == 5; }
};

/// Sets `comm` as the synchronization of every batch-norm layer in `module` and below it (PyTorch's
/// `SyncBatchNorm.convert_sync_batchnorm`, in place; null undoes it). Returns the number of layers.
template <Real T>
Index set_batch_norm_sync(Module<T>& module, const std::shared_ptr<Communicator>& comm) {
  Index count = 0;
  if (auto* bn = dynamic_cast<BatchNorm1d<T>*>(&module)) bn->set_sync(comm), ++count;
  if (auto* bn = dynamic_cast<BatchNorm2d<T>*>(&module)) bn->set_sync(comm), ++count;
  for (auto& [name, child] : module.named_children()) count += set_batch_norm_sync(*child, comm);
  return count;
}

/// True when some batch-norm layer in `module` or below it is synchronized over more than one rank.
template <Real T>
bool has_synchronized_batch_norm(const Module<T>& module) {
  if (auto* bn = dynamic_cast<const BatchNorm1d<T>*>(&module); bn && is_distributed(bn->sync().get())) return true;
  if (auto* bn = dynamic_cast<const BatchNorm2d<T>*>(&module); bn && is_distributed(bn->sync().get())) return true;
  for (const auto& [name, child] : module.named_children())
    if (has_synchronized_batch_norm(*child)) return true;
  return false;
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_BATCH_NORM(P, T) \
  P template class BatchNorm1d<T>; \
  P template class BatchNorm2d<T>; \
  P template Index set_batch_norm_sync<T>(Module<T> & module, const std::shared_ptr<Communicator>& comm); \
  P template bool has_synchronized_batch_norm<T>(const Module<T>& module);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_BATCH_NORM)

}  // namespace simile::nn

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_BATCH_NORM_BASES(P, T) \
  P template class detail::BatchNormBase<nn::BatchNorm1d<T>, T>; \
  P template class detail::BatchNormBase<nn::BatchNorm2d<T>, T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_BATCH_NORM_BASES)
}  // namespace simile
