#pragma once
/// \file
/// Barlow Twins (Zbontar et al. 2021) and VICReg (Bardes, Ponce, LeCun 2022) as recipes: an encoder and
/// a projector, the two views as one batch of 2N, and a loss on the two halves of the embeddings that
/// needs no negatives (Barlow Twins: the cross-correlation of the standardized embeddings toward the
/// identity; VICReg: variance, invariance and covariance terms).

#include <memory>

#include "simile/losses/barlow_twins.hpp"
#include "simile/losses/vicreg.hpp"
#include "simile/train/recipes/byol.hpp"

namespace simile {

template <Real T>
class BarlowTwins : public Recipe<T> {
 public:
  BarlowTwins(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
              BarlowTwinsOptions options = {})
      : model_(std::make_shared<nn::Chain<T>>()), options_(options) {
    check(encoder && projector, "BarlowTwins: encoder and projector must be given");
    model_->add("encoder", std::move(encoder)).add("projector", std::move(projector));
  }
  std::string name() const override { return "barlow"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return model_->part(0); }
  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "BarlowTwins::loss: expected 2 views, got ", views.size());
    auto [z1, z2] = detail::halves(model_->forward(Var<T>(detail::stack_views(views, "BarlowTwins::loss"))));
    return barlow_twins(z1, z2, options_);
  }

 private:
  std::shared_ptr<nn::Chain<T>> model_;
  BarlowTwinsOptions options_;
};

template <Real T>
class VicRegRecipe : public Recipe<T> {
 public:
  VicRegRecipe(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
               VicRegOptions options = {})
      : model_(std::make_shared<nn::Chain<T>>()), options_(options) {
    check(encoder && projector, "VicRegRecipe: encoder and projector must be given");
    model_->add("encoder", std::move(encoder)).add("projector", std::move(projector));
  }
  std::string name() const override { return "vicreg"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return model_->part(0); }
  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "VicRegRecipe::loss: expected 2 views, got ", views.size());
    auto [z1, z2] = detail::halves(model_->forward(Var<T>(detail::stack_views(views, "VicRegRecipe::loss"))));
    return vicreg(z1, z2, options_);
  }

 private:
  std::shared_ptr<nn::Chain<T>> model_;
  VicRegOptions options_;
};

}  // namespace simile
