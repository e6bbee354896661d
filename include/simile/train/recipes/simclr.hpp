#pragma once
/// \file
/// SimCLR (Chen, Kornblith, Norouzi, Hinton 2020): one encoder f and a projection head g; the two views
/// of a batch of N images go through g(f(.)) together as one batch of 2N (rows i and N + i are the two
/// views of image i), and NT-Xent treats each row's partner as its positive and the other 2N - 2 rows as
/// negatives. Batch-norm statistics are those of the 2N views, as in single-device SimCLR. Data-parallel
/// (`distribute`): the negatives and batch-norm statistics are those of the global batch.

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/nt_xent.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Options of `SimClr`.
struct SimClrOptions {
  double temperature = 0.5;  ///< NT-Xent temperature tau
  Index tile = 0;            ///< NT-Xent tile rows (0: plain, > 0: memory-bounded)
};

/// SimCLR (see the file comment): the model has children "encoder" and "projector"; NT-Xent on the 2N
/// projections.
template <Real T>
class SimClr : public Recipe<T> {
 public:
  /// `encoder` gives h, `projector` maps h to z (SimCLR: Linear-BN-ReLU-Linear).
  SimClr(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector, SimClrOptions options = {})
      : model_(detail::named_parts<T>("SimClr", {{"encoder", std::move(encoder)}, {"projector", std::move(projector)}})),
        options_(options) {
    check(options.temperature > 0, "SimClr: temperature ", options.temperature, " must be positive");
  }

  std::string name() const override { return "simclr"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return (*model_)[0]; }

  Var<T> loss(const Views<T>& views, std::span<const std::int64_t>) override {
    detail::check_views(views, 2, "SimClr::loss");
    Var<T> z = model_->forward(Var<T>(views.data));
    return nt_xent(z, NtXentOptions{.temperature = options_.temperature, .tile = options_.tile, .comm = dp_.get()});
  }
  /// Global negatives: NT-Xent over every rank's views; synchronized batch norm in encoder and projector.
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

 private:
  detail::DataParallel dp_;
  std::shared_ptr<nn::Sequential<T>> model_;
  SimClrOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_SIMCLR(P, T) \
  P template class SimClr<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_SIMCLR)

}  // namespace simile
