#pragma once
/// \file
/// The pre-norm transformer encoder (Vaswani et al. 2017, with the layer norm moved before each block as in
/// Xiong et al. 2020, which trains without warmup): `TransformerEncoderLayer` and `TransformerEncoder`,
/// PyTorch's `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
/// batch_first=True, norm_first=True)` and `nn.TransformerEncoder(layer, num_layers, norm=LayerNorm)` with
/// the same parameter names (`layers.0.self_attn.in_proj_weight`, `layers.0.linear1.weight`, `norm.weight`,
/// ...), so a checkpoint maps one to one.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/nn/attention.hpp"
#include "simile/nn/dropout.hpp"
#include "simile/nn/layer_norm.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/module.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/ops/shape.hpp"
#include "simile/ops/unary.hpp"

namespace simile::nn {

/// The nonlinearity of a transformer layer's feed-forward block.
enum class TransformerActivation { relu, gelu };

/// Configuration of a `TransformerEncoderLayer`.
struct TransformerEncoderLayerOptions {
  Index d_model = 0;          ///< E, the width (> 0, divisible by nhead)
  Index nhead = 1;            ///< attention heads
  Index dim_feedforward = 0;  ///< width of the feed-forward block (0: 4 E)
  double dropout = 0.1;       ///< on both residual branches and inside the feed-forward block, in [0, 1)
  TransformerActivation activation = TransformerActivation::gelu;  ///< inside the feed-forward block
};

/// One pre-norm layer over x [B, L, E], `key_mask` [B, L] (1: token, 0: padding):
///   h = x + dropout1(self_attn(norm1(x), key_mask))
///   y = h + dropout2(linear2(dropout(act(linear1(norm2(h))))))
/// Children in PyTorch's order: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
template <Real T>
class TransformerEncoderLayer : public Cloneable<TransformerEncoderLayer<T>, T> {
 public:
  /// The attention, norms and feed-forward block of `options`, weights drawn from `rng`. Throws
  /// ValueError for a dropout outside [0, 1), a negative dim_feedforward, or bad attention sizes.
  TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Rng& rng) : options_(options) {
    const Index E = options.d_model, F = options.dim_feedforward > 0 ? options.dim_feedforward : 4 * E;
    check<ValueError>(options.dropout >= 0 && options.dropout < 1, "TransformerEncoderLayer: dropout ",
                      options.dropout, " outside [0, 1)");
    check<ValueError>(options.dim_feedforward >= 0, "TransformerEncoderLayer: dim_feedforward ",
                      options.dim_feedforward, " is negative");
    options_.dim_feedforward = F;
    const DropoutOptions d{options.dropout};
    attn_ = this->register_module("self_attn", std::make_shared<MultiheadAttention<T>>(
                                                   MultiheadAttentionOptions{E, options.nhead}, rng));
    linear1_ = this->register_module("linear1", std::make_shared<Linear<T>>(LinearOptions{E, F}, rng));
    dropout_ = this->register_module("dropout", std::make_shared<Dropout<T>>(d, Rng(rng.next_u64())));
    linear2_ = this->register_module("linear2", std::make_shared<Linear<T>>(LinearOptions{F, E}, rng));
    norm1_ = this->register_module("norm1", std::make_shared<LayerNorm<T>>(LayerNormOptions{E}));
    norm2_ = this->register_module("norm2", std::make_shared<LayerNorm<T>>(LayerNormOptions{E}));
    dropout1_ = this->register_module("dropout1", std::make_shared<Dropout<T>>(d, Rng(rng.next_u64())));
    dropout2_ = this->register_module("dropout2", std::make_shared<Dropout<T>>(d, Rng(rng.next_u64())));
  }

  Var<T> forward(const Var<T>& x) override { return encode(x, Tensor<std::uint8_t>()); }
  /// The layer over x [B, L, E] with padded keys masked (`key_mask` [B, L] or undefined); output [B, L, E].
  Var<T> encode(const Var<T>& x, const Tensor<std::uint8_t>& key_mask) {
    Var<T> h = add(x, this->get(dropout1_).forward(this->get(attn_).attend(this->get(norm1_).forward(x), key_mask)));
    return add(h, this->get(dropout2_).forward(feed_forward(h)));
  }
  /// The layer over the real tokens only, packed as rows x [T, E] (see `MultiheadAttention::attend_packed`):
  /// every part but the attention's score matrix runs on T rows, not B L.
  Var<T> encode_packed(const Var<T>& x, const std::vector<Index>& rows, Index B, Index L,
                       const Tensor<std::uint8_t>& key_mask) {
    Var<T> a = this->get(attn_).attend_packed(this->get(norm1_).forward(x), rows, B, L, key_mask);
    Var<T> h = add(x, this->get(dropout1_).forward(a));
    return add(h, this->get(dropout2_).forward(feed_forward(h)));
  }

  std::string type_name() const override { return "TransformerEncoderLayer"; }
  std::string extra_repr() const override {
    return simile::detail::str("d_model=", options_.d_model, ", nhead=", options_.nhead, ", dim_feedforward=",
                               options_.dim_feedforward, ", dropout=", options_.dropout, ", activation=",
                               options_.activation == TransformerActivation::gelu ? "gelu" : "relu",
                               ", norm_first=true");
  }
  /// The options it was built with.
  const TransformerEncoderLayerOptions& options() const { return options_; }

 private:
  /// linear2(dropout(act(linear1(norm2(h))))), any leading shape.
  Var<T> feed_forward(const Var<T>& h) {
    Var<T> f = this->get(linear1_).forward(this->get(norm2_).forward(h));
    f = options_.activation == TransformerActivation::gelu ? gelu(f) : relu(f);
    return this->get(linear2_).forward(this->get(dropout_).forward(f));
  }

  TransformerEncoderLayerOptions options_;
  ChildId<MultiheadAttention<T>> attn_;
  ChildId<Linear<T>> linear1_, linear2_;
  ChildId<Dropout<T>> dropout_, dropout1_, dropout2_;
  ChildId<LayerNorm<T>> norm1_, norm2_;
};

/// `num_layers` pre-norm layers then a final LayerNorm (pre-norm layers leave the residual stream
/// unnormalized, so the encoder normalizes its output): children `layers` (`layers.0`, `layers.1`, ...) and
/// `norm`. Input [B, L, E], output [B, L, E].
template <Real T>
class TransformerEncoder : public Cloneable<TransformerEncoder<T>, T> {
 public:
  /// `num_layers` layers of options `layer`, weights drawn from `rng` layer by layer. Throws ValueError
  /// when num_layers <= 0.
  TransformerEncoder(const TransformerEncoderLayerOptions& layer, Index num_layers, Rng& rng) : num_layers_(num_layers) {
    check<ValueError>(num_layers > 0, "TransformerEncoder: num_layers ", num_layers, " must be positive");
    auto stack = std::make_shared<Sequential<T>>();
    for (Index i = 0; i < num_layers; ++i) stack->push_back(std::make_shared<TransformerEncoderLayer<T>>(layer, rng));
    layers_ = this->register_module("layers", stack);
    norm_ = this->register_module("norm", std::make_shared<LayerNorm<T>>(LayerNormOptions{layer.d_model}));
  }

  Var<T> forward(const Var<T>& x) override { return encode(x, Tensor<std::uint8_t>()); }
  /// Every layer with padded keys masked (`key_mask` [B, L] or undefined), then the final norm; output
  /// [B, L, E]. With a mask, the layers run on the real tokens only, packed (`encode_packed`), and the
  /// padded positions of the output are zero.
  Var<T> encode(const Var<T>& x, const Tensor<std::uint8_t>& key_mask) {
    check<ShapeError>(x.shape().rank() == 3, "TransformerEncoder: input of shape ", x.shape(), ", expected [B, L, E]");
    Sequential<T>& stack = this->get(layers_);
    auto layer = [&](Index i) -> TransformerEncoderLayer<T>& { return static_cast<TransformerEncoderLayer<T>&>(stack[i]); };
    if (!key_mask.defined() || key_mask.numel() == 0) {
      Var<T> h = x;
      for (Index i = 0; i < num_layers_; ++i) h = layer(i).encode(h, key_mask);
      return this->get(norm_).forward(h);
    }
    const Index B = x.dim(0), L = x.dim(1), E = x.dim(2);
    check<ShapeError>(key_mask.shape() == Shape{B, L}, "TransformerEncoder: key_mask of shape ", key_mask.shape(),
                      " for input ", x.shape());
    std::vector<Index> rows;
    for (Index i = 0; i < B * L; ++i)
      if (key_mask.data()[i]) rows.push_back(i);
    Var<T> h = gather_rows(reshape(x, Shape{B * L, E}), rows);
    for (Index i = 0; i < num_layers_; ++i) h = layer(i).encode_packed(h, rows, B, L, key_mask);
    return reshape(scatter_rows(this->get(norm_).forward(h), rows, B * L), x.shape());
  }

  std::string type_name() const override { return "TransformerEncoder"; }
  /// Number of layers.
  Index num_layers() const { return num_layers_; }

 private:
  Index num_layers_;
  ChildId<Sequential<T>> layers_;
  ChildId<LayerNorm<T>> norm_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_TRANSFORMER(P, T) \
  P template class TransformerEncoderLayer<T>; \
  P template class TransformerEncoder<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_TRANSFORMER)

}  // namespace simile::nn
