#pragma once
/// \file
/// `Embedding`: a lookup table of learned vectors indexed by token id, PyTorch's `nn.Embedding` (same
/// parameter name, shape, initialization and `padding_idx` meaning, so a checkpoint maps one to one).

#include <cmath>
#include <cstdint>
#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/init.hpp"
#include "simile/nn/module.hpp"
#include "simile/ops/embedding.hpp"

namespace simile::nn {

/// Configuration of an `Embedding`.
struct EmbeddingOptions {
  Index num_embeddings = 0;  ///< V, the number of ids (> 0)
  Index embedding_dim = 0;   ///< D, the width of a vector (> 0)
  Index padding_idx = -1;    ///< an id whose row starts at zero and is never trained (-1: none)
};

/// Token ids held in a real tensor (the trainer's views carry ids as floats, exact below 2^24) as int32,
/// the type `embedding` takes. Throws ValueError naming `who` and the position of a value that is
/// negative, not an integer or not below 2^31.
template <Real T>
Tensor<std::int32_t> ids_from_values(const char* who, const Tensor<T>& values) {
  Tensor<std::int32_t> ids = Tensor<std::int32_t>::empty(values.shape());
  const T* v = values.data();
  std::int32_t* out = ids.data();
  for (Index i = 0; i < values.numel(); ++i) {
    check<ValueError>(v[i] >= 0 && v[i] < T(2147483647.0) && std::floor(v[i]) == v[i], who, ": token id ", v[i],
                      " at position ", i, " is not a non-negative integer");
    out[i] = static_cast<std::int32_t>(v[i]);
  }
  return ids;
}

/// y[..., :] = weight[ids[...], :].
/// - Parameter: `weight` [num_embeddings, embedding_dim], initialized N(0, 1) (PyTorch's default), the
///   `padding_idx` row set to zero; that row receives no gradient, so it stays zero.
/// - Input: ids [...] of any shape, as a real tensor of integer values (`forward`) or as int32 (`lookup`);
///   output [..., embedding_dim]. An id outside [0, num_embeddings) is a ValueError.
/// The backward adds into the rows of the ids used only (see `embedding`).
template <Real T>
class Embedding : public Cloneable<Embedding<T>, T> {
 public:
  /// A table [num_embeddings, embedding_dim] drawn from `rng` (the padding row zero). Throws ValueError
  /// for a non-positive size or a padding_idx outside [-1, num_embeddings).
  Embedding(const EmbeddingOptions& options, Rng& rng) : options_(options) {
    check<ValueError>(options.num_embeddings > 0 && options.embedding_dim > 0, "Embedding: num_embeddings ",
                      options.num_embeddings, " and embedding_dim ", options.embedding_dim, " must be positive");
    check<ValueError>(options.padding_idx >= -1 && options.padding_idx < options.num_embeddings,
                      "Embedding: padding_idx ", options.padding_idx, " outside [-1, ", options.num_embeddings, ")");
    weight_ = this->register_parameter("weight", Tensor<T>::empty({options.num_embeddings, options.embedding_dim}));
    init::normal(weight().value(), 0.0, 1.0, rng);
    if (options.padding_idx >= 0) {
      T* row = weight().value().data() + options.padding_idx * options.embedding_dim;
      std::fill(row, row + options.embedding_dim, T(0));
    }
  }

  Var<T> forward(const Var<T>& ids) override { return lookup(ids_from_values("Embedding", ids.value())); }
  /// The rows of `ids` [...] -> [..., embedding_dim].
  Var<T> lookup(const Tensor<std::int32_t>& ids) const { return embedding(weight(), ids, options_.padding_idx); }

  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override {
    std::string s = simile::detail::str(options_.num_embeddings, ", ", options_.embedding_dim);
    if (options_.padding_idx >= 0) s += simile::detail::str(", padding_idx=", options_.padding_idx);
    return s;
  }
  /// The options it was built with.
  const EmbeddingOptions& options() const { return options_; }
  /// The table [num_embeddings, embedding_dim].
  const Var<T>& weight() const { return this->get(weight_); }

 private:
  EmbeddingOptions options_;
  ParameterId weight_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_NN_EMBEDDING(P, T) \
  P template class Embedding<T>; \
  P template Tensor<std::int32_t> ids_from_values<T>(const char* who, const Tensor<T>& values);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_NN_EMBEDDING)

}  // namespace simile::nn
