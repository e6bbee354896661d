#include "support/testing.hpp"

#include <filesystem>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "simile/nn.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"

namespace simile {
namespace {
namespace fs = std::filesystem;

ImageDataset fashion(Index n) {
  if (!fs::exists(std::string(fashion_mnist_dir) + "/train-images-idx3-ubyte.gz")) return {};
  ImageDataset all = load_fashion_mnist(fashion_mnist_dir, "train");
  std::vector<Index> idx(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  return subset(all, idx);
}

MultiView views() {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.3, 1.0}})).add(HorizontalFlip{}, 0.5);
  return MultiView::same(p, 2);
}

std::shared_ptr<nn::Module<float>> mlp(std::vector<Index> sizes, Rng& rng, bool flatten = false) {
  auto seq = std::make_shared<nn::Sequential<float>>();
  if (flatten) seq->push_back(std::make_shared<nn::Flatten<float>>());
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    seq->push_back(std::make_shared<nn::Linear<float>>(nn::LinearOptions{sizes[i], sizes[i + 1]}, rng));
    if (i + 2 < sizes.size() || flatten) seq->push_back(std::make_shared<nn::ReLU<float>>());
  }
  return seq;
}

/// Mean loss of the first and of the last `k` steps of a short run.
std::pair<double, double> run(Recipe<float>& recipe, const ImageDataset& data, int epochs, int k = 4) {
  struct Losses : Callback<float> {
    std::vector<double> v;
    bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), false; }
  };
  Loader<ImageDataset> loader(data, {.batch_size = 64, .drop_last = true, .seed = 3});
  optim::Adam<float> opt(recipe.model().parameters(), {.lr = 1e-3});
  Trainer<float> trainer(recipe, loader, views(), opt, {.epochs = epochs, .threads = 2});
  auto log = std::make_shared<Losses>();
  trainer.add_callback(log);
  trainer.fit();
  double first = 0, last = 0;
  for (int i = 0; i < k; ++i) first += log->v[std::size_t(i)], last += log->v[log->v.size() - 1 - std::size_t(i)];
  return {first / k, last / k};
}

TEST(Recipes, ByolLossFallsAndTheTargetFollowsItsEma) {
  ImageDataset data = fashion(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(1);
  Byol<float> byol(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng), mlp({16, 32, 16}, rng), {.tau_base = 0.9});
  // The target starts as a copy of the online encoder + projector, with no gradient.
  auto online = byol.model().named_parameters();
  auto target = byol.target().named_parameters();
  ASSERT_EQ(target.size(), online.size() - 4);  // no predictor
  EXPECT_TRUE(testing::tensors_near(target[0].second.value(), online[0].second.value(), 0, 0));
  EXPECT_FALSE(target[0].second.requires_grad());
  auto [first, last] = run(byol, data, 4);
  EXPECT_LT(last, first - 0.2) << first << " -> " << last;
  // After training, one more EMA step follows the rule exactly.
  Tensor<float> t0 = byol.target().named_parameters()[0].second.value().clone();
  Tensor<float> o0 = byol.model().named_parameters()[0].second.value().clone();
  byol.after_step(0, 100);  // tau = byol_momentum(0.9, 1, 100)
  double tau = byol_momentum(0.9, 1, 100);
  Tensor<float> t1 = byol.target().named_parameters()[0].second.value();
  for (Index i = 0; i < 50; ++i)
    EXPECT_NEAR(t1.data()[i], tau * t0.data()[i] + (1 - tau) * o0.data()[i], 1e-6);
}

TEST(Recipes, SimSiamLossFalls) {
  ImageDataset data = fashion(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(2);
  SimSiam<float> simsiam(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng), mlp({16, 32, 16}, rng));
  auto [first, last] = run(simsiam, data, 4);
  EXPECT_LT(last, first - 0.1) << first << " -> " << last;
  EXPECT_GE(last, -1.0 - 1e-6);  // -cos is bounded below by -1
}

TEST(Recipes, SupConLossFallsAndNeedsLabels) {
  ImageDataset data = fashion(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(3);
  SupConRecipe<float> sc(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng));
  EXPECT_TRUE(sc.needs_labels());
  auto [first, last] = run(sc, data, 4);
  EXPECT_LT(last, first - 0.3) << first << " -> " << last;
  ImageDataset unlabeled(data.images(), {});
  Loader<ImageDataset> loader(unlabeled, {.batch_size = 64});
  optim::Adam<float> opt(sc.model().parameters(), {.lr = 1e-3});
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { Trainer<float>(sc, loader, views(), opt, {}); }, {"needs labels"}));
}

}  // namespace
}  // namespace simile
