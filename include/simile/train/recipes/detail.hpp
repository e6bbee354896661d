#pragma once
/// \file
/// What the recipes share (not for users): the model as named parts, the check of the view count, the
/// two halves of a two-view batch, and the recipe of an encoder, a projector and a loss on the two halves.
/// Every recipe includes this and never another recipe.

#include <initializer_list>
#include <memory>
#include <utility>

#include "simile/nn/batch_norm.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/ops/shape.hpp"
#include "simile/train/recipe.hpp"

namespace simile::detail {

/// An `nn::Sequential` of named parts ({"encoder", f}, {"projector", g}, ...), so that checkpoint keys
/// read `encoder.conv1.weight`, `projector.0.weight`. Every part must be given (ValueError naming
/// `who` and the part otherwise).
template <Real T>
std::shared_ptr<nn::Sequential<T>> named_parts(
    const char* who, std::initializer_list<std::pair<const char*, std::shared_ptr<nn::Module<T>>>> parts) {
  auto model = std::make_shared<nn::Sequential<T>>();
  for (const auto& [name, module] : parts) {
    check(module != nullptr, who, ": the ", name, " must be given");
    model->add(name, module);
  }
  return model;
}

/// What a recipe keeps for data-parallel training: the communicator, null in one process.
struct DataParallel {
  std::shared_ptr<Communicator> comm;
  /// The communicator, or null in one process (as the losses' options take it).
  Communicator* get() const { return comm.get(); }
  bool on() const { return is_distributed(comm.get()); }
  Communicator& operator*() const { return *comm; }
};

/// The common part of `Recipe::distribute`: keeps `comm` and, with `sync_batch_norm`, synchronizes the
/// batch norms of `networks` (those that see the global batch; MoCo's key network keeps its own).
template <Real T>
void distribute(DataParallel& dp, const std::shared_ptr<Communicator>& comm, bool sync_batch_norm,
                std::initializer_list<nn::Module<T>*> networks) {
  dp.comm = comm;
  if (sync_batch_norm)
    for (nn::Module<T>* m : networks) nn::set_batch_norm_sync(*m, comm);
}

/// Checks that `views` holds `count` views of at least one sample each (ValueError naming `who`).
template <Real T>
void check_views(const Views<T>& views, int count, const char* who) {
  check(views.count == count, who, ": expected ", count, " views, got ", views.count);
  check(views.data.rank() >= 1 && views.batch() >= 1 && views.data.dim(0) == Index(count) * views.batch(), who,
        ": views of shape ", views.data.shape(), " are not ", count, " stacked views of a non-empty batch");
}

/// Rows [0, N) and [N, 2N) of a [2N, D] Var: the two views' outputs.
template <Real T>
std::pair<Var<T>, Var<T>> halves(const Var<T>& x) {
  Index n = x.dim(0) / 2;
  return {slice_rows(x, 0, n), slice_rows(x, n, 2 * n)};
}

/// An encoder and a projector; the two views go through them as one batch of 2N and `loss` compares the
/// two halves of the embeddings (the shape of Barlow Twins, VICReg and the dual encoder).
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
    detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

 private:
  DataParallel dp_;
  const char* name_;
  Loss loss_;
  std::shared_ptr<nn::Sequential<T>> model_;
  Options options_;
};

}  // namespace simile::detail
