// Forward + backward of the batch norm -> ReLU -> 2x2 max-pool stage of a small ConvNet encoder at the
// SimCLR step sizes (batch 512): [512, 32, 28, 28], [512, 64, 14, 14], [512, 128, 7, 7], as separate ops
// (batch_norm, relu, max_pool2d), with the fused batch_norm_relu, with the whole stage fused
// (batch_norm_relu_max_pool2d), and that fused op on channel-blocked x [N, C / 16, H, W, 16] (BM_..._Blocked,
// the layout of SmallConvNet's oneDNN path; block 16 whatever the CPU, since the kernel is the same code);
// and SmallConvNet's first stage with and without conv1 fused in (BM_Stem).
//
// Arguments: {layer, threads}; layer 0..2 is one of the three shapes, layer 3 runs all three in one
// iteration (one training step's worth of these ops, so the time per iteration is the step's cost).
// items/s counts input elements of x.

#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "simile/simile.hpp"

namespace {
using namespace simile;

constexpr std::array<std::array<Index, 4>, 3> shapes{{{512, 32, 28, 28}, {512, 64, 14, 14}, {512, 128, 7, 7}}};

/// One layer's tensors, made once outside the timed loop.
struct Layer {
  Var<float> x, xb, weight, bias;  ///< xb: x channel-blocked
  Tensor<float> running_mean, running_var;
  Tensor<float> seed, seed_blocked;  ///< dL/d(pooled output), in both layouts
  explicit Layer(const std::array<Index, 4>& s) {
    Shape shape{s[0], s[1], s[2], s[3]};
    Tensor<float> t = Tensor<float>::empty(shape);
    Rng rng(s[1]);
    for (float& v : t.span()) v = static_cast<float>(rng.normal());
    x = Var<float>(t, true);
    weight = Var<float>(Tensor<float>::ones({s[1]}), true);
    bias = Var<float>(Tensor<float>::zeros({s[1]}), true);
    running_mean = Tensor<float>::zeros({s[1]});
    running_var = Tensor<float>::ones({s[1]});
    seed = Tensor<float>::empty({s[0], s[1], s[2] / 2, s[3] / 2});
    for (float& v : seed.span()) v = static_cast<float>(rng.uniform(-1, 1));
    xb = Var<float>(to_blocked(Var<float>(t), 16).value(), true);
    seed_blocked = to_blocked(Var<float>(seed), 16).value();
  }
  Index numel() const { return x.numel(); }
  /// 0: three ops, 1: batch_norm_relu then max_pool2d, 2: batch_norm_relu_max_pool2d, 3: the same blocked.
  void step(int mode) {
    Var<float>& in = mode == 3 ? xb : x;
    in.zero_grad();
    weight.zero_grad();
    bias.zero_grad();
    Var<float> y;
    if (mode >= 2)
      y = batch_norm_relu_max_pool2d(in, weight, bias, running_mean, running_var, {.blocked = mode == 3}, 2);
    else
      y = max_pool2d(mode == 1 ? batch_norm_relu(x, weight, bias, running_mean, running_var)
                               : relu(batch_norm(x, weight, bias, running_mean, running_var)),
                     2);
    y.backward(mode == 3 ? seed_blocked : seed);
    benchmark::DoNotOptimize(in.grad().data());
  }
};

void run(benchmark::State& state, int mode) {
  const auto layer = state.range(0);
  ThreadScope threads(static_cast<int>(state.range(1)));
  std::vector<Layer> layers;
  for (std::size_t i = 0; i < shapes.size(); ++i)
    if (layer == 3 || static_cast<std::size_t>(layer) == i) layers.emplace_back(shapes[i]);
  Index items = 0;
  for (const Layer& l : layers) items += l.numel();
  for (Layer& l : layers) l.step(mode);  // warm-up: the caching allocator fills, pages fault in once
  for (auto _ : state)
    for (Layer& l : layers) l.step(mode);
  state.SetItemsProcessed(state.iterations() * items);
  state.counters["threads"] = static_cast<double>(state.range(1));
}

/// SmallConvNet's first stage at the SimCLR step's batch, forward + backward, in the blocked layout:
/// conv2d_blocked then batch_norm_relu_max_pool2d (fused 0), or conv2d_batch_norm_relu_max_pool2d (fused 1),
/// which recomputes the 1 -> 32 convolution in each pass instead of storing its [512, 32, 28, 28] output.
/// Arguments: {fused, threads}.
void BM_Stem(benchmark::State& state) {
  const Index block = channel_block<float>();
  if (block == 0) {
    state.SkipWithError("no channel-blocked layout on this machine");
    return;
  }
  const bool fused = state.range(0) == 1;
  ThreadScope threads(static_cast<int>(state.range(1)));
  Tensor<float> image = Tensor<float>::empty({512, 1, 28, 28});
  Rng rng(7);
  for (float& v : image.span()) v = static_cast<float>(rng.uniform());
  Tensor<float> w0 = Tensor<float>::empty({32, 1, 3, 3});
  for (float& v : w0.span()) v = static_cast<float>(rng.uniform(-1, 1));
  Var<float> x(image), conv_weight(w0, true), weight(Tensor<float>::ones({32}), true),
      bias(Tensor<float>::zeros({32}), true);
  Tensor<float> running_mean = Tensor<float>::zeros({32}), running_var = Tensor<float>::ones({32});
  Tensor<float> seed = Tensor<float>::empty({512, 32 / block, 14, 14, block});
  for (float& v : seed.span()) v = static_cast<float>(rng.uniform(-1, 1));
  auto step = [&] {
    conv_weight.zero_grad();
    weight.zero_grad();
    bias.zero_grad();
    const BatchNormOptions opt{.blocked = !fused};
    Var<float> y = fused ? conv2d_batch_norm_relu_max_pool2d(x, conv_weight, weight, bias, running_mean, running_var,
                                                             {}, block, {1, 1}, 2)
                         : batch_norm_relu_max_pool2d(conv2d_blocked(x, conv_weight, Var<float>(), {1, 1}), weight,
                                                      bias, running_mean, running_var, opt, 2);
    y.backward(seed);
    benchmark::DoNotOptimize(conv_weight.grad().data());
  };
  step();  // warm-up: the caching allocator fills, oneDNN's primitives are made
  for (auto _ : state) step();
  state.counters["threads"] = static_cast<double>(state.range(1));
}
BENCHMARK(BM_Stem)
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->ArgNames({"fused", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_BatchNormReluMaxPool_Separate(benchmark::State& state) { run(state, 0); }
void BM_BatchNormReluMaxPool_Fused(benchmark::State& state) { run(state, 1); }
void BM_BatchNormReluMaxPool_FusedPool(benchmark::State& state) { run(state, 2); }
void BM_BatchNormReluMaxPool_Blocked(benchmark::State& state) { run(state, 3); }

void args(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (int layer : {0, 1, 2, 3}) b->Args({layer, threads});
  b->ArgNames({"layer", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_BatchNormReluMaxPool_Separate)->Apply(args);
BENCHMARK(BM_BatchNormReluMaxPool_Fused)->Apply(args);
BENCHMARK(BM_BatchNormReluMaxPool_FusedPool)->Apply(args);
BENCHMARK(BM_BatchNormReluMaxPool_Blocked)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
