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

/// [rows, d] standard normal values.
Tensor<float> random_rows(Index rows, Index d, std::uint64_t seed) {
  Tensor<float> z = Tensor<float>::empty({rows, d});
  Rng rng(seed);
  for (float& v : z.span()) v = static_cast<float>(rng.normal());
  return z;
}

void run(benchmark::State& state, Index n, int threads, Index tile) {
  const Index d = 128;
  ThreadScope scope(threads);
  Var<float> z(random_rows(2 * n, d, 42), true);
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

// MoCo: N queries against a queue of K negatives (tile 0 keeps the [N, K] logits), D = 128.
void BM_InfoNceQueue(benchmark::State& state) {
  const Index n = state.range(0), k = state.range(1), d = 128;
  ThreadScope scope(static_cast<int>(state.range(2)));
  Var<float> q(random_rows(n, d, 1), true), key(random_rows(n, d, 2), true);
  Tensor<float> queue = random_rows(k, d, 3);
  for (auto _ : state) {
    q.zero_grad();
    key.zero_grad();
    Var<float> l = info_nce(q, key, queue, {.temperature = 0.2, .tile = state.range(3)});
    l.backward();
    benchmark::DoNotOptimize(q.grad().data());
  }
  state.counters["queries"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_InfoNceQueue)
    ->ArgNames({"N", "K", "threads", "tile"})
    ->ArgsProduct({{256}, {16384, 65536}, {2}, {0, 64}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// SupCon on [2N, 128] with 10 classes.
void BM_SupCon(benchmark::State& state) {
  const Index n = state.range(0);
  ThreadScope scope(static_cast<int>(state.range(1)));
  Var<float> z(random_rows(2 * n, 128, 4), true);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(2 * n));
  for (Index i = 0; i < 2 * n; ++i) labels[static_cast<std::size_t>(i)] = (i % n) % 10;
  for (auto _ : state) {
    z.zero_grad();
    Var<float> l = supcon(z, labels, {.temperature = 0.1});
    l.backward();
    benchmark::DoNotOptimize(z.grad().data());
  }
  state.counters["views"] = benchmark::Counter(2.0 * static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SupCon)->ArgNames({"N", "threads"})->Args({1024, 2})->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
