#pragma once
/// \file
/// Supervised contrastive learning (Khosla et al. 2020): SimCLR's architecture, with every view of the
/// same class as a positive. The 2N rows are [view 1 of the batch; view 2 of the batch], their labels
/// the batch's labels twice.

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/supcon.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

struct SupConRecipeOptions {
  double temperature = 0.1;  ///< the paper's value
};

template <Real T>
class SupConRecipe : public Recipe<T> {
 public:
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
    labels2_.assign(labels.begin(), labels.end());
    labels2_.insert(labels2_.end(), labels.begin(), labels.end());
    return supcon(z, labels2_, SupConOptions{.temperature = options_.temperature});
  }

 private:
  std::shared_ptr<nn::Sequential<T>> model_;
  SupConRecipeOptions options_;
  std::vector<std::int64_t> labels2_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_SUPCON(P, T) \
  P template class SupConRecipe<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_SUPCON)

}  // namespace simile
