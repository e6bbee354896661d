// One supervised training step of SmallConvNet + Linear(128, 10), the step of
// examples/supervised_fashion_mnist.cpp: forward of a float batch [B, 1, 28, 28], cross-entropy against B
// labels, backward, Adam step (lr 1e-3), gradients dropped before each step.
//
//   simile_bench_step --benchmark_filter=TrainStep     batch 256 at 1 and 2 threads (samples/s counter)
//   /usr/bin/python3 bench/step_torch.py --bench build/enc/bench/simile_bench_step   the same step in PyTorch
//                                                   (NCHW and channels_last) and the ratios, in one run
//
//   simile_bench_step --benchmark_filter=StepBreakdown  where the time goes: the same step with each op run
//                                                   and differentiated on its own, timed by op family
//
// Arguments: batch size, thread count. The input is fixed random data (the step's cost does not depend on
// the values), so the loss counter only shows that the step trains.
#include <benchmark/benchmark.h>

#include <time.h>

#include <memory>
#include <vector>

#include "simile/core/rng.hpp"
#include "simile/encoders.hpp"
#include "simile/nn.hpp"
#include "simile/ops.hpp"
#include "simile/optim.hpp"

namespace {
using namespace simile;

/// The model, optimizer and data of one step.
struct Setup {
  std::shared_ptr<encoders::SmallConvNet<float>> encoder;
  std::shared_ptr<nn::Linear<float>> classifier;
  std::unique_ptr<optim::Adam<float>> optimizer;
  Tensor<float> x;
  std::vector<std::int64_t> labels;
};

Setup make_setup(Index batch, bool blocked = true) {
  Setup s;
  Rng rng(0);
  encoders::SmallConvNetOptions options;
  options.blocked = blocked;
  s.encoder = std::make_shared<encoders::SmallConvNet<float>>(options, rng);
  s.classifier = std::make_shared<nn::Linear<float>>(
      nn::LinearOptions{.in_features = s.encoder->output_dim(), .out_features = 10, .bias = true}, rng);
  std::vector<Var<float>> params = s.encoder->parameters();
  for (const Var<float>& p : s.classifier->parameters()) params.push_back(p);
  optim::AdamOptions adam;
  adam.lr = 1e-3;
  s.optimizer = std::make_unique<optim::Adam<float>>(params, adam);
  s.x = Tensor<float>::empty({batch, 1, 28, 28});
  Rng data(42);
  for (float& v : s.x.span()) v = static_cast<float>(data.uniform(0.0, 1.0));
  s.labels.resize(static_cast<std::size_t>(batch));
  for (auto& l : s.labels) l = static_cast<std::int64_t>(data.below(10));
  return s;
}

/// One training step; returns the loss.
float train_step(Setup& s) {
  s.optimizer->zero_grad();
  Var<float> l = cross_entropy(s.classifier->forward(s.encoder->forward(Var<float>(s.x))), s.labels);
  l.backward();
  s.optimizer->step();
  return l.item();
}

/// Times train_step at `batch`, `threads`, with the encoder's activations channel-blocked or NCHW.
void time_steps(benchmark::State& state, Index batch, int threads, bool blocked) {
  ThreadScope scope(threads);
  Setup s = make_setup(batch, blocked);
  // Untimed warm-up: oneDNN primitives, the caching allocator's blocks and the optimizer's moments are
  // created in the first step.
  train_step(s);
  float loss = 0;
  for (auto _ : state) loss = train_step(s);
  state.counters["samples"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;
  state.SetLabel(s.encoder->runs_blocked() ? "blocked" : "nchw");
}

void BM_TrainStep(benchmark::State& state) {
  time_steps(state, state.range(0), static_cast<int>(state.range(1)), true);
}
BENCHMARK(BM_TrainStep)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{256}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

/// BM_TrainStep with SmallConvNetOptions::blocked off (0) and on (1), at batch 512 (the two views of a
/// SimCLR batch of 256): what keeping the activations channel-blocked is worth, in one run. The label
/// says which layout ran (NCHW where the CPU or build has no blocked layout).
void BM_TrainStepLayout(benchmark::State& state) {
  time_steps(state, state.range(0), static_cast<int>(state.range(1)), state.range(2) != 0);
}
BENCHMARK(BM_TrainStepLayout)
    ->ArgNames({"batch", "threads", "blocked"})
    ->ArgsProduct({{512}, {1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

/// The same supervised step with ResNet-18 (small-image stem, one input channel) as the encoder, at batch
/// 32 of 28x28 images, its activations NCHW (0) or channel-blocked (1): what the blocked layout is worth
/// for an encoder dominated by convolutions and residual additions.
void BM_ResNetStepLayout(benchmark::State& state) {
  const Index batch = state.range(0);
  ThreadScope scope(static_cast<int>(state.range(1)));
  Rng rng(0);
  encoders::ResNet18Options options;
  options.in_channels = 1;
  options.blocked = state.range(2) != 0;
  auto encoder = std::make_shared<encoders::ResNet18<float>>(options, rng);
  nn::Linear<float> classifier(nn::LinearOptions{.in_features = 512, .out_features = 10, .bias = true}, rng);
  std::vector<Var<float>> params = encoder->parameters();
  for (const Var<float>& p : classifier.parameters()) params.push_back(p);
  optim::Adam<float> optimizer(params, optim::AdamOptions{});
  Tensor<float> x = Tensor<float>::empty({batch, 1, 28, 28});
  Rng data(42);
  for (float& v : x.span()) v = static_cast<float>(data.uniform(0.0, 1.0));
  std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int64_t>(data.below(10));
  auto step = [&] {
    optimizer.zero_grad();
    Var<float> l = cross_entropy(classifier.forward(encoder->forward(Var<float>(x))), labels);
    l.backward();
    optimizer.step();
    return l.item();
  };
  step();  // warm-up
  float loss = 0;
  for (auto _ : state) loss = step();
  state.counters["samples"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;
  state.SetLabel(encoder->runs_blocked() ? "blocked" : "nchw");
}
BENCHMARK(BM_ResNetStepLayout)
    ->ArgNames({"batch", "threads", "blocked"})
    ->ArgsProduct({{32}, {2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

/// The step of BM_TrainStep taken apart: every op of the forward pass runs on a leaf holding its input (which
/// requires a gradient, except the images) and is differentiated on its own right away, so each op's forward
/// and backward can be timed, in process CPU time (all threads; a shared machine makes wall-clock time per op
/// meaningless, CPU time stays close to the work done), summed per family over the step. The sum is close to
/// the whole step's CPU time: the same ops, allocations and zero-filled gradient buffers, only the graph walk
/// differs. At 2 threads the CPU time includes the OpenMP workers' spinning at the end of a parallel region.
/// Counters: CPU milliseconds per step of each family's forward (`<family>_f`) and backward (`<family>_b`).
void BM_StepBreakdown(benchmark::State& state) {
  const Index batch = state.range(0);
  ThreadScope scope(static_cast<int>(state.range(1)));
  Setup s = make_setup(batch);
  enum Family { conv, bn_relu, max_pool, avg_pool, linear, loss, count };
  const char* names[count] = {"conv", "bn_relu", "max_pool", "avg_pool", "linear", "xent"};
  double fwd[count] = {}, bwd[count] = {}, adam = 0, zero = 0;
  struct clock {
    static double now() {
      timespec t{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
      return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
    }
  };
  auto since = [](double t0) { return clock::now() - t0; };
  // Runs op on a leaf holding `in`, then its backward from a seed of ones; returns the output value.
  auto run = [&](Family f, const Tensor<float>& in, bool needs_grad, auto op) {
    Var<float> leaf(in, needs_grad);
    auto t0 = clock::now();
    Var<float> out = op(leaf);
    fwd[f] += since(t0);
    Tensor<float> seed = Tensor<float>::ones(out.shape());
    t0 = clock::now();
    out.backward(seed);
    bwd[f] += since(t0);
    return out.value();
  };
  const auto& enc = *s.encoder;
  train_step(s);  // warm-up, as in BM_TrainStep
  for (auto _ : state) {
    auto t0 = clock::now();
    s.optimizer->zero_grad();
    zero += since(t0);
    Tensor<float> y = s.x;
    for (int i = 1; i <= 3; ++i) {
      const std::string k = std::to_string(i);
      Var<float> w = enc.parameter("conv" + k + ".weight");
      Var<float> gamma = enc.parameter("bn" + k + ".weight"), beta = enc.parameter("bn" + k + ".bias");
      Tensor<float> rm = enc.buffer("bn" + k + ".running_mean"), rv = enc.buffer("bn" + k + ".running_var");
      y = run(conv, y, i > 1, [&](const Var<float>& v) { return conv2d(v, w, Conv2dOptions{1, 1}); });
      y = run(bn_relu, y, true, [&](const Var<float>& v) {
        return batch_norm_relu(v, gamma, beta, rm, rv, {.training = true, .momentum = 0.1, .eps = 1e-5});
      });
      if (i < 3) y = run(max_pool, y, true, [](const Var<float>& v) { return max_pool2d(v, 2); });
    }
    y = run(avg_pool, y, true, [](const Var<float>& v) { return global_avg_pool2d(v); });
    y = run(linear, y, true, [&](const Var<float>& v) { return s.classifier->forward(v); });
    run(loss, y, true, [&](const Var<float>& v) { return cross_entropy(v, s.labels); });
    t0 = clock::now();
    s.optimizer->step();
    adam += since(t0);
  }
  const double steps = static_cast<double>(state.iterations());
  double total = adam + zero;
  for (int f = 0; f < count; ++f) {
    state.counters[std::string(names[f]) + "_f"] = 1e3 * fwd[f] / steps;
    state.counters[std::string(names[f]) + "_b"] = 1e3 * bwd[f] / steps;
    total += fwd[f] + bwd[f];
  }
  state.counters["adam"] = 1e3 * adam / steps;
  state.counters["zero_grad"] = 1e3 * zero / steps;
  state.counters["sum"] = 1e3 * total / steps;
}
BENCHMARK(BM_StepBreakdown)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{256}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
