#pragma once
/// \file
/// Supervised contrastive learning (Khosla et al. 2020): SimCLR's architecture, with every view of the
/// same class as a positive. The 2N rows are [view 1 of the batch; view 2 of the batch], their labels
/// the batch's labels twice.

#include <memory>

#include "simile/losses/supcon.hpp"
#include "simile/train/recipes/simclr.hpp"

namespace simile {

struct SupConRecipeOptions {
  double temperature = 0.1;  ///< the paper's value
};

template <Real T>
class SupConRecipe : public Recipe<T> {
 public:
  SupConRecipe(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
               SupConRecipeOptions options = {})
      : model_(std::make_shared<nn::Chain<T>>()), options_(options) {
    check(encoder && projector, "SupConRecipe: encoder and projector must be given");
    check(options.temperature > 0, "SupConRecipe: temperature ", options.temperature, " must be positive");
    model_->add("encoder", std::move(encoder)).add("projector", std::move(projector));
  }
  std::string name() const override { return "supcon"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return model_->part(0); }
  bool needs_labels() const override { return true; }

  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t> labels) override {
    check(views.size() == 2, "SupConRecipe::loss: expected 2 views, got ", views.size());
    check<ShapeError>(static_cast<Index>(labels.size()) == views[0].dim(0), "SupConRecipe::loss: ", labels.size(),
                      " labels for a batch of ", views[0].dim(0));
    Var<T> z = model_->forward(Var<T>(detail::stack_views(views, "SupConRecipe::loss")));
    labels2_.assign(labels.begin(), labels.end());
    labels2_.insert(labels2_.end(), labels.begin(), labels.end());
    return supcon(z, labels2_, SupConOptions{.temperature = options_.temperature});
  }

 private:
  std::shared_ptr<nn::Chain<T>> model_;
  SupConRecipeOptions options_;
  std::vector<std::int64_t> labels2_;
};

}  // namespace simile
