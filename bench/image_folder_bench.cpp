// Image folders: decode throughput (PNG and JPEG files decoded and fitted to 28x28 gray, no cache) and
// cache-load throughput (the same folder from its decoded cache), on a folder of synthetic 64x48 RGB
// images written once into $TMPDIR (or /tmp): 2,000 images, textured so that they compress like photos
// rather than flat colours.
//
//   simile_bench_image_folder --benchmark_filter=Decode    (arguments: format 0 PNG / 1 JPEG, thread count)
//   simile_bench_image_folder --benchmark_filter=CacheLoad (argument: thread count; the load is one read)

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/data/image_folder.hpp"

namespace {
using namespace simile;
namespace fs = std::filesystem;

constexpr Index images = 2000, height = 48, width = 64;

/// The benchmark folder for a format, written on first use: 10 classes of 200 images.
std::string folder(bool jpeg) {
  const char* tmp = std::getenv("TMPDIR");
  fs::path root = fs::path(tmp && *tmp ? tmp : "/tmp") / (std::string("simile_bench_images_") + (jpeg ? "jpg" : "png"));
  if (fs::exists(root / "9" / (std::to_string(images - 1) + (jpeg ? ".jpg" : ".png")))) return root.string();
  ThreadScope threads(hardware_threads());
  for (int c = 0; c < 10; ++c) fs::create_directories(root / std::to_string(c));
  parallel_for(0, images, 16, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      Rng rng = Rng::stream(7, std::uint64_t(i));
      Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({3, height, width});
      for (Index k = 0; k < t.numel(); ++k)
        t.data()[k] = std::uint8_t((k % width) * 3 + (k / width % height) * 2 + rng.below(32));
      fs::path p = root / std::to_string(i * 10 / images) / (std::to_string(i) + (jpeg ? ".jpg" : ".png"));
      if (jpeg) write_jpeg(p.string(), t);
      else write_png(p.string(), t);
    }
  });
  return root.string();
}

void Decode(benchmark::State& state) {
  const std::string root = folder(state.range(0) == 1);
  ThreadScope threads(static_cast<int>(state.range(1)));
  std::int64_t done = 0;
  for (auto _ : state) {
    ImageFolder f = load_image_folder(root, {.channels = 1, .height = 28, .width = 28, .cache = false});
    benchmark::DoNotOptimize(f.data.images().data());
    done += f.data.size();
  }
  state.counters["images/s"] = benchmark::Counter(double(done), benchmark::Counter::kIsRate);
  state.counters["threads"] = double(state.range(1));
}
BENCHMARK(Decode)->ArgsProduct({{0, 1}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

void CacheLoad(benchmark::State& state) {
  const std::string root = folder(false);
  ThreadScope threads(static_cast<int>(state.range(0)));
  const ImageFolderOptions o{.channels = 1, .height = 28, .width = 28};
  load_image_folder(root, o);  // writes the cache
  std::int64_t done = 0;
  for (auto _ : state) {
    ImageFolder f = load_image_folder(root, o);
    if (!f.from_cache) state.SkipWithError("the cache was not used");
    benchmark::DoNotOptimize(f.data.images().data());
    done += f.data.size();
  }
  state.counters["images/s"] = benchmark::Counter(double(done), benchmark::Counter::kIsRate);
  state.counters["threads"] = double(state.range(0));
}
BENCHMARK(CacheLoad)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
