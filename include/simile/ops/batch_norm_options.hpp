#pragma once
/// \file
/// `BatchNormOptions`, and the checks every batch-norm kernel runs on its operands (the NCHW one in
/// `ops/batch_norm.hpp`, the channel-blocked one in `ops/detail/batch_norm_blocked.hpp`).

#include <utility>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/error.hpp"

namespace simile {

/// Options of `batch_norm` (PyTorch's defaults).
struct BatchNormOptions {
  bool training = true;   ///< normalize by the batch statistics and update the running ones
  double momentum = 0.1;  ///< running = (1 - momentum) running + momentum batch_statistic
  double eps = 1e-5;      ///< added to the variance before the square root
  /// Synchronized batch norm: with more than one rank, training statistics (and the backward's means)
  /// run over the batches of all ranks (collectives on every call; every rank must call). Must outlive
  /// the op's graph. Null or one rank: this process's batch only.
  Communicator* comm = nullptr;
  /// x is channel-blocked, [N, C / B, H, W, B] (`ops/blocked.hpp`, the layout of `conv2d_blocked`): the
  /// op normalizes its C channels and writes its output in that layout. Not with a communicator of
  /// several ranks. Without it a rank-5 x is an ordinary [N, C, D, H, W] volume.
  bool blocked = false;
};

namespace detail {

/// What follows the normalization inside a batch-norm op.
enum class BatchNormEpilogue {
  none,          ///< y = gamma xhat + beta
  relu,          ///< y = relu(gamma xhat + beta), written in the same pass
  relu_max_pool  ///< y = max_pool2d(relu(gamma xhat + beta)): the full-size activation is never stored
};

/// What the operand checks decide.
struct BatchNormMode {
  bool tracked = false;         ///< running statistics given
  bool batch_stats = false;     ///< normalize by the batch (training, or no running statistics)
  Communicator* comm = nullptr;  ///< the communicator of a synchronized training call, else null
};

/// Checks the operands of a batch-norm op over `c` channels of `count` values each (x of shape `xs`,
/// for messages): [C] weight, bias and running buffers (both or neither), eps > 0, momentum in [0, 1],
/// more than one value per channel when batch statistics are used (in one process).
template <Real T>
BatchNormMode check_batch_norm(const char* name, const Shape& xs, Index c, Index count, const Var<T>& weight,
                               const Var<T>& bias, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                               const BatchNormOptions& opt) {
  const Shape cs{c};
  check<ShapeError>(!weight.defined() || weight.shape() == cs, name, ": weight of shape ",
                    weight.defined() ? weight.shape() : Shape{}, " for ", c, " channels (x ", xs, ")");
  check<ShapeError>(!bias.defined() || bias.shape() == cs, name, ": bias of shape ",
                    bias.defined() ? bias.shape() : Shape{}, " for ", c, " channels (x ", xs, ")");
  check<ShapeError>(running_mean.defined() == running_var.defined(), name,
                    ": running_mean and running_var must be both given or both absent");
  BatchNormMode m;
  m.tracked = running_mean.defined();
  check<ShapeError>(!m.tracked || (running_mean.shape() == cs && running_var.shape() == cs), name,
                    ": running_mean ", m.tracked ? running_mean.shape() : Shape{}, " and running_var ",
                    m.tracked ? running_var.shape() : Shape{}, " for ", c, " channels (x ", xs, ")");
  check<ValueError>(opt.eps > 0, name, ": eps ", opt.eps, " must be positive");
  check<ValueError>(opt.momentum >= 0 && opt.momentum <= 1, name, ": momentum ", opt.momentum,
                    " must be in [0, 1]");
  // Without running statistics PyTorch normalizes by the batch in eval mode too.
  m.batch_stats = opt.training || !m.tracked;
  // Synchronized batch norm (training only): statistics and their gradients over every rank's batch.
  m.comm = opt.training && m.batch_stats ? opt.comm : nullptr;
  check<ValueError>(!m.batch_stats || is_distributed(m.comm) || count > 1, name,
                    ": expected more than 1 value per channel when using batch statistics, got x of shape ", xs,
                    " (", count, " per channel)");
  return m;
}

/// The graph inputs of a batch-norm op: x, then weight and bias when they are defined.
template <Real T>
struct BatchNormInputs {
  std::vector<Var<T>> vars;
  int weight = -1, bias = -1;  ///< positions in `vars`, -1 when absent
  BatchNormInputs(const Var<T>& x, const Var<T>& w, const Var<T>& b) : vars{x} {
    if (w.defined()) weight = static_cast<int>(vars.size()), vars.push_back(w);
    if (b.defined()) bias = static_cast<int>(vars.size()), vars.push_back(b);
  }
  /// In the op's backward: the gradient buffers of weight and bias (accumulated into), null when absent
  /// or not wanted.
  std::pair<T*, T*> grads(Node<T>& self) const {
    auto at = [&self](int i) -> T* {
      Tensor<T>* g = i >= 0 ? self.grad_for(static_cast<std::size_t>(i)) : nullptr;
      return g ? g->data() : nullptr;
    };
    return {at(weight), at(bias)};
  }
};

}  // namespace detail
}  // namespace simile
