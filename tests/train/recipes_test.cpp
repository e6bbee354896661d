#include "support/testing.hpp"

#include "support/fashion.hpp"

#include <filesystem>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "simile/nn.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"

namespace simile {
namespace {
namespace fs = std::filesystem;

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
/// `skip` steps are left out of the first mean (MoCo's loss rises while real keys replace the queue's
/// random initial ones).
std::pair<double, double> run(Recipe<float>& recipe, const ImageDataset& data, int epochs, int k = 4, int skip = 0) {
  struct Losses : Callback<float> {
    std::vector<double> v;
    bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), false; }
  };
  ImageViewSource source(Loader<ImageDataset>(data, {.batch_size = 64, .drop_last = true, .seed = 3}), views());
  optim::Adam<float> opt(recipe.model().parameters(), {.lr = 1e-3});
  Trainer<float> trainer(recipe, source, opt, {.epochs = epochs, .threads = 2});
  auto log = std::make_shared<Losses>();
  trainer.add_callback(log);
  trainer.fit();
  double first = 0, last = 0;
  for (int i = 0; i < k; ++i) first += log->v[std::size_t(skip + i)], last += log->v[log->v.size() - 1 - std::size_t(i)];
  return {first / k, last / k};
}

TEST(Recipes, ByolLossFallsAndTheTargetFollowsItsEma) {
  ImageDataset data = testing::fashion_head(512);
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
  ImageDataset data = testing::fashion_head(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(2);
  SimSiam<float> simsiam(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng), mlp({16, 32, 16}, rng));
  auto [first, last] = run(simsiam, data, 4);
  EXPECT_LT(last, first - 0.1) << first << " -> " << last;
  EXPECT_GE(last, -1.0 - 1e-6);  // -cos is bounded below by -1
}

TEST(Recipes, SupConLossFallsAndNeedsLabels) {
  ImageDataset data = testing::fashion_head(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(3);
  SupConRecipe<float> sc(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng));
  EXPECT_TRUE(sc.needs_labels());
  auto [first, last] = run(sc, data, 4);
  EXPECT_LT(last, first - 0.3) << first << " -> " << last;
  ImageDataset unlabeled(data.images(), {});
  ImageViewSource source(Loader<ImageDataset>(unlabeled, {.batch_size = 64}), views());
  optim::Adam<float> opt(sc.model().parameters(), {.lr = 1e-3});
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { Trainer<float>(sc, source, opt, {}); }, {"needs labels"}));
}

TEST(Recipes, MocoLossFallsQueueTakesTheKeysAndTheKeyNetworkFollowsItsEma) {
  ImageDataset data = testing::fashion_head(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(4);
  Moco<float> moco(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng), 16,
                   {.momentum = 0.9, .queue_size = 200, .temperature = 0.2});
  EXPECT_TRUE(moco.queue().full());  // starts with random unit keys
  EXPECT_NEAR(moco.queue().keys().matrix().row(7).norm(), 1.0, 1e-5);
  EXPECT_FALSE(moco.key_network().named_parameters()[0].second.requires_grad());
  Index head = moco.queue().head();
  auto [first, last] = run(moco, data, 4, 4, 3);  // 32 steps of 64 images: 128 keys per step
  EXPECT_LT(last, first - 0.2) << first << " -> " << last;
  EXPECT_EQ(moco.queue().head(), (head + 32 * 128) % 200);  // FIFO with wrap-around
  // One more step by hand: the enqueued rows are this step's keys, and the key network moved by EMA.
  ViewBatch vb = ImageViewSource(Loader<ImageDataset>(data, {.batch_size = 8, .seed = 5}), views()).batch(0);
  Tensor<float> k0 = moco.key_network().named_parameters()[0].second.value().clone();
  Tensor<float> q0 = moco.model().named_parameters()[0].second.value().clone();
  Index before = moco.queue().head();
  moco.loss(vb.views, {});
  moco.after_step(0, 1);
  EXPECT_EQ(moco.queue().head(), (before + 16) % 200);
  Tensor<float> k1 = moco.key_network().named_parameters()[0].second.value();
  for (Index i = 0; i < 20; ++i) EXPECT_NEAR(k1.data()[i], 0.9f * k0.data()[i] + 0.1f * q0.data()[i], 1e-6);
  // The queue and the key network round-trip through a checkpoint dictionary.
  TensorDict d;
  moco.save_state(d, "train.recipe.");
  Rng rng2(99);
  Moco<float> other(mlp({784, 64}, rng2, true), mlp({64, 32, 16}, rng2), 16, {.queue_size = 200});
  other.load_state(d, "train.recipe.");
  EXPECT_EQ(other.queue().head(), moco.queue().head());
  EXPECT_TRUE(testing::tensors_near(other.queue().keys(), moco.queue().keys(), 0, 0));
  EXPECT_TRUE(testing::tensors_near(other.key_network().named_parameters()[0].second.value(), k1, 0, 0));
}

TEST(Recipes, BarlowTwinsAndVicRegLossesFall) {
  ImageDataset data = testing::fashion_head(512);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Rng rng(5);
  BarlowTwins<float> barlow(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng));
  auto [b0, b1] = run(barlow, data, 4);
  EXPECT_LT(b1, b0 * 0.8) << b0 << " -> " << b1;
  VicRegRecipe<float> vicreg(mlp({784, 64}, rng, true), mlp({64, 32, 16}, rng));
  auto [v0, v1] = run(vicreg, data, 4);
  EXPECT_LT(v1, v0 * 0.9) << v0 << " -> " << v1;
}

}  // namespace
}  // namespace simile
