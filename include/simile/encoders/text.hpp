#pragma once
/// \file
/// `TextEncoder`: token ids [B, L] (padded with id 0, `Vocabulary::pad`) to a sentence embedding h [B, D],
/// in two sizes:
/// - `bag`: an embedding bag and an MLP (fastText-like; Joulin et al. 2017): h = W_2 relu(W_1 mean_t e_t + b_1) + b_2,
///   the mean over the real tokens (padding masked out);
/// - `transformer`: a small pre-norm transformer (`nn::TransformerEncoder`) over token plus learned position
///   embeddings, its outputs averaged over the real tokens (mean pooling, as sentence-transformers do).
/// Dropout after the embeddings (and inside the transformer) is what makes two passes of the same sentence
/// differ: SimCSE's views (Gao, Yao, Chen 2021).
///
/// The trainer's text views carry ids as floats (`TextViewSource`), which `forward` reads; `encode` takes
/// int32 ids. Sequences longer than `max_length` are cut to their first `max_length` tokens (the transformer's
/// position table has that many rows).
///
/// Parameter names follow PyTorch modules of the same structure: `embedding.weight`, `position.weight`,
/// `encoder.layers.0.self_attn.in_proj_weight`, ..., `encoder.norm.weight` (transformer); `embedding.weight`,
/// `mlp.0.weight`, `mlp.2.weight` (bag).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/encoders/mlp.hpp"
#include "simile/nn/dropout.hpp"
#include "simile/nn/embedding.hpp"
#include "simile/nn/transformer.hpp"
#include "simile/ops/masked_mean.hpp"

namespace simile::encoders {

/// The two text encoders.
enum class TextArchitecture { bag, transformer };

/// "bag" or "transformer", as the command-line tool spells them.
inline const char* to_string(TextArchitecture a) { return a == TextArchitecture::bag ? "bag" : "transformer"; }

/// Configuration of a `TextEncoder`.
struct TextEncoderOptions {
  TextArchitecture architecture = TextArchitecture::transformer;  ///< bag of embeddings or transformer
  Index vocab_size = 0;       ///< V, ids 0..V-1 (id 0 is padding)
  Index width = 128;          ///< D, embedding and model width, and the width of h
  Index layers = 2;           ///< transformer layers
  Index heads = 4;            ///< attention heads (dividing width)
  Index feedforward = 0;      ///< transformer feed-forward width (0: 4 D); bag: hidden width of the MLP (0: 2 D)
  Index max_length = 64;      ///< longest sequence (position table rows); longer ones are cut
  double dropout = 0.1;       ///< after the embeddings and inside the transformer, in [0, 1)
};

/// See the file comment. Input ids [B, L] (real-valued, integer ids; 0 = padding), output h [B, width].
/// A sequence of padding only gives h = 0 (bag: the MLP of zero) rather than NaN.
template <Real T>
class TextEncoder : public nn::Cloneable<TextEncoder<T>, T> {
 public:
  /// The layers of `o`, weights drawn from `rng`. Throws ValueError for a vocabulary of 3 ids or fewer,
  /// a non-positive width or length, a dropout outside [0, 1), or (transformer) a width the heads do not
  /// divide.
  TextEncoder(const TextEncoderOptions& o, Rng& rng) : options_(o) {
    check<ValueError>(o.vocab_size > 3, "TextEncoder: vocab_size ", o.vocab_size, " must exceed the 3 reserved ids");
    check<ValueError>(o.width > 0 && o.max_length > 0 && o.feedforward >= 0, "TextEncoder: width ", o.width,
                      ", max_length ", o.max_length, " must be positive and feedforward ", o.feedforward, " >= 0");
    check<ValueError>(o.dropout >= 0 && o.dropout < 1, "TextEncoder: dropout ", o.dropout, " outside [0, 1)");
    embedding_ = this->register_module(
        "embedding", std::make_shared<nn::Embedding<T>>(nn::EmbeddingOptions{o.vocab_size, o.width, 0}, rng));
    if (o.architecture == TextArchitecture::transformer) {
      check<ValueError>(o.layers > 0 && o.heads > 0 && o.width % o.heads == 0, "TextEncoder: layers ", o.layers,
                        " must be positive and heads ", o.heads, " must divide width ", o.width);
      position_ = this->register_module(
          "position", std::make_shared<nn::Embedding<T>>(nn::EmbeddingOptions{o.max_length, o.width}, rng));
      dropout_ = this->register_module("dropout", std::make_shared<nn::Dropout<T>>(nn::DropoutOptions{o.dropout},
                                                                                  Rng(rng.next_u64())));
      encoder_ = this->register_module(
          "encoder", std::make_shared<nn::TransformerEncoder<T>>(
                         nn::TransformerEncoderLayerOptions{.d_model = o.width, .nhead = o.heads,
                                                            .dim_feedforward = o.feedforward, .dropout = o.dropout},
                         o.layers, rng));
      // Token and position vectors start small, as in BERT (N(0, 0.02^2)): N(0, 1) rows would swamp the
      // residual stream the first layers add to.
      scale_rows(rng);
    } else {
      dropout_ = this->register_module("dropout", std::make_shared<nn::Dropout<T>>(nn::DropoutOptions{o.dropout},
                                                                                  Rng(rng.next_u64())));
      const Index hidden = o.feedforward > 0 ? o.feedforward : 2 * o.width;
      mlp_ = this->register_module("mlp", std::make_shared<Mlp<T>>(MlpOptions{.sizes = {o.width, hidden, o.width}}, rng));
    }
  }

  Var<T> forward(const Var<T>& ids) override {
    check<ShapeError>(ids.shape().rank() == 2, "TextEncoder: input of shape ", ids.shape(), ", expected ids [B, L]");
    return encode(nn::ids_from_values("TextEncoder", ids.value()));
  }

  /// h [B, width] of token ids [B, L] (0 = padding, anywhere; ids in [0, vocab_size)).
  Var<T> encode(const Tensor<std::int32_t>& ids) {
    check<ShapeError>(ids.rank() == 2, "TextEncoder::encode: ids of shape ", ids.shape(), ", expected [B, L]");
    Tensor<std::int32_t> cut = ids.dim(1) > options_.max_length ? first_columns(ids, options_.max_length) : ids;
    const Index B = cut.dim(0), L = cut.dim(1);
    Tensor<std::uint8_t> mask = Tensor<std::uint8_t>::empty({B, L});
    for (Index i = 0; i < B * L; ++i) mask.data()[i] = cut.data()[i] != 0;
    Var<T> x = this->get(embedding_).lookup(cut);
    if (options_.architecture == TextArchitecture::bag) {
      Var<T> pooled = masked_mean(this->get(*dropout_).forward(x), mask);
      return this->get(*mlp_).forward(pooled);
    }
    Tensor<std::int32_t> positions = Tensor<std::int32_t>::empty({B, L});
    for (Index b = 0; b < B; ++b)
      for (Index t = 0; t < L; ++t) positions.data()[b * L + t] = static_cast<std::int32_t>(t);
    x = this->get(*dropout_).forward(add(x, this->get(*position_).lookup(positions)));
    return masked_mean(this->get(*encoder_).encode(x, mask), mask);
  }

  std::string type_name() const override { return "TextEncoder"; }
  std::string extra_repr() const override {
    return simile::detail::str("architecture=", to_string(options_.architecture), ", vocab_size=", options_.vocab_size,
                               ", width=", options_.width, ", max_length=", options_.max_length);
  }
  /// The options it was built with.
  const TextEncoderOptions& options() const { return options_; }
  /// The width of h.
  Index output_dim() const { return options_.width; }

 private:
  static Tensor<std::int32_t> first_columns(const Tensor<std::int32_t>& ids, Index n) {
    const Index B = ids.dim(0), L = ids.dim(1);
    Tensor<std::int32_t> out = Tensor<std::int32_t>::empty({B, n});
    for (Index b = 0; b < B; ++b) std::copy_n(ids.data() + b * L, n, out.data() + b * n);
    return out;
  }
  void scale_rows(Rng& rng) {
    for (nn::Embedding<T>* e : {&this->get(embedding_), &this->get(*position_)}) {
      nn::init::normal(e->weight().value(), 0.0, 0.02, rng);
      if (e->options().padding_idx >= 0) {
        T* row = e->weight().value().data() + e->options().padding_idx * options_.width;
        std::fill(row, row + options_.width, T(0));
      }
    }
  }

  TextEncoderOptions options_;
  nn::ChildId<nn::Embedding<T>> embedding_;
  std::optional<nn::ChildId<nn::Embedding<T>>> position_;
  std::optional<nn::ChildId<nn::Dropout<T>>> dropout_;
  std::optional<nn::ChildId<nn::TransformerEncoder<T>>> encoder_;
  std::optional<nn::ChildId<Mlp<T>>> mlp_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_TEXT(P, T) \
  P template class TextEncoder<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_TEXT)

}  // namespace simile::encoders
