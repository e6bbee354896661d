#pragma once
/// \file
/// Barlow Twins (Zbontar et al. 2021) and VICReg (Bardes, Ponce, LeCun 2022) as recipes: an encoder and
/// a projector, the two views as one batch of 2N, and a loss on the two halves of the embeddings that
/// needs no negatives (Barlow Twins: the cross-correlation of the standardized embeddings toward the
/// identity; VICReg: variance, invariance and covariance terms).

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/barlow_twins.hpp"
#include "simile/losses/vicreg.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

namespace detail {
/// An encoder and a projector; the two views go through them as one batch of 2N and `loss` compares the
/// two halves of the embeddings (the shape of Barlow Twins and VICReg).
template <Real T, class Options>
class HalvesRecipe : public Recipe<T> {
 public:
  using Loss = Var<T> (*)(const Var<T>&, const Var<T>&, const Options&);

  HalvesRecipe(const char* name, Loss loss, std::shared_ptr<nn::Module<T>> encoder,
               std::shared_ptr<nn::Module<T>> projector, Options options)
      : name_(name),
        loss_(loss),
        model_(named_parts<T>(name, {{"encoder", std::move(encoder)}, {"projector", std::move(projector)}})),
        options_(options) {}
  std::string name() const override { return name_; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return (*model_)[0]; }
  Var<T> loss(const Views<T>& views, std::span<const std::int64_t>) override {
    check_views(views, 2, name_);
    Var<T> z = model_->forward(Var<T>(views.data));
    // Data-parallel: the loss of the global batch, computed whole on every rank from the gathered
    // embeddings (cross-correlation and covariance over all ranks' samples).
    if (dp_.on()) z = all_gather_views(*dp_, z, 2);
    auto [z1, z2] = halves(z);
    return loss_(z1, z2, options_);
  }
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    simile::detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

 private:
  DataParallel dp_;
  const char* name_;
  Loss loss_;
  std::shared_ptr<nn::Sequential<T>> model_;
  Options options_;
};
}  // namespace detail

/// Barlow Twins: the cross-correlation of the two views' standardized embeddings toward the identity.
template <Real T>
class BarlowTwins : public detail::HalvesRecipe<T, BarlowTwinsOptions> {
 public:
  BarlowTwins(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
              BarlowTwinsOptions options = {})
      : detail::HalvesRecipe<T, BarlowTwinsOptions>("barlow", &barlow_twins<T>, std::move(encoder),
                                                    std::move(projector), options) {}
};

/// VICReg: variance, invariance and covariance terms on the two views' embeddings.
template <Real T>
class VicRegRecipe : public detail::HalvesRecipe<T, VicRegOptions> {
 public:
  VicRegRecipe(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
               VicRegOptions options = {})
      : detail::HalvesRecipe<T, VicRegOptions>("vicreg", &vicreg<T>, std::move(encoder), std::move(projector),
                                               options) {}
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_BARLOW(P, T) \
  P template class BarlowTwins<T>; \
  P template class VicRegRecipe<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_BARLOW)

}  // namespace simile
