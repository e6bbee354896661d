// The simile `matmul` op against plain Eigen GEMM on the same shapes, float32.
//
// The requirement this serves: the op must keep at least 90% of plain Eigen's rate on the same shape in
// the same run (its only extra work is the graph node, the output tensor from the caching allocator
// and, in backward, zero-filling the gradients it accumulates into).
//
//   matmul/eigen/forward            C.noalias() = A * B on row-major maps
//   matmul/simile/forward           simile::matmul(a, b), inputs not requiring a gradient
//   matmul/eigen/forward_backward   C = A B, dA = G B^T, dB = A^T G on row-major maps
//   matmul/simile/forward_backward  simile::matmul(a, b).backward(G) with a and b trainable
//
// Shapes (M x K by K x N): square 256, 512, 1024, 2048, and the skinny products of a training batch
// (512x784 by 784x256: the first layer of an MLP encoder on Fashion-MNIST; 512x128 by 128x512: a
// similarity matrix of 512 embeddings of dimension 128). Each at 1 and 2 threads (simile::set_num_threads,
// which sets Eigen's too). GFLOP/s counts 2MKN per product (forward: one product; forward+backward:
// three), over wall-clock time since Eigen's GEMM runs on OpenMP worker threads; the CPU column is the
// whole process's CPU time (all threads). The variants of one shape and thread count run next to each
// other: on a loaded machine compare their ratios, and prefer the CPU-time ratio, which the scheduler
// disturbs far less than wall-clock time.
//
//   ./build/release/bench/simile_bench_matmul --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "simile/autograd/var.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/ops/matmul.hpp"

namespace {
using simile::Index;
using simile::Tensor;
using simile::Var;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<Matrix>;

Tensor<float> random(Index rows, Index cols, std::uint64_t seed) {
  Tensor<float> t = Tensor<float>::empty({rows, cols});
  simile::Rng rng(seed);
  for (float& v : t.span()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

struct Shape3 {
  Index m, k, n;
};

void set_rate(benchmark::State& state, const Shape3& s, int products) {
  double flops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n) * products;
  state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * flops * 1e-9,
                                                 benchmark::Counter::kIsRate);
}

void eigen_forward(benchmark::State& state, Shape3 s, int threads) {
  simile::ThreadScope scope(threads);
  Tensor<float> a = random(s.m, s.k, 1), b = random(s.k, s.n, 2), c = Tensor<float>::empty({s.m, s.n});
  Map A(a.data(), s.m, s.k), B(b.data(), s.k, s.n), C(c.data(), s.m, s.n);
  for (auto _ : state) {
    C.noalias() = A * B;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s, 1);
}

void simile_forward(benchmark::State& state, Shape3 s, int threads) {
  simile::ThreadScope scope(threads);
  Var<float> a(random(s.m, s.k, 1)), b(random(s.k, s.n, 2));
  for (auto _ : state) {
    Var<float> c = simile::matmul(a, b);
    benchmark::DoNotOptimize(c.value().data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s, 1);
}

void eigen_forward_backward(benchmark::State& state, Shape3 s, int threads) {
  simile::ThreadScope scope(threads);
  Tensor<float> a = random(s.m, s.k, 1), b = random(s.k, s.n, 2), g = random(s.m, s.n, 3);
  Tensor<float> c = Tensor<float>::empty({s.m, s.n}), da = Tensor<float>::empty({s.m, s.k}),
                db = Tensor<float>::empty({s.k, s.n});
  Map A(a.data(), s.m, s.k), B(b.data(), s.k, s.n), G(g.data(), s.m, s.n), C(c.data(), s.m, s.n),
      dA(da.data(), s.m, s.k), dB(db.data(), s.k, s.n);
  for (auto _ : state) {
    C.noalias() = A * B;
    dA.noalias() = G * B.transpose();
    dB.noalias() = A.transpose() * G;
    benchmark::DoNotOptimize(c.data());
    benchmark::DoNotOptimize(da.data());
    benchmark::DoNotOptimize(db.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s, 3);
}

void simile_forward_backward(benchmark::State& state, Shape3 s, int threads) {
  simile::ThreadScope scope(threads);
  Var<float> a(random(s.m, s.k, 1), true), b(random(s.k, s.n, 2), true);
  Tensor<float> g = random(s.m, s.n, 3);
  for (auto _ : state) {
    a.zero_grad();
    b.zero_grad();
    Var<float> c = simile::matmul(a, b);
    c.backward(g);
    benchmark::DoNotOptimize(a.grad().data());
    benchmark::DoNotOptimize(b.grad().data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s, 3);
}

void register_all() {
  const std::array<Shape3, 6> shapes{{{256, 256, 256},
                                      {512, 512, 512},
                                      {1024, 1024, 1024},
                                      {2048, 2048, 2048},
                                      {512, 784, 256},
                                      {512, 128, 512}}};
  for (int threads : {1, 2})
    for (const Shape3& s : shapes) {
      std::string shape = "/M:" + std::to_string(s.m) + "/K:" + std::to_string(s.k) + "/N:" + std::to_string(s.n) +
                          "/threads:" + std::to_string(threads);
      auto add = [&](const char* name, void (*f)(benchmark::State&, Shape3, int)) {
        benchmark::RegisterBenchmark((std::string("matmul/") + name + shape).c_str(), f, s, threads)
            ->UseRealTime()
            ->MeasureProcessCPUTime()
            ->Unit(benchmark::kMillisecond);
      };
      add("eigen/forward", eigen_forward);
      add("simile/forward", simile_forward);
      add("eigen/forward_backward", eigen_forward_backward);
      add("simile/forward_backward", simile_forward_backward);
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
