#pragma once
/// \file
/// The trainer's side of data-parallel training (`TrainerOptions::comm`): a communicator that counts
/// the time and bytes of every collective (`MeteredCommunicator`, for the communication share of a
/// step and the scaling model in docs/DISTRIBUTED.md), the bucketed all-reduce of the parameter
/// gradients (`GradientAllReduce`), and the broadcast of the training state from rank 0.
///
/// One step on rank r of N: the rank's shard of the global batch goes forward (synchronized batch norm
/// and global-negative losses communicate inside the graph), backward gives each parameter the
/// gradient of the global loss through this rank's samples, and the all-reduce adds the N shares, so
/// every rank holds the gradient one process would compute on the whole batch and applies the same
/// optimizer step: weights and optimizer state stay identical on every rank (the sums run in rank
/// order, the same bits everywhere).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/io/safetensors.hpp"

namespace simile {

/// Forwards to another communicator, adding up the wall-clock time spent in its collectives (waiting
/// for slower ranks included) and the bytes this rank sent and received.
class MeteredCommunicator final : public Communicator {
 public:
  /// Meters `inner`. Throws ValueError when it is null.
  explicit MeteredCommunicator(std::shared_ptr<Communicator> inner) : inner_(std::move(inner)) {
    check(inner_ != nullptr, "MeteredCommunicator: no communicator given");
  }
  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string backend() const override { return inner_->backend(); }
  void all_gather_bytes(const std::byte* in, std::span<const std::size_t> counts, std::byte* out) override {
    Meter m(*this);
    inner_->all_gather_bytes(in, counts, out);
    for (std::size_t r = 0; r < counts.size(); ++r)
      bytes_ += r == std::size_t(rank()) ? counts[r] * (counts.size() - 1) : counts[r];
  }
  void all_to_all_bytes(const std::byte* in, std::span<const std::size_t> send_counts, std::byte* out,
                        std::span<const std::size_t> recv_counts) override {
    Meter m(*this);
    inner_->all_to_all_bytes(in, send_counts, out, recv_counts);
    for (std::size_t r = 0; r < send_counts.size(); ++r)
      if (r != std::size_t(rank())) bytes_ += send_counts[r] + recv_counts[r];
  }
  void broadcast_bytes(std::byte* data, std::size_t bytes, int root) override {
    Meter m(*this);
    inner_->broadcast_bytes(data, bytes, root);
    bytes_ += bytes;
  }
  void barrier() override {
    Meter m(*this);
    inner_->barrier();
  }
  [[noreturn]] void abort(int code) override {
    inner_->abort(code);
    std::exit(code);  // not reached: the inner abort does not return
  }

  /// Seconds spent in collectives so far.
  double seconds() const { return seconds_; }
  /// Bytes this rank sent plus received so far (an all-gather counts its block once per other rank).
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct Meter {
    MeteredCommunicator& c;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    explicit Meter(MeteredCommunicator& owner) : c(owner) {}
    ~Meter() { c.seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  };
  std::shared_ptr<Communicator> inner_;
  double seconds_ = 0;
  std::uint64_t bytes_ = 0;
};

/// Sums the parameters' gradients over the ranks (in rank order), in buckets of at most
/// `bucket_elements` values: each bucket is packed into one buffer, reduced by one collective, and
/// unpacked. A parameter that has a gradient on some ranks only (a branch one shard did not reach)
/// gets zeros where it had none, so that every rank's optimizer sees the same set of gradients.
///
/// Not overlapped with the backward pass: measured at these model sizes (docs/DISTRIBUTED.md), the
/// whole reduction is well under 1 % of a step, so overlapping it could not pay for its complexity.
template <Real T>
class GradientAllReduce {
 public:
  /// Reduces over `comm` (which must outlive it) in buckets of `bucket_elements` values (>= 1, else
  /// ValueError).
  explicit GradientAllReduce(Communicator& comm, Index bucket_elements = Index(1) << 20)
      : comm_(comm), bucket_(bucket_elements) {
    check(bucket_elements >= 1, "GradientAllReduce: bucket_elements ", bucket_elements, " must be at least 1");
  }

  /// Sums the gradients of `params` over the ranks in place (see above); a no-op on one rank. Every rank
  /// must pass its parameters in the same order.
  void operator()(const std::vector<Var<T>>& params) {
    if (comm_.size() == 1) return;
    // Which parameters have a gradient on any rank.
    std::vector<std::int32_t> has(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) has[i] = params[i].has_grad() ? 1 : 0;
    all_reduce_sum(comm_, std::span<std::int32_t>(has));
    std::vector<Tensor<T>> grads;
    for (std::size_t i = 0; i < params.size(); ++i)
      if (has[i] > 0) grads.push_back(params[i].node()->ensure_grad());
    for (std::size_t i = 0; i < grads.size();) {
      std::size_t j = i;
      Index n = 0;
      while (j < grads.size() && (j == i || n + grads[j].numel() <= bucket_)) n += grads[j++].numel();
      buffer_.resize(static_cast<std::size_t>(n));
      Index off = 0;
      for (std::size_t k = i; k < j; ++k) off += copy(grads[k].data(), grads[k].numel(), buffer_.data() + off);
      all_reduce_sum(comm_, std::span<T>(buffer_));
      off = 0;
      for (std::size_t k = i; k < j; ++k) off += copy(buffer_.data() + off, grads[k].numel(), grads[k].data());
      i = j;
    }
  }

 private:
  static Index copy(const T* from, Index n, T* to) {
    std::copy_n(from, n, to);
    return n;
  }
  Communicator& comm_;
  Index bucket_;
  std::vector<T> buffer_;
};

/// Copies every tensor of `d` from rank 0 to all ranks, in place. All ranks must hold the same names,
/// dtypes and shapes (checked first: an Error naming the first difference otherwise).
inline void broadcast_tensors(Communicator& comm, TensorDict& d, const char* who) {
  if (comm.size() == 1) return;
  // A fingerprint of the layout: count, then per tensor its element count and dtype size.
  std::vector<std::int64_t> layout{static_cast<std::int64_t>(d.size())};
  for (const auto& [name, any] : d.items())
    std::visit(
        [&](const auto& t) {
          layout.push_back(t.numel());
          layout.push_back(static_cast<std::int64_t>(sizeof(*t.data())));
        },
        any);
  std::vector<std::int64_t> root_layout = layout;
  std::int64_t count = static_cast<std::int64_t>(layout.size());
  broadcast(comm, std::span<std::int64_t>(&count, 1));
  root_layout.resize(static_cast<std::size_t>(count));
  broadcast(comm, std::span<std::int64_t>(root_layout));
  // Every rank decides alike whether the layouts match, so that none goes on alone.
  std::int32_t differ = root_layout != layout ? 1 : 0;
  differ = all_reduce_sum(comm, differ);
  check(differ == 0, who, ": the training state of rank ", comm.rank(), " (", d.size(),
        " tensors) differs in layout from rank 0's on ", differ,
        " rank(s): every rank must build the same model, optimizer and recipe");
  for (const auto& [name, any] : d.items())
    std::visit([&](const auto& t) { broadcast(comm, t.span(), 0); }, any);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_DATA_PARALLEL(P, T) \
  P template class GradientAllReduce<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_DATA_PARALLEL)

}  // namespace simile
