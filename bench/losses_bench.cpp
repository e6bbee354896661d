// Benchmarks of the fused losses: NT-Xent forward + backward, float32, D = 128.
//
//   simile_bench_losses --benchmark_filter=NtXent/         plain and tiled, N = 256, 1024, 4096 views per side
//   simile_bench_losses --benchmark_filter=NtXentMemory    N = 65,536 views per side, tiled; run it alone:
//                                                          its peak_rss_mb counter is the process's peak
//
// Arguments: N (views per side, z is [2N, 128]), thread count, tile (0 = the whole 2N x 2N matrix kept).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "simile/core/rng.hpp"
#include "simile/losses.hpp"

namespace {
using namespace simile;

Tensor<float> random_views(Index n, Index d, std::uint64_t seed) {
  Tensor<float> z = Tensor<float>::empty({2 * n, d});
  Rng rng(seed);
  for (float& v : z.span()) v = static_cast<float>(rng.normal());
  return z;
}

void run(benchmark::State& state, Index n, int threads, Index tile) {
  const Index d = 128;
  ThreadScope scope(threads);
  Var<float> z(random_views(n, d, 42), true);
  float loss = 0;
  for (auto _ : state) {
    z.zero_grad();
    Var<float> l = nt_xent(z, {.temperature = 0.1, .tile = tile});
    l.backward();
    loss = l.item();
    benchmark::DoNotOptimize(z.grad().data());
  }
  const double rows = 2.0 * static_cast<double>(n);
  // Multiply-adds of the GEMMs: 2 (plain) or 3 (tiled) products of [2N, 128] x [128, 2N].
  const double gemm_flops = (tile == 0 ? 2.0 : 3.0) * 2.0 * rows * rows * static_cast<double>(d);
  state.counters["views"] = benchmark::Counter(rows, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["gemm_flops"] = benchmark::Counter(gemm_flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["peak_rss_mb"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void BM_NtXent(benchmark::State& state) {
  run(state, state.range(0), static_cast<int>(state.range(1)), state.range(2));
}
BENCHMARK(BM_NtXent)
    ->ArgNames({"N", "threads", "tile"})
    ->ArgsProduct({{256, 1024, 4096}, {1, 2}, {0, 256}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// 65,536 views per side: the [131072, 131072] float matrix would take 69 GB; the tiled loss keeps
// [tile, 2N] per thread.
void BM_NtXentMemory(benchmark::State& state) {
  run(state, state.range(0), static_cast<int>(state.range(1)), state.range(2));
}
BENCHMARK(BM_NtXentMemory)
    ->ArgNames({"N", "threads", "tile"})
    ->Args({65536, 2, 256})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
