// The collectives of data-parallel training, for the scaling model of docs/DISTRIBUTED.md:
//   mpiexec -n 2 build/release/bench/simile_bench_collectives
// (without a launcher it measures the single-process path, where every collective is a copy or nothing).
// Sizes: SmallConvNet + SimCLR projector gradients (117,920 floats: 92,896 in the encoder, 25,024 in the projector), ResNet-18's (11.2 M), NT-Xent's
// gathered normalized rows (2 x 128 views x 64 per rank), batch-norm statistics (2 x 128 + 1 doubles).
// Every rank runs the same fixed iteration counts (collectives must match); rank 0 reports.
#include <benchmark/benchmark.h>

#include <vector>

#include "simile/core/communicator.hpp"
#include "simile/core/mpi.hpp"

namespace {

simile::Communicator& world() {
  static const std::shared_ptr<simile::Communicator> w = simile::launch_world();
  return *w;
}

void BM_AllReduceSum(benchmark::State& state) {
  std::vector<float> g(static_cast<std::size_t>(state.range(0)), 1.0f);
  for (auto _ : state) {
    simile::all_reduce_sum(world(), std::span<float>(g));
    benchmark::DoNotOptimize(g.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * state.range(0) * std::int64_t(sizeof(float)));
  state.counters["ranks"] = world().size();
}
BENCHMARK(BM_AllReduceSum)->Arg(117920)->Iterations(400)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AllReduceSum)->Arg(11173962)->Iterations(20)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AllReduceSumStatistics(benchmark::State& state) {
  std::vector<double> s(static_cast<std::size_t>(state.range(0)), 1.0);
  for (auto _ : state) simile::all_reduce_sum(world(), std::span<double>(s));
  state.counters["ranks"] = world().size();
}
BENCHMARK(BM_AllReduceSumStatistics)->Arg(257)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_AllGather(benchmark::State& state) {
  std::vector<float> mine(static_cast<std::size_t>(state.range(0)), 1.0f);
  std::vector<float> all(mine.size() * static_cast<std::size_t>(world().size()));
  for (auto _ : state) {
    simile::all_gather(world(), std::span<const float>(mine), std::span<float>(all));
    benchmark::DoNotOptimize(all.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * state.range(0) * std::int64_t(sizeof(float)));
  state.counters["ranks"] = world().size();
}
BENCHMARK(BM_AllGather)->Arg(2 * 128 * 64)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Barrier(benchmark::State& state) {
  for (auto _ : state) world().barrier();
  state.counters["ranks"] = world().size();
}
BENCHMARK(BM_Barrier)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

/// The other ranks run the benchmarks silently.
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (world().rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  return 0;
}
