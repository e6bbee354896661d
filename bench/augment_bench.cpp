// Augmented views per second for the SimCLR Fashion-MNIST pipeline: RandomResizedCrop 28x28 scale
// (0.2, 1), horizontal flip p 0.5, brightness/contrast jitter 0.4 p 0.8, Gaussian noise sigma in
// [0, 0.05]; 2 views per sample, batches of 256 from the Fashion-MNIST test split (10,000 images).
//
//   simile_bench_augment --benchmark_filter=SimclrViews     (argument: thread count)

#include <benchmark/benchmark.h>

#include <filesystem>

#include "simile/augment.hpp"
#include "simile/data.hpp"

namespace {
using namespace simile;

const ImageDataset* fashion_mnist_test() {
  static const ImageDataset* data = [] {
    std::string dir = fashion_mnist_dir;
    if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz")) return static_cast<ImageDataset*>(nullptr);
    return new ImageDataset(load_fashion_mnist(dir, "test"));
  }();
  return data;
}

Pipeline simclr_fashion_mnist() {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  return p;
}

void run_views(benchmark::State& state, const MultiView& views) {
  const ImageDataset* data = fashion_mnist_test();
  if (!data) {
    state.SkipWithError("Fashion-MNIST not installed in /usr/share/datasets/fashion-mnist");
    return;
  }
  ThreadScope threads(static_cast<int>(state.range(0)));
  ImageViewSource source(Loader<ImageDataset>(*data, {.batch_size = 256, .drop_last = true, .seed = 1}), views);
  Index b = 0;
  std::uint64_t epoch = 0;
  std::int64_t made = 0;
  for (auto _ : state) {
    if (b == source.num_batches()) source.set_epoch(++epoch), b = 0;
    ViewBatch batch = source.batch(b++);
    benchmark::DoNotOptimize(batch.views.data.data());
    made += batch.views.data.dim(0);
  }
  state.counters["views/s"] = benchmark::Counter(static_cast<double>(made), benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(state.range(0));
}

void SimclrViews(benchmark::State& state) { run_views(state, MultiView::same(simclr_fashion_mnist(), 2)); }
BENCHMARK(SimclrViews)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Each transform alone (one view), to see where the time goes.
template <class T>
void OneTransform(benchmark::State& state, T t) {
  Pipeline p;
  p.add(std::move(t));
  run_views(state, MultiView::same(p, 1));
}
BENCHMARK_CAPTURE(OneTransform, load_only, Pipeline())->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(OneTransform, crop, RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
    ->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(OneTransform, jitter, ColorJitter({.brightness = 0.4, .contrast = 0.4}))
    ->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(OneTransform, noise, GaussianNoise({.sigma = {0.0, 0.05}}))
    ->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(OneTransform, blur, GaussianBlur({.kernel_size = 3, .sigma = {0.1, 2.0}}))
    ->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(OneTransform, rotation, RandomRotation({.degrees = 15}))
    ->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
