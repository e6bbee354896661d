#pragma once
/// \file
/// Supervised contrastive learning (Khosla et al. 2020): SimCLR's architecture, with every view of the
/// same class as a positive. The 2N rows are [view 1 of the batch; view 2 of the batch], their labels
/// the batch's labels twice.

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/supcon.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Options of `SupConRecipe`.
struct SupConRecipeOptions {
  double temperature = 0.1;  ///< the paper's value
};

/// Supervised contrastive learning (see the file comment): the model has children "encoder" and
/// "projector"; needs the batch's labels.
template <Real T>
class SupConRecipe : public Recipe<T> {
 public:
  /// The network from its two parts (shared, not copied). Throws ValueError unless the temperature is
  /// positive.
  SupConRecipe(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
               SupConRecipeOptions options = {})
      : model_(detail::named_parts<T>("SupConRecipe",
                                      {{"encoder", std::move(encoder)}, {"projector", std::move(projector)}})),
        options_(options) {
    check(options.temperature > 0, "SupConRecipe: temperature ", options.temperature, " must be positive");
  }
  std::string name() const override { return "supcon"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return (*model_)[0]; }
  bool needs_labels() const override { return true; }

  Var<T> loss(const Views<T>& views, std::span<const std::int64_t> labels) override {
    detail::check_views(views, 2, "SupConRecipe::loss");
    check<ShapeError>(static_cast<Index>(labels.size()) == views.batch(), "SupConRecipe::loss: ", labels.size(),
                      " labels for a batch of ", views.batch());
    Var<T> z = model_->forward(Var<T>(views.data));
    std::vector<std::int64_t> all(labels.begin(), labels.end());
    if (dp_.on()) {
      // Data-parallel: positives and negatives over the global batch, its loss computed whole on every
      // rank; the ranks' label shards in rank order are the global batch's labels.
      z = all_gather_views(*dp_, z, 2);
      all.resize(labels.size() * std::size_t(dp_.comm->size()));
      all_gather(*dp_, labels, std::span<std::int64_t>(all));
    }
    labels2_.assign(all.begin(), all.end());
    labels2_.insert(labels2_.end(), all.begin(), all.end());
    return supcon(z, labels2_, SupConOptions{.temperature = options_.temperature});
  }
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

 private:
  detail::DataParallel dp_;
  std::shared_ptr<nn::Sequential<T>> model_;
  SupConRecipeOptions options_;
  std::vector<std::int64_t> labels2_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_SUPCON(P, T) \
  P template class SupConRecipe<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_SUPCON)

}  // namespace simile
