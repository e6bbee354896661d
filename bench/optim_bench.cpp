// One optimizer step over the parameters of a ResNet-18 with a small-image stem (11.2 M elements in
// 60 tensors: convolution weights plus BatchNorm weights and biases), the update every SimCLR, MoCo and
// BYOL step ends with. SGD with Nesterov momentum, AdamW, and LARS with biases and BatchNorm parameters
// excluded (SimCLR's setting).
//
// Arguments: {optimizer, threads}; optimizer 0 = SGD, 1 = AdamW, 2 = LARS. items/s counts parameter
// elements updated.

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "simile/core/rng.hpp"
#include "simile/optim.hpp"

namespace {
using namespace simile;

/// ResNet-18 (3x3 stem, no max-pool) parameter shapes, as torchvision names them in order.
std::vector<Shape> resnet18_shapes() {
  std::vector<Shape> s{{64, 3, 3, 3}, {64}, {64}};
  auto block = [&](Index in, Index out, bool down) {
    s.insert(s.end(), {Shape{out, in, 3, 3}, Shape{out}, Shape{out}, Shape{out, out, 3, 3}, Shape{out}, Shape{out}});
    if (down) s.insert(s.end(), {Shape{out, in, 1, 1}, Shape{out}, Shape{out}});
  };
  Index in = 64;
  for (Index out : {64, 128, 256, 512}) {
    block(in, out, in != out);
    block(out, out, false);
    in = out;
  }
  return s;
}

void optimizer_step(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  ThreadScope threads(static_cast<int>(state.range(1)));
  nn::NamedParameters<float> params;
  Rng rng(1);
  Index items = 0;
  for (const Shape& shape : resnet18_shapes()) {
    Tensor<float> w = Tensor<float>::empty(shape), g = Tensor<float>::empty(shape);
    for (float& v : w.span()) v = static_cast<float>(rng.uniform(-0.1, 0.1));
    for (float& v : g.span()) v = static_cast<float>(rng.uniform(-0.01, 0.01));
    Var<float> p(w, true);
    p.node()->grad = g;
    params.emplace_back(std::to_string(params.size()), p);
    items += shape.numel();
  }
  std::unique_ptr<optim::Optimizer<float>> opt;
  std::vector<Var<float>> all;
  for (auto& [name, p] : params) all.push_back(p);
  if (which == 0)
    opt = std::make_unique<optim::SGD<float>>(
        all, optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  else if (which == 1)
    opt = std::make_unique<optim::AdamW<float>>(all, optim::AdamWOptions{.lr = 1e-3});
  else
    opt = std::make_unique<optim::LARS<float>>(
        optim::decay_groups(params, optim::LarsOptions{.lr = 0.3, .weight_decay = 1e-6}));
  opt->step();  // warm-up: the state tensors are made on the first step
  for (auto _ : state) {
    opt->step();
    benchmark::ClobberMemory();
  }
  state.counters["params"] = static_cast<double>(items);
  state.SetItemsProcessed(state.iterations() * items);
  state.SetLabel(opt->name());
}

BENCHMARK(optimizer_step)->ArgsProduct({{0, 1, 2}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
