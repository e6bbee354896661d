// conv2d at the sizes of a SimCLR step on the small ConvNet: batch 512 (two views of 256), 3x3 kernels,
// padding 1, no bias: 1->32 channels at 28x28, 32->64 at 14x14, 64->128 at 7x7.
//
// Every entry times forward + backward data + backward weights and reports GFLOP/s counting
// 2 N C_out H_out W_out C_in kh kw per pass, 3 passes; through the op (BM_conv_op, BM_conv_step), the first
// layer's input is an image that needs no gradient, as in a training step, so it runs 2 passes. Arguments: the shape (0, 1, 2), the thread count,
// and for oneDNN the layout its primitives use (0 blocked = format_tag::any + reorders from and to NCHW,
// 1 plain NCHW, 2 NHWC + reorders).
//
//   BM_conv_op_*      the public op: conv2d(x, w) then backward(seed), with Var and graph overhead
//   BM_conv_raw_*     the backend kernels alone on preallocated tensors
//   BM_onednn_native  oneDNN primitives on tensors kept in the primitives' own (blocked) layouts, no
//                     reorder at all: the ceiling a layout-aware network could reach
//   BM_conv_step_*    the three convolutions of one step through the op, ms per step (automatic: the
//                     backend each layer gets by default; onednn: oneDNN with the default algorithm,
//                     onednn_direct and onednn_winograd: with `ConvAlgorithm` direct or winograd;
//                     onednn_bf16: in bfloat16, where the CPU has it)
//   BM_first_layer_weight_grad  the first layer's weight gradient from blocked dy: oneDNN's primitive
//                     (kernel 0) against simile's few-channel kernel (1), the one conv2d_blocked runs there
//   BM_conv_weight_grad_bf16  layers 2 and 3's weight gradient in bfloat16: oneDNN's primitive (kernel 0)
//                     against simile's image-pair kernel (1; 2 with its conversions from float)
// BM_onednn_native's third argument is 1 for bfloat16 primitives (bf16 in, float out).

#include <benchmark/benchmark.h>

#include <ctime>

#include "simile/core/rng.hpp"
#include "simile/ops/conv.hpp"
#include "simile/ops/detail/conv_few_channels.hpp"
#include "simile/ops/detail/conv_onednn_primitives.hpp"
#include "simile/ops/detail/conv_weight_grad_bf16.hpp"

namespace {
using namespace simile;

struct ConvShape {
  Index n, c, hw, o;
};
constexpr ConvShape shapes[] = {{512, 1, 28, 32}, {512, 32, 14, 64}, {512, 64, 7, 128}};

detail::ConvGeometry geometry(const ConvShape& s) {
  return detail::conv_geometry({s.n, s.c, s.hw, s.hw}, {s.o, s.c, 3, 3}, nullptr, Conv2dOptions{1, 1});
}

Tensor<float> random(const Shape& shape, std::uint64_t seed) {
  Tensor<float> t = Tensor<float>::empty(shape);
  Rng rng(seed);
  for (float& v : t.span()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

/// Process CPU time, to estimate what the machine would give unloaded (it is shared with other builds).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// GFLOP/s over wall time, and "GFLOP/s_cpu": GFLOP per process CPU-second times the thread count, the
/// rate if every thread had a core to itself (a lower bound of it: OpenMP spin-waits count as CPU time).
void report(benchmark::State& state, double flops_per_iteration, double cpu_start, int threads) {
  const double gflop = flops_per_iteration * double(state.iterations()) * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s_cpu"] = gflop * threads / (cpu_seconds() - cpu_start);
}

/// The three convolutions' operands, reused across iterations.
struct Operands {
  const ConvShape& s;
  detail::ConvGeometry g = geometry(s);
  Var<float> x{random({s.n, s.c, s.hw, s.hw}, 1), /*requires_grad=*/s.c > 1};
  Var<float> w{random({s.o, s.c, 3, 3}, 2), true};
  Tensor<float> seed = random({s.n, s.o, s.hw, s.hw}, 3);

  /// Floating-point operations of one step: forward, backward weights, and backward data when x needs it.
  double flops() const { return (x.requires_grad() ? 3 : 2) * g.flops(); }

  void step(ConvBackend backend, Precision precision = Precision::f32,
            ConvAlgorithm algorithm = ConvAlgorithm::automatic) {
    if (x.requires_grad()) x.zero_grad();
    w.zero_grad();
    Var<float> y = conv2d(
        x, w, Conv2dOptions{1, 1}.use_backend(backend).use_precision(precision).use_algorithm(algorithm));
    y.backward(seed);
    benchmark::DoNotOptimize(w.grad().data());
  }
};

template <ConvBackend backend>
void BM_conv_op(benchmark::State& state) {
  ThreadScope threads(static_cast<int>(state.range(1)));
#if defined(SIMILE_WITH_ONEDNN)
  if (backend == ConvBackend::onednn)
    detail::conv_onednn::layout_setting() = static_cast<detail::conv_onednn::Layout>(state.range(2));
#endif
  Operands op{shapes[state.range(0)]};
  op.step(backend);  // builds the primitives and warms the caching allocator outside the timing
  const double cpu0 = cpu_seconds();
  for (auto _ : state) op.step(backend);
  report(state, op.flops(), cpu0, num_threads());
}

void BM_conv_raw_eigen(benchmark::State& state) {
  ThreadScope threads(static_cast<int>(state.range(1)));
  const ConvShape& s = shapes[state.range(0)];
  const detail::ConvGeometry g = geometry(s);
  Tensor<float> x = random({s.n, s.c, s.hw, s.hw}, 1), w = random({s.o, s.c, 3, 3}, 2);
  Tensor<float> dy = random({s.n, s.o, s.hw, s.hw}, 3), y = Tensor<float>::empty(dy.shape());
  Tensor<float> dx = Tensor<float>::zeros(x.shape()), dw = Tensor<float>::zeros(w.shape());
  detail::conv_eigen::forward(g, x.data(), w.data(), static_cast<const float*>(nullptr), y.data());
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    detail::conv_eigen::forward(g, x.data(), w.data(), static_cast<const float*>(nullptr), y.data());
    detail::conv_eigen::backward_data(g, dy.data(), w.data(), dx.data());
    detail::conv_eigen::backward_weights(g, x.data(), dy.data(), dw.data(), static_cast<float*>(nullptr));
    benchmark::DoNotOptimize(dw.data());
  }
  report(state, 3 * g.flops(), cpu0, num_threads());
}

void BM_conv_step(benchmark::State& state, ConvBackend backend, Precision precision = Precision::f32,
                  ConvAlgorithm algorithm = ConvAlgorithm::automatic) {
  ThreadScope threads(static_cast<int>(state.range(0)));
  if (precision == Precision::bf16 && !bf16_available()) {
    state.SkipWithError(("bfloat16: " + bf16_unavailable_reason()).c_str());
    return;
  }
#if defined(SIMILE_WITH_ONEDNN)
  detail::conv_onednn::layout_setting() = detail::conv_onednn::Layout::blocked;
#endif
  std::vector<Operands> ops;
  for (const ConvShape& s : shapes) ops.push_back(Operands{s});
  double flops = 0;
  for (auto& op : ops) flops += op.flops();
  for (auto& op : ops) op.step(backend, precision, algorithm);
  const double cpu0 = cpu_seconds();
  for (auto _ : state)
    for (auto& op : ops) op.step(backend, precision, algorithm);
  report(state, flops, cpu0, num_threads());
}

#if defined(SIMILE_WITH_ONEDNN)
void BM_conv_raw_onednn(benchmark::State& state) {
  ThreadScope threads(static_cast<int>(state.range(1)));
  detail::conv_onednn::layout_setting() = static_cast<detail::conv_onednn::Layout>(state.range(2));
  const ConvShape& s = shapes[state.range(0)];
  const detail::ConvGeometry g = geometry(s);
  Tensor<float> x = random({s.n, s.c, s.hw, s.hw}, 1), w = random({s.o, s.c, 3, 3}, 2);
  Tensor<float> dy = random({s.n, s.o, s.hw, s.hw}, 3);
  Tensor<float> dx = Tensor<float>::zeros(x.shape()), dw = Tensor<float>::zeros(w.shape());
  auto pass = [&] {
    detail::conv_onednn::Saved saved;
    Tensor<float> y = detail::conv_onednn::forward(g, x, w, Tensor<float>(), false, conv_algorithm(), {}, saved);
    detail::conv_onednn::backward(g, saved, dy, dx.data(), false, dw.data(), nullptr);
    return y;
  };
  pass();
  auto plan = detail::conv_onednn::plan_for({g, false, num_threads(), detail::conv_onednn::layout_setting()});
  state.SetLabel(plan->implementations());
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    Tensor<float> y = pass();
    benchmark::DoNotOptimize(y.data());
  }
  report(state, 3 * g.flops(), cpu0, num_threads());
}
void BM_onednn_native(benchmark::State& state) {
  namespace dn = detail::conv_onednn;
  const int threads = static_cast<int>(state.range(1));
  ThreadScope scope(threads);
  dn::OmpThreads omp(threads);
  const detail::ConvGeometry g = geometry(shapes[state.range(0)]);
  const bool bf16 = state.range(2) != 0;
  if (bf16 && !bf16_available()) {
    state.SkipWithError(("bfloat16: " + bf16_unavailable_reason()).c_str());
    return;
  }
  auto plan = dn::plan_for({g, false, threads, dn::Layout::blocked, bf16});
  auto buffer = [](const dnnl::memory::desc& md) {
    dn::Held h{dn::buffer_for(md), md};
    h.data.fill(0.5f);
    return h;
  };
  dn::Held src = buffer(plan->fwd_pd.src_desc()), wei = buffer(plan->fwd_pd.weights_desc());
  dn::Held dst = buffer(plan->fwd_pd.dst_desc()), dsrc = buffer(plan->bwd_data_pd.diff_src_desc());
  dn::Held ddst = buffer(plan->bwd_data_pd.diff_dst_desc()), bwei = buffer(plan->bwd_data_pd.weights_desc());
  dn::Held wsrc = buffer(plan->bwd_weights_pd.src_desc()), wdst = buffer(plan->bwd_weights_pd.diff_dst_desc());
  dn::Held dwei = buffer(plan->bwd_weights_pd.diff_weights_desc());
  std::size_t scratch_bytes = std::max({plan->fwd_pd.scratchpad_desc().get_size(),
                                        plan->bwd_data_pd.scratchpad_desc().get_size(),
                                        plan->bwd_weights_pd.scratchpad_desc().get_size()});
  Tensor<std::uint8_t> scratch = Tensor<std::uint8_t>::empty({static_cast<Index>(scratch_bytes)});
  auto pad = [&](const auto& pd) { return dnnl::memory(pd.scratchpad_desc(), dn::engine(), scratch.data()); };
  dnnl::stream& s = dn::stream();
  auto run = [&] {
    plan->fwd.execute(s, {{DNNL_ARG_SRC, src.mem()}, {DNNL_ARG_WEIGHTS, wei.mem()}, {DNNL_ARG_DST, dst.mem()},
                          {DNNL_ARG_SCRATCHPAD, pad(plan->fwd_pd)}});
    plan->bwd_data.execute(s, {{DNNL_ARG_DIFF_DST, ddst.mem()}, {DNNL_ARG_WEIGHTS, bwei.mem()},
                               {DNNL_ARG_DIFF_SRC, dsrc.mem()}, {DNNL_ARG_SCRATCHPAD, pad(plan->bwd_data_pd)}});
    plan->bwd_weights.execute(s, {{DNNL_ARG_SRC, wsrc.mem()}, {DNNL_ARG_DIFF_DST, wdst.mem()},
                                  {DNNL_ARG_DIFF_WEIGHTS, dwei.mem()}, {DNNL_ARG_SCRATCHPAD, pad(plan->bwd_weights_pd)}});
    s.wait();
  };
  run();
  const double cpu0 = cpu_seconds();
  for (auto _ : state) run();
  report(state, 3 * g.flops(), cpu0, num_threads());
  state.SetLabel(plan->implementations());
}
/// The first layer's weight gradient alone (shape 0, C_in 1), dy in the blocked layout the encoders give
/// it: oneDNN's backward-weights primitive (kernel 0, in its own layouts, no reorder) against simile's
/// few-channel kernel (1, `ops/detail/conv_few_channels.hpp`), which conv2d_blocked uses there.
void BM_first_layer_weight_grad(benchmark::State& state) {
  namespace dn = detail::conv_onednn;
  const int threads = static_cast<int>(state.range(1));
  ThreadScope scope(threads);
  dn::OmpThreads omp(threads);
  const detail::ConvGeometry g = geometry(shapes[0]);
  const Index b = dn::activation_block();
  if (b == 0) {
    state.SkipWithError("no channel-blocked layout on this CPU");
    return;
  }
  auto plan = dn::plan_for({g, false, threads, dn::Layout::blocked, false, {0, b}});
  const auto& pd = plan->bwd_weights_pd;
  Tensor<float> x = random({g.n, g.c, g.h, g.w}, 1), dy = random({g.n, g.o / b, g.oh, g.ow, b}, 3);
  Tensor<float> dw = Tensor<float>::zeros({g.o, g.c, g.kh, g.kw});
  dn::Held src = dn::as_layout(*plan, dn::stream(), {x, plan->user_src}, pd.src_desc());
  dn::Held gy = dn::as_layout(*plan, dn::stream(), {dy, plan->user_dst}, pd.diff_dst_desc());
  dn::Held gw{dn::buffer_for(pd.diff_weights_desc()), pd.diff_weights_desc()};
  dn::Scratchpad scratch(pd);
  auto run = [&] {
    if (state.range(0) == 0) {
      plan->bwd_weights.execute(dn::stream(), {{DNNL_ARG_SRC, src.mem()}, {DNNL_ARG_DIFF_DST, gy.mem()},
                                               {DNNL_ARG_DIFF_WEIGHTS, gw.mem()}, {DNNL_ARG_SCRATCHPAD, scratch.mem}});
      dn::stream().wait();
    } else {
      detail::conv_weight_grad_few_channels(g, x.data(), dy.data(), b, dw.data(), nullptr);
    }
  };
  run();
  const double cpu0 = cpu_seconds();
  for (auto _ : state) run();
  report(state, g.flops(), cpu0, num_threads());
  state.SetLabel(state.range(0) == 0 ? std::string(pd.impl_info_str()) : "simile few-channel kernel");
}
/// A layer's weight gradient in bfloat16 (shapes 1 and 2), x and dy blocked as the encoders give them:
/// oneDNN's backward-weights primitive on its own bf16 layouts (kernel 0, no reorder), simile's image-pair
/// kernel (`ops/detail/conv_weight_grad_bf16.hpp`) on ready pair layouts (1), and the same with both
/// conversions from float to pairs (2; conv2d makes them in the passes that round x and dy for oneDNN).
void BM_conv_weight_grad_bf16(benchmark::State& state) {
  namespace dn = detail::conv_onednn;
  const int threads = static_cast<int>(state.range(2));
  ThreadScope scope(threads);
  dn::OmpThreads omp(threads);
  const detail::ConvGeometry g = geometry(shapes[state.range(0)]);
  if (!bf16_available() || !detail::bf16_weight_grad_applies(g)) {
    state.SkipWithError("no bfloat16 kernels on this CPU");
    return;
  }
  auto plan = dn::plan_for({g, false, threads, dn::Layout::blocked, true, {16, 16}});
  const auto& pd = plan->bwd_weights_pd;
  Tensor<float> x = random({g.n, g.c / 16, g.h, g.w, 16}, 1), dy = random({g.n, g.o / 16, g.oh, g.ow, 16}, 3);
  Tensor<float> dw = Tensor<float>::zeros({g.o, g.c, g.kh, g.kw});
  dn::Held src = dn::as_layout(*plan, dn::stream(), {x, plan->user_src}, pd.src_desc());
  dn::Held gy = dn::as_layout(*plan, dn::stream(), {dy, plan->user_dst}, pd.diff_dst_desc());
  dn::Held gw{dn::buffer_for(pd.diff_weights_desc()), pd.diff_weights_desc()};
  dn::Scratchpad scratch(pd);
  auto xp = Tensor<std::uint16_t>::empty({detail::bf16_pairs_size(g.n, g.c, g.h, g.w)});
  auto dp = Tensor<std::uint16_t>::empty({detail::bf16_pairs_size(g.n, g.o, g.oh, g.ow)});
  detail::to_bf16_pairs(x.data(), 16, g.n, g.c, g.h, g.w, xp.data());
  detail::to_bf16_pairs(dy.data(), 16, g.n, g.o, g.oh, g.ow, dp.data());
  auto run = [&] {
    if (state.range(1) == 0) {
      plan->bwd_weights.execute(dn::stream(), {{DNNL_ARG_SRC, src.mem()}, {DNNL_ARG_DIFF_DST, gy.mem()},
                                               {DNNL_ARG_DIFF_WEIGHTS, gw.mem()}, {DNNL_ARG_SCRATCHPAD, scratch.mem}});
      dn::stream().wait();
      return;
    }
    if (state.range(1) == 2) {
      detail::to_bf16_pairs(x.data(), 16, g.n, g.c, g.h, g.w, xp.data());
      detail::to_bf16_pairs(dy.data(), 16, g.n, g.o, g.oh, g.ow, dp.data());
    }
    detail::conv_weight_grad_bf16(g, xp.data(), dp.data(), dw.data());
  };
  run();
  const double cpu0 = cpu_seconds();
  for (auto _ : state) run();
  report(state, g.flops(), cpu0, num_threads());
  state.SetLabel(state.range(1) == 0 ? std::string(pd.impl_info_str()) : "simile image-pair kernel");
}
#endif

void shape_threads(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads"});
  for (int threads : {1, 2})
    for (int shape = 0; shape < 3; ++shape) b->Args({shape, threads});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}
void shape_threads_layout(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads", "layout"});
  for (int layout = 0; layout < 3; ++layout)
    for (int threads : {1, 2})
      for (int shape = 0; shape < 3; ++shape)
        // NHWC with one input channel falls to oneDNN's reference kernel (ref:any, ~0.2 GFLOP/s): skipped.
        if (!(layout == 2 && shape == 0)) b->Args({shape, threads, layout});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_conv_op<ConvBackend::eigen>)->Apply(shape_threads);
BENCHMARK(BM_conv_raw_eigen)->Apply(shape_threads);
BENCHMARK_CAPTURE(BM_conv_step, eigen, ConvBackend::eigen)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
#if defined(SIMILE_WITH_ONEDNN)
BENCHMARK(BM_conv_op<ConvBackend::onednn>)->Apply(shape_threads_layout);
BENCHMARK(BM_conv_raw_onednn)->Apply(shape_threads_layout);
BENCHMARK(BM_onednn_native)->Apply([](benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads", "bf16"});
  for (int bf16 : {0, 1})
    for (int threads : {1, 2})
      for (int shape = 0; shape < 3; ++shape) b->Args({shape, threads, bf16});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
});
BENCHMARK(BM_first_layer_weight_grad)->ArgNames({"kernel", "threads"})->ArgsProduct({{0, 1}, {1, 2}})
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv_weight_grad_bf16)->ArgNames({"shape", "kernel", "threads"})->ArgsProduct({{1, 2}, {0, 1, 2}, {1, 2}})
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_conv_step, onednn, ConvBackend::onednn)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_conv_step, onednn_bf16, ConvBackend::onednn, Precision::bf16)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_conv_step, onednn_direct, ConvBackend::onednn, Precision::f32, ConvAlgorithm::direct)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_conv_step, onednn_winograd, ConvBackend::onednn, Precision::f32, ConvAlgorithm::winograd)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
BENCHMARK_CAPTURE(BM_conv_step, automatic, ConvBackend::automatic)
    ->ArgNames({"threads"})->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
