#pragma once
/// \file
/// `MultiheadAttention`: self-attention with an input projection to queries, keys and values, the fused
/// `multi_head_attention` op, and an output projection; PyTorch's `nn.MultiheadAttention(embed_dim,
/// num_heads, batch_first=True)` (parameter names `in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
/// `out_proj.bias`, same shapes and initialization), so a checkpoint maps one to one.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/attention.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/matmul.hpp"
#include "simile/ops/shape.hpp"

namespace simile::nn {

/// Configuration of a `MultiheadAttention`.
struct MultiheadAttentionOptions {
  Index embed_dim = 0;  ///< E, the model width (> 0)
  Index num_heads = 1;  ///< H, dividing E; each head has width E / H
};

/// Self-attention over x [B, L, E]:
///   q = x W_q^T + b_q, k = x W_k^T + b_k, v = x W_v^T + b_v   (W_q, W_k, W_v the row blocks of in_proj_weight)
///   o_h = softmax(q_h k_h^T / sqrt(E / H) + mask) v_h for each head h (columns h E/H .. (h+1) E/H - 1)
///   y = [o_1 ... o_H] W_o^T + b_o                               (out_proj)
/// `key_mask` [B, L] (1: a token, 0: padding) keeps padded keys out of every softmax; output [B, L, E].
/// Parameters: `in_proj_weight` [3E, E] (Xavier uniform), `in_proj_bias` [3E] (zero), `out_proj` a Linear
/// E -> E (PyTorch's Linear initialization, bias zero). Unlike PyTorch, no dropout on the attention weights.
template <Real T>
class MultiheadAttention : public Cloneable<MultiheadAttention<T>, T> {
 public:
  /// The projections of `options`, weights drawn from `rng`. Throws ValueError unless embed_dim and
  /// num_heads are positive and num_heads divides embed_dim.
  MultiheadAttention(const MultiheadAttentionOptions& options, Rng& rng) : options_(options) {
    const Index E = options.embed_dim;
    check<ValueError>(E > 0 && options.num_heads > 0 && E % options.num_heads == 0,
                      "MultiheadAttention: embed_dim ", E, " must be positive and divisible by num_heads ",
                      options.num_heads);
    in_weight_ = this->register_parameter("in_proj_weight", Tensor<T>::empty({3 * E, E}));
    in_bias_ = this->register_parameter("in_proj_bias", Tensor<T>::zeros({3 * E}));
    out_ = this->register_module("out_proj", std::make_shared<Linear<T>>(LinearOptions{E, E}, rng));
    init::xavier_uniform(this->get(in_weight_).value(), rng);
    init::constant(this->get(out_).bias().value(), 0.0);
  }

  /// Self-attention with every key visible.
  Var<T> forward(const Var<T>& x) override { return attend(x, Tensor<std::uint8_t>()); }
  /// Self-attention over x [B, L, E] with padded keys masked out (`key_mask` [B, L], or undefined: none).
  Var<T> attend(const Var<T>& x, const Tensor<std::uint8_t>& key_mask) {
    const Index E = options_.embed_dim;
    check<ShapeError>(x.shape().rank() == 3 && x.dim(2) == E, "MultiheadAttention: input of shape ", x.shape(),
                      ", expected [B, L, ", E, "]");
    Var<T> x2 = reshape(x, Shape{x.dim(0) * x.dim(1), E});
    auto project = [&](Index part) { return reshape(projection(x2, part), x.shape()); };
    Var<T> o = multi_head_attention(project(0), project(1), project(2), static_cast<int>(options_.num_heads), key_mask);
    return this->get(out_).forward(o);
  }

  /// The same attention for B sequences of length L whose real tokens come packed as rows x [T, E]: packed
  /// row r is position `rows[r]` = b L + t of the padded layout, and `key_mask` [B, L] is 1 exactly there.
  /// The projections run on the T real tokens only; the attention itself on the padded layout. Output
  /// [T, E], packed alike. With short sequences padded to a long one this saves most of the work.
  Var<T> attend_packed(const Var<T>& x, const std::vector<Index>& rows, Index B, Index L,
                       const Tensor<std::uint8_t>& key_mask) {
    const Index E = options_.embed_dim;
    check<ShapeError>(x.shape().rank() == 2 && x.dim(1) == E && x.dim(0) == static_cast<Index>(rows.size()),
                      "MultiheadAttention::attend_packed: input of shape ", x.shape(), ", expected [", rows.size(),
                      ", ", E, "]");
    auto project = [&](Index part) { return reshape(scatter_rows(projection(x, part), rows, B * L), Shape{B, L, E}); };
    Var<T> o = multi_head_attention(project(0), project(1), project(2), static_cast<int>(options_.num_heads), key_mask);
    return this->get(out_).forward(gather_rows(reshape(o, Shape{B * L, E}), rows));
  }

  std::string type_name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override {
    return simile::detail::str("embed_dim=", options_.embed_dim, ", num_heads=", options_.num_heads);
  }
  /// The options it was built with.
  const MultiheadAttentionOptions& options() const { return options_; }

 private:
  /// Rows x [N, E] projected by block `part` (0: q, 1: k, 2: v) of the input projection: x W_part^T + b_part.
  Var<T> projection(const Var<T>& x, Index part) const {
    const Index E = options_.embed_dim;
    return add(matmul(x, slice_rows(this->get(in_weight_), part * E, (part + 1) * E), false, true),
               slice_rows(this->get(in_bias_), part * E, (part + 1) * E));
  }

  MultiheadAttentionOptions options_;
  ParameterId in_weight_, in_bias_;
  ChildId<Linear<T>> out_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_ATTENTION(P, T) \
  P template class MultiheadAttention<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_ATTENTION)

}  // namespace simile::nn
