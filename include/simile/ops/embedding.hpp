#pragma once
/// \file
/// Embedding lookup, the first op of a text encoder: token ids index the rows of a [V, D] table
/// (PyTorch's `F.embedding`, with `nn.Embedding`'s `padding_idx`).
///
/// The backward is a scatter-add into the rows that occur. It is made deterministic at any thread count
/// by grouping the positions by id with a counting sort (stable, so each id's positions stay in position
/// order), then running in parallel over the distinct ids: each row of the gradient is written by one
/// thread, which adds its positions' gradients in position order.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/unary.hpp"

namespace simile {

namespace detail {
/// "[i, j, ...]": the multi-index of flat position `flat` in a row-major tensor of `shape`.
inline std::string multi_index(const Shape& shape, Index flat) {
  std::vector<Index> idx(static_cast<std::size_t>(shape.rank()));
  for (int a = shape.rank() - 1; a >= 0; --a) {
    const Index n = std::max<Index>(shape[a], 1);
    idx[static_cast<std::size_t>(a)] = flat % n;
    flat /= n;
  }
  std::string s = "[";
  for (std::size_t a = 0; a < idx.size(); ++a) s += (a ? ", " : "") + std::to_string(idx[a]);
  return s + "]";
}
}  // namespace detail

/// Rows of `weight` [V, D] picked by `ids` of any shape [...] (rank 0 to 5), shape [..., D]:
///   y[p, :] = weight[ids[p], :]   for every position p of ids.
/// Backward (scatter-add): dweight[r, :] += sum over the positions p with ids[p] = r, in position order,
/// of dy[p, :]; rows that never occur are not touched, and the row `padding_idx` (when >= 0) gets no
/// gradient at all, as PyTorch's `nn.Embedding(padding_idx=...)` (its forward still returns that row).
/// `weight`'s gradient is accumulated (the dense [V, D] buffer of `grad_for`). The result does not depend
/// on the thread count. `ids` is copied, so the caller may reuse its buffer before backward.
/// Throws ShapeError when weight is not 2-D, ids is undefined or has rank above 5; ValueError for an id
/// outside [0, V) (naming the id, its position and V) or padding_idx outside [-1, V).
template <Real T>
Var<T> embedding(const Var<T>& weight, const Tensor<std::int32_t>& ids, Index padding_idx = -1) {
  check<ShapeError>(weight.shape().rank() == 2, "embedding: expected weight of shape [V, D], got ", weight.shape());
  check<ShapeError>(ids.defined(), "embedding: ids is undefined");
  check<ShapeError>(ids.rank() < Shape::max_rank, "embedding: ids of shape ", ids.shape(), " has rank ", ids.rank(),
                    ", at most ", Shape::max_rank - 1, " (the output adds a dimension)");
  const Index V = weight.dim(0), D = weight.dim(1), N = ids.numel();
  check<ValueError>(padding_idx >= -1 && padding_idx < V, "embedding: padding_idx ", padding_idx, " outside [-1, ", V,
                    ") for weight of shape ", weight.shape());
  const std::int32_t* pid = ids.data();
  for (Index p = 0; p < N; ++p)
    if (pid[p] < 0 || pid[p] >= V) [[unlikely]]
      check<ValueError>(false, "embedding: id ", pid[p], " at position ", detail::multi_index(ids.shape(), p),
                        " of ids ", ids.shape(), " out of range for ", V, " rows");

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor<T> y = Tensor<T>::empty(out_shape);
  const T* pw = weight.value().data();
  T* py = y.data();
  const Index grain = std::max<Index>(1, detail::elementwise_grain / std::max<Index>(D, 1));
  parallel_for(0, N, grain, [&](Index b, Index e) {
    for (Index p = b; p < e; ++p)
      std::memcpy(py + p * D, pw + static_cast<Index>(pid[p]) * D, static_cast<std::size_t>(D) * sizeof(T));
  });

  return make_op<T>("embedding", std::move(y), {weight}, [ids = ids.clone(), V, D, N, padding_idx](Node<T>& self) {
    Tensor<T>* gw = self.grad_for(0);
    if (!gw) return;
    const std::int32_t* pid = ids.data();
    // Counting sort of the positions by id: start[r] .. start[r + 1] index `order`, positions ascending.
    std::vector<Index> start(static_cast<std::size_t>(V) + 1, 0);
    for (Index p = 0; p < N; ++p) ++start[static_cast<std::size_t>(pid[p]) + 1];
    std::vector<std::int32_t> rows;  // the distinct ids that receive a gradient, ascending
    for (Index r = 0; r < V; ++r) {
      if (start[static_cast<std::size_t>(r) + 1] > 0 && r != padding_idx) rows.push_back(static_cast<std::int32_t>(r));
      start[static_cast<std::size_t>(r) + 1] += start[static_cast<std::size_t>(r)];
    }
    std::vector<Index> order(static_cast<std::size_t>(N));
    {
      std::vector<Index> next(start.begin(), start.end() - 1);
      for (Index p = 0; p < N; ++p) order[static_cast<std::size_t>(next[static_cast<std::size_t>(pid[p])]++)] = p;
    }
    const T* pg = self.grad.data();
    T* pd = gw->data();
    const Index n_rows = static_cast<Index>(rows.size());
    // Grain in rows: about `elementwise_grain` gradient values per chunk on average.
    const Index grain = std::max<Index>(1, detail::elementwise_grain * n_rows / std::max<Index>(N * D, 1));
    parallel_for(0, n_rows, grain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        const std::size_t r = static_cast<std::size_t>(rows[static_cast<std::size_t>(i)]);
        T* dr = pd + static_cast<Index>(r) * D;
        for (Index j = start[r]; j < start[r + 1]; ++j) {
          const T* gr = pg + order[static_cast<std::size_t>(j)] * D;
          for (Index k = 0; k < D; ++k) dr[k] += gr[k];
        }
      }
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_EMBEDDING(P, T) \
  P template Var<T> embedding<T>(const Var<T>& weight, const Tensor<std::int32_t>& ids, Index padding_idx);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_EMBEDDING)

}  // namespace simile
