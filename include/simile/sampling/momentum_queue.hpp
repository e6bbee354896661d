#pragma once
/// \file
/// `MomentumQueue<T>`: the dictionary of MoCo (He, Fan, Wu, Xie, Girshick, "Momentum Contrast for
/// Unsupervised Visual Representation Learning", CVPR 2020), a fixed-size FIFO ring buffer of past keys
/// [K, D] that serves as negatives of InfoNCE.
///
/// Semantics:
/// - The queue stores values only (a `Tensor`, never a `Var`): it holds no graph and receives no
///   gradient. `enqueue` copies the rows it is given.
/// - One training step: compute the loss with `info_nce(q, k, queue.keys())`, run backward, then
///   `enqueue(k)` with this step's keys. Enqueueing before the loss would make a sample's own key one of
///   its negatives; enqueueing before backward would change the negatives under the backward when the
///   loss keeps a view of them (`info_nce` copies them, so it is safe there, but other code need not be).
/// - FIFO: rows are written at the head, which advances modulo K; once K rows are held, each new row
///   replaces the oldest. A batch larger than K keeps only its last K rows.
/// - `enqueue(keys, mask)` appends only rows whose mask entry is true (e.g. to skip padding or
///   duplicates), in row order.
/// - `keys()` returns the held rows as one [size, D] tensor viewing the buffer (no copy). Once the queue
///   has wrapped, its rows are not in age order; InfoNCE's sum over negatives does not care.
///   `keys_in_order()` copies them oldest first.
/// - `state()` / `load_state()` save and restore the buffer, head and size for checkpoints.

#include <algorithm>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/error.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// Checkpointed state of a `MomentumQueue`.
template <Real T>
struct MomentumQueueState {
  Tensor<T> buffer;  ///< [K, D], all K rows (unfilled rows are zero)
  Index head = 0;    ///< next row to write
  Index size = 0;    ///< rows held, <= K
};

/// A ring buffer of the last `capacity` keys [capacity, dim]: MoCo's queue of negatives (see the file
/// comment). Enqueued rows are copies; the oldest are overwritten once it is full.
template <Real T>
class MomentumQueue {
 public:
  /// An empty queue of `capacity` rows of `dim` values. Both must be positive.
  MomentumQueue(Index capacity, Index dim) {
    check(capacity > 0 && dim > 0, "MomentumQueue: capacity ", capacity, " and dim ", dim, " must be positive");
    buffer_ = Tensor<T>::zeros({capacity, dim});
  }

  /// Rows the queue holds when full.
  Index capacity() const { return buffer_.rows(); }
  /// D, the size of a key.
  Index dim() const { return buffer_.cols(); }
  /// Rows enqueued so far, at most `capacity()`.
  Index size() const { return size_; }
  /// True once `capacity()` rows have been enqueued.
  bool full() const { return size_ == capacity(); }
  /// Row index the next key will be written to.
  Index head() const { return head_; }

  /// Appends the rows of `keys` [B, D] (all of them, or those whose `mask` entry is true; mask has B
  /// entries), overwriting the oldest rows once full. Copies values: `keys` may be a Var's value.
  void enqueue(const Tensor<T>& keys, std::span<const bool> mask = {}) {
    check<ShapeError>(mask.empty() || static_cast<Index>(mask.size()) == keys.rows(),
                      "MomentumQueue::enqueue: mask of ", mask.size(), " entries for ", keys.rows(), " keys");
    push_rows(keys, [&](Index r) { return mask.empty() || mask[static_cast<std::size_t>(r)]; });
  }
  /// The same with the mask in a `std::vector<bool>`.
  void enqueue(const Tensor<T>& keys, const std::vector<bool>& mask) {
    check<ShapeError>(static_cast<Index>(mask.size()) == keys.rows(), "MomentumQueue::enqueue: mask of ",
                      mask.size(), " entries for ", keys.rows(), " keys");
    push_rows(keys, [&](Index r) { return static_cast<bool>(mask[static_cast<std::size_t>(r)]); });
  }
  /// The same for a Var (its value is copied; its graph is not kept).
  void enqueue(const Var<T>& keys, std::span<const bool> mask = {}) { enqueue(keys.value(), mask); }

  /// The held keys, [size, D], viewing the buffer (no copy; not in age order once wrapped).
  Tensor<T> keys() const { return buffer_.slice_rows(0, size_); }

  /// A copy of the held keys, oldest first.
  Tensor<T> keys_in_order() const {
    Tensor<T> out = Tensor<T>::empty({size_, dim()});
    const Index oldest = full() ? head_ : 0;
    auto src = buffer_.matrix(capacity(), dim());
    auto dst = out.matrix(size_, dim());
    for (Index r = 0; r < size_; ++r) dst.row(r) = src.row((oldest + r) % capacity());
    return out;
  }

  /// Empties the queue (capacity and dim unchanged).
  void clear() {
    buffer_.fill(T(0));
    head_ = size_ = 0;
  }

  /// A copy of the state, for checkpoints.
  MomentumQueueState<T> state() const { return {buffer_.clone(), head_, size_}; }

  /// Restores a state saved by `state()`; its buffer must have this queue's shape.
  void load_state(const MomentumQueueState<T>& s) {
    check<ShapeError>(s.buffer.shape() == buffer_.shape(), "MomentumQueue::load_state: buffer ", s.buffer.shape(),
                      " does not match the queue's ", buffer_.shape());
    check(s.size >= 0 && s.size <= capacity() && s.head >= 0 && s.head < capacity() &&
              (s.size == capacity() || s.head == s.size),
          "MomentumQueue::load_state: head ", s.head, " and size ", s.size, " inconsistent with capacity ",
          capacity());
    check<NumericError>(s.buffer.array().isFinite().all(), "MomentumQueue::load_state: the buffer holds a NaN or infinity");
    s.buffer.copy_to(buffer_);
    head_ = s.head;
    size_ = s.size;
  }

 private:
  template <class Keep>
  void push_rows(const Tensor<T>& keys, Keep&& keep) {
    check<ShapeError>(keys.rank() == 2 && keys.dim(1) == dim(), "MomentumQueue::enqueue: keys ", keys.shape(),
                      " must be [B, ", dim(), "]");
    auto src = keys.matrix(keys.rows(), dim());
    auto dst = buffer_.matrix(capacity(), dim());
    for (Index r = 0; r < keys.rows(); ++r) {
      if (!keep(r)) continue;
      dst.row(head_) = src.row(r);
      head_ = (head_ + 1) % capacity();
      size_ = std::min(size_ + 1, capacity());
    }
  }

  Tensor<T> buffer_;
  Index head_ = 0;
  Index size_ = 0;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_SAMPLING_MOMENTUM_QUEUE(P, T) \
  P template class MomentumQueue<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_SAMPLING_MOMENTUM_QUEUE)

}  // namespace simile
