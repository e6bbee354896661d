#include "simile/train.hpp"
#include "support/testing.hpp"

#include <filesystem>

#include "simile/simile.hpp"

namespace simile {
namespace {

/// After warm-up, a whole SimCLR training step (views, SmallConvNet forward and backward through the
/// default convolution backend, NT-Xent, Adam) takes no new memory from the system: every tensor comes
/// from the caching allocator's free lists.
TEST(Allocation, TrainingStepTakesNothingFromTheSystemAfterWarmUp) {
  Rng rng(0);
  Tensor<std::uint8_t> images = Tensor<std::uint8_t>::empty({256, 1, 28, 28});
  for (auto& p : images.span()) p = static_cast<std::uint8_t>(rng.below(256));
  ImageDataset data(images);
  auto encoder = std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.in_channels = 1}, rng);
  auto projector = std::make_shared<heads::ProjectionHead<float>>(
      heads::ProjectionHeadOptions{.in_features = 128, .hidden_features = 128, .out_features = 64}, rng);
  SimClr<float> simclr(encoder, projector);
  optim::Adam<float> adam(simclr.model().parameters(), {.lr = 1e-3});
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}})).add(HorizontalFlip{}, 0.5);
  ImageViewSource source(Loader<ImageDataset>(data, {.batch_size = 64, .drop_last = true}), MultiView::same(p, 2));
  Trainer<float> trainer(simclr, source, adam, {.epochs = 2, .threads = 2});

  struct Watch : Callback<float> {
    std::vector<AllocatorStats> at;
    bool on_step_end(const StepInfo&) override { return at.push_back(CachingAllocator::instance().stats()), false; }
  };
  auto watch = std::make_shared<Watch>();
  trainer.add_callback(watch);
  trainer.fit();  // 8 steps over two epochs
  ASSERT_EQ(watch->at.size(), 8u);
  // Steps 3 to 8 (the second epoch included) allocate nothing new from the system.
  EXPECT_EQ(watch->at[7].system_allocations, watch->at[1].system_allocations);
  EXPECT_GT(watch->at[7].cache_hits, watch->at[1].cache_hits + 100);
}

}  // namespace
}  // namespace simile
