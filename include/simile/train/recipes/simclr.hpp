#pragma once
/// \file
/// SimCLR (Chen, Kornblith, Norouzi, Hinton 2020): one encoder f and a projection head g; the two views
/// of a batch of N images go through g(f(.)) together as one batch of 2N (rows i and N + i are the two
/// views of image i), and NT-Xent treats each row's partner as its positive and the other 2N - 2 rows as
/// negatives. Batch-norm statistics are those of the 2N views, as in single-device SimCLR.

#include <memory>

#include "simile/losses/nt_xent.hpp"
#include "simile/ops/shape.hpp"
#include "simile/train/recipe.hpp"

namespace simile {

struct SimClrOptions {
  double temperature = 0.5;  ///< NT-Xent temperature tau
  Index tile = 0;            ///< NT-Xent tile rows (0: plain, > 0: memory-bounded)
};

namespace detail {
/// The views stacked along dimension 0 into one batch [V * B, ...] (no graph: data needs no gradient).
template <Real T>
Tensor<T> stack_views(const std::vector<Tensor<T>>& views, const char* who) {
  check(!views.empty(), who, ": no views");
  Shape s = views[0].shape();
  for (const auto& v : views)
    check<ShapeError>(v.shape() == s, who, ": views of shapes ", s, " and ", v.shape(), " differ");
  Shape out = s;
  out[0] = s[0] * static_cast<Index>(views.size());
  Tensor<T> x = Tensor<T>::empty(out);
  for (std::size_t v = 0; v < views.size(); ++v) views[v].copy_to(x.slice_rows(static_cast<Index>(v) * s[0], (static_cast<Index>(v) + 1) * s[0]));
  return x;
}
}  // namespace detail

template <Real T>
class SimClr : public Recipe<T> {
 public:
  /// `encoder` gives h, `projector` maps h to z (SimCLR: Linear-BN-ReLU-Linear).
  SimClr(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector, SimClrOptions options = {})
      : model_(std::make_shared<nn::Chain<T>>()), options_(options) {
    check(encoder && projector, "SimClr: encoder and projector must be given");
    check(options.temperature > 0, "SimClr: temperature ", options.temperature, " must be positive");
    model_->add("encoder", std::move(encoder)).add("projector", std::move(projector));
  }

  std::string name() const override { return "simclr"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return model_->part(0); }

  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "SimClr::loss: expected 2 views, got ", views.size());
    Var<T> z = model_->forward(Var<T>(detail::stack_views(views, "SimClr::loss")));
    return nt_xent(z, NtXentOptions{.temperature = options_.temperature, .tile = options_.tile});
  }

 private:
  std::shared_ptr<nn::Chain<T>> model_;
  SimClrOptions options_;
};

}  // namespace simile
