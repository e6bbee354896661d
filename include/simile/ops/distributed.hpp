#pragma once
/// \file
/// Ops across ranks, for losses over the global batch of data-parallel training (`core/communicator.hpp`).
///
/// The global batch of B = size x b samples is split into shards of b samples, rank r holding samples
/// r b .. r b + b - 1. A rank's stacked views are [V b, ...] (view v of local sample i at row v b + i);
/// the global stacked views, in the layout of one process with the whole batch, are [V B, ...] with
/// view v of global sample j at row v B + j. So local row v b + i is global row v B + r b + i
/// (`global_view_row`), and the gathered views of N ranks are exactly what one process would hold.
///
/// Gradients: a loss computed from gathered rows is computed whole on every rank (the same value
/// everywhere); the backward of `all_gather_views` then hands each rank the gradient of its own rows
/// only, and the trainer's all-reduce (a sum) of the parameter gradients adds the ranks' shares. Every
/// term is counted once: a rank's rows get the gradient of all the terms they appear in (as anchors,
/// positives and as other ranks' negatives), with no doubling. A loss that is a mean over samples
/// computed on each rank's own shard is made global by `rank_mean`.

#include <algorithm>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/instantiate.hpp"

namespace simile {

/// The global row of local row `row` of a rank's stacked views (`local` samples a view, rank `rank`
/// of `ranks`): view v = row / local, sample i = row % local -> v B + rank b + i.
inline Index global_view_row(Index row, Index local, int rank, int ranks) {
  const Index v = row / local, i = row % local;
  return v * local * ranks + Index(rank) * local + i;
}

/// Checks that every rank holds a tensor of shape `shape` (a collective: every rank must call). A
/// ShapeError on every rank, naming `who`, this rank's shape and the first rank that differs, otherwise:
/// equal shards are what the gathered layouts assume.
inline void check_same_shard(Communicator& comm, const Shape& shape, const char* who) {
  if (comm.size() == 1) return;
  constexpr std::size_t k = Shape::max_rank + 1;  // the rank, then the dimensions
  std::vector<Index> mine(k, -1), all(k * static_cast<std::size_t>(comm.size()));
  mine[0] = shape.rank();
  std::copy(shape.begin(), shape.end(), mine.begin() + 1);
  all_gather(comm, std::span<const Index>(mine), std::span<Index>(all));
  for (int r = 0; r < comm.size(); ++r)
    check<ShapeError>(std::equal(mine.begin(), mine.end(), all.begin() + static_cast<std::ptrdiff_t>(k) * r), who,
                      ": rank ", comm.rank(), " has shape ", shape, ", rank ", r,
                      " another: every rank needs the same shard");
}

/// The global stacked views [V B, ...] from each rank's [V b, ...] (see the file comment), no graph.
/// Every rank must give the same shape (ShapeError naming both otherwise).
template <Real T>
Tensor<T> all_gather_views(Communicator& comm, const Tensor<T>& local, int views) {
  check<ShapeError>(views >= 1 && local.rank() >= 1 && local.dim(0) % views == 0, "all_gather_views: ",
                    local.shape(), " is not ", views, " stacked views");
  const int w = comm.size();
  if (w == 1) return local;
  check_same_shard(comm, local.shape(), "all_gather_views");
  Tensor<T> parts = Tensor<T>::empty(Shape{Index(w) * local.numel()});
  all_gather(comm, std::span<const T>(local.data(), std::size_t(local.numel())), parts.span());
  const Index rows = local.dim(0), b = rows / views, row_size = local.numel() / std::max<Index>(rows, 1);
  Shape gs = local.shape();
  gs[0] = rows * w;
  Tensor<T> out = Tensor<T>::empty(gs);
  for (int r = 0; r < w; ++r)
    for (Index k = 0; k < rows; ++k)
      std::copy_n(parts.data() + (Index(r) * rows + k) * row_size, row_size,
                  out.data() + global_view_row(k, b, r, w) * row_size);
  return out;
}

/// This rank's rows [V b, ...] of global stacked views [V B, ...] (the inverse of `all_gather_views`).
template <Real T>
Tensor<T> local_views(const Tensor<T>& global, int views, int rank, int ranks) {
  check<ShapeError>(global.rank() >= 1 && global.dim(0) % (Index(views) * ranks) == 0, "local_views: ",
                    global.shape(), " is not ", views, " views of a batch split over ", ranks, " ranks");
  if (ranks == 1) return global;
  const Index rows = global.dim(0) / ranks, b = rows / views, row_size = global.numel() / global.dim(0);
  Shape ls = global.shape();
  ls[0] = rows;
  Tensor<T> out = Tensor<T>::empty(ls);
  for (Index k = 0; k < rows; ++k)
    std::copy_n(global.data() + global_view_row(k, b, rank, ranks) * row_size, row_size,
                out.data() + k * row_size);
  return out;
}

/// `all_gather_views` as an op: forward the global views, backward this rank's rows of the gradient
/// (the loss over them is computed whole on every rank; see the file comment).
template <Real T>
Var<T> all_gather_views(Communicator& comm, const Var<T>& local, int views) {
  if (comm.size() == 1) return local;
  const int rank = comm.rank(), ranks = comm.size();
  return make_op<T>("all_gather_views", all_gather_views(comm, local.value(), views), {local},
                    [views, rank, ranks](Node<T>& self) {
                      if (Tensor<T>* g = self.grad_for(0)) g->array() += local_views(self.grad, views, rank, ranks).array();
                    });
}

/// The mean over ranks of a scalar loss that each rank computed on its own shard (equal shards: the
/// mean over the global batch). Backward: dL/dloss_r = 1 / size.
template <Real T>
Var<T> rank_mean(Communicator& comm, const Var<T>& loss) {
  check<ShapeError>(loss.numel() == 1, "rank_mean: expected a scalar loss, got shape ", loss.shape());
  if (comm.size() == 1) return loss;
  const T inv = T(1) / T(comm.size());
  const T sum = all_reduce_sum(comm, loss.value().item());
  return make_op<T>("rank_mean", Tensor<T>::scalar(sum * inv), {loss}, [inv](Node<T>& self) {
    if (Tensor<T>* g = self.grad_for(0)) g->data()[0] += self.grad.item() * inv;
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_DISTRIBUTED(P, T) \
  P template Tensor<T> all_gather_views<T>(Communicator & comm, const Tensor<T>& local, int views); \
  P template Tensor<T> local_views<T>(const Tensor<T>& global, int views, int rank, int ranks); \
  P template Var<T> all_gather_views<T>(Communicator & comm, const Var<T>& local, int views); \
  P template Var<T> rank_mean<T>(Communicator & comm, const Var<T>& loss);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_DISTRIBUTED)

}  // namespace simile
