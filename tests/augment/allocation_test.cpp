// Counts heap allocations (this binary replaces the global operator new) to check that a warmed-up
// pipeline allocates nothing per view and a batch of views allocates a constant number of blocks
// (its output tensors and their vector), whatever the batch size.

#include <atomic>
#include <cstdlib>
#include <new>

#include "simile/augment.hpp"
#include "simile/data/loader.hpp"
#include "support/testing.hpp"

namespace {
std::atomic<long> allocations{0};
}

// GCC cannot see that these replace the allocation functions as a pair and warns about free().
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace simile {
namespace {

ImageDataset random_images(Index n) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({n, 1, 28, 28});
  Rng rng(1);
  for (auto& v : t.span()) v = static_cast<std::uint8_t>(rng.below(256));
  return ImageDataset(t);
}

Pipeline full_pipeline() {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(VerticalFlip{}, 0.1)
      .add(RandomRotation({.degrees = 10}), 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianBlur({.kernel_size = 5, .sigma = {0.1, 2.0}}), 0.5)
      .add(Solarize(0.5f), 0.2)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}))
      .add(RandomErasing({}), 0.5)
      .add(Normalize({0.286f}, {0.353f}));
  return p;
}

TEST(Allocation, WarmPipelineAllocatesNothingPerView) {
  ImageDataset d = random_images(64);
  MultiView mv = MultiView::same(full_pipeline(), 2);
  Image work;
  for (Index i = 0; i < 64; ++i) mv.make(d.get(i), 1, 0, i, 0, work);  // warm up: buffers reach their size
  long before = allocations.load();
  for (std::uint64_t e = 1; e < 20; ++e)
    for (Index i = 0; i < 64; ++i)
      for (int v = 0; v < 2; ++v) mv.make(d.get(i), 1, e, i, v, work);
  EXPECT_EQ(allocations.load() - before, 0);
}

TEST(Allocation, BatchAllocationsDoNotGrowWithBatchSize) {
  ThreadScope one(1);
  ImageDataset d = random_images(256);
  MultiView mv = MultiView::same(full_pipeline(), 2);
  std::vector<Index> idx(256);
  for (Index i = 0; i < 256; ++i) idx[std::size_t(i)] = i;
  ViewWorkspace ws;
  auto count = [&](Index b) {
    mv.make_batch(d, std::span<const Index>(idx.data(), std::size_t(b)), 3, 0, ws);  // warm the cache
    long before = allocations.load();
    mv.make_batch(d, std::span<const Index>(idx.data(), std::size_t(b)), 3, 1, ws);
    return allocations.load() - before;
  };
  long small = count(16), large = count(256);
  EXPECT_EQ(small, large);
  EXPECT_LE(large, 8);  // two tensors (control blocks), their vector, the shapes vector
}

}  // namespace
}  // namespace simile
