#pragma once
/// \file
/// The dual encoder with in-batch negatives: two views of each sample (two sentences that mean the same,
/// a query and its document, or the same sentence twice) go through one shared encoder and projector as a
/// batch of 2N, and each side's row i must pick its partner among the other side's N rows:
///   L = (1/2) [ InfoNCE(z_a, z_b) + InfoNCE(z_b, z_a) ]   (in-batch form: cross-entropy of the [N, N]
///   cosine logits z_a z_b^T / tau with the diagonal as labels; see losses/info_nce.hpp),
/// the loss of retrieval dual encoders and CLIP (Radford et al. 2021) and, one-directional, of
/// sentence-transformers' MultipleNegativesRankingLoss. Two recipes take this form:
/// - `pairs`: given positive pairs (`TextPairViewSource`);
/// - `simcse`: SimCSE (Gao, Yao, Chen 2021): the same sentence twice, the encoder's dropout the only
///   noise (or token-level views), tau = 0.05.
/// Unlike NT-Xent, a row's own side is not among its negatives: the two sides may be of different kinds.
/// Data-parallel: the embeddings of every rank are gathered, so the negatives are the global batch's.

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/info_nce.hpp"
#include "simile/ops/binary.hpp"
#include "simile/ops/unary.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Options of `DualEncoder` and `dual_encoder_loss`.
struct DualEncoderOptions {
  double temperature = 0.05;  ///< tau > 0 (SimCSE's 0.05)
  bool symmetric = true;      ///< both directions (a -> b and b -> a); else a -> b only, as SimCSE
  Index tile = 0;             ///< InfoNCE tile rows (0: keep the [N, N] logits)
};

/// The loss above of the two sides a [N, D] and b [N, D].
template <Real T>
Var<T> dual_encoder_loss(const Var<T>& a, const Var<T>& b, const DualEncoderOptions& o) {
  check<ValueError>(o.temperature > 0, "dual_encoder_loss: temperature ", o.temperature, " must be positive");
  const InfoNceOptions nce{.temperature = o.temperature, .tile = o.tile};
  Var<T> ab = info_nce(a, b, nce);
  if (!o.symmetric) return ab;
  return scale(add(ab, info_nce(b, a, nce)), T(0.5));
}

/// See the file comment; `name` is "pairs" or "simcse" (recorded in checkpoints).
template <Real T>
class DualEncoder : public detail::HalvesRecipe<T, DualEncoderOptions> {
 public:
  /// The shared network from its two parts (children "encoder" and "projector", shared, not copied).
  /// Throws ValueError unless the temperature is positive.
  DualEncoder(const char* name, std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
              DualEncoderOptions options = {})
      : detail::HalvesRecipe<T, DualEncoderOptions>(name, &dual_encoder_loss<T>, std::move(encoder),
                                                    std::move(projector), options) {
    check<ValueError>(options.temperature > 0, "DualEncoder: temperature ", options.temperature, " must be positive");
  }
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_DUAL_ENCODER(P, T) \
  P template class DualEncoder<T>; \
  P template Var<T> dual_encoder_loss<T>(const Var<T>& a, const Var<T>& b, const DualEncoderOptions& o);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_DUAL_ENCODER)

}  // namespace simile
