#pragma once
/// \file
/// The oneDNN side of the conv2d backend (see `conv_onednn.hpp` for its entry points): primitives, their
/// cache and the layout conversions. Only the compiled part of simile (`src/ops/conv_onednn.cpp`) and the
/// convolution benchmark include this header, so `<dnnl.hpp>` stays out of users' translation units.
///
/// Primitives are built once per shape and kept in a process-wide cache keyed on the geometry, the
/// bias, the thread count and the activation layout. They run in user scratchpad mode: the scratchpad
/// and every converted tensor come from the caching allocator, so a repeated step takes no new memory.
///
/// Threads: Debian's libdnnl 2.6 is built with DNNL_CPU_RUNTIME = OMP and links the same libgomp as
/// our binaries; it sizes its parallel regions by omp_get_max_threads() both when it builds a primitive
/// (the jit kernels fix their work split then) and when it runs one. Every call therefore sets the
/// OpenMP thread count to `simile::num_threads()` for its duration and restores it after.
///
/// Layout: simile tensors are NCHW. With `Layout::blocked` the primitives choose their own layout
/// (format_tag::any, nChw16c on AVX-512) and the op reorders NCHW in and out on each call; the
/// reordered input and weights are kept for the backward pass, so backward reorders only dy and the
/// gradients (the gradients through a reorder with a sum post-op, which accumulates). `Layout::nchw` and
/// `Layout::nhwc` force plain activations on the primitives instead. The default, blocked, was chosen by
/// measurement (bench/conv_bench.cpp, BM_conv_raw_onednn, on a loaded 2-core AVX-512 machine, so per CPU
/// second): on 32->64@14x14 and 64->128@7x7 blocked (jit:avx512_core) beat NCHW (oneDNN then lowers to
/// x64:gemm:jit) by 1.2-1.5x and matched or beat NHWC (brgconv forward); on 1->32@28x28 NCHW won at one
/// thread but its gemm backward collapsed at two (about 30x slower), while blocked stays reasonable.

#if defined(SIMILE_WITH_ONEDNN)

#include <dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/ops/detail/conv_eigen.hpp"
#include "simile/ops/detail/conv_onednn.hpp"

namespace simile::detail::conv_onednn {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

inline const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

/// Sets the OpenMP thread count (which governs oneDNN) for a scope, then restores it.
class OmpThreads {
 public:
  explicit OmpThreads(int n) {
#if defined(_OPENMP)
    previous_ = omp_get_max_threads();
    omp_set_num_threads(n);
#else
    (void)n;
#endif
  }
  ~OmpThreads() {
#if defined(_OPENMP)
    omp_set_num_threads(previous_);
#endif
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_ = 1;
};

/// The oneDNN format of activations with channel block `block` (0: NCHW).
inline tag activation_tag(Index block) {
  switch (block) {
    case 0: return tag::nchw;
    case 8: return tag::nChw8c;
    case 16: return tag::nChw16c;
    default: throw Error(detail::str("conv2d (oneDNN backend): no layout with a channel block of ", block));
  }
}

struct Key {
  ConvGeometry g;
  bool bias = false;
  int threads = 1;
  Layout layout = Layout::blocked;
  bool bf16 = false;  ///< bfloat16 products requested
  UserLayout user;    ///< the caller's activation layouts
  ConvAlgorithm algorithm = ConvAlgorithm::automatic;
  friend bool operator==(const Key&, const Key&) = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::size_t h = 1469598103934665603ULL;
    auto mix = [&h](std::size_t v) { h = (h ^ v) * 1099511628211ULL; };
    for (Index v : {k.g.n, k.g.c, k.g.h, k.g.w, k.g.o, k.g.kh, k.g.kw, k.g.sh, k.g.sw, k.g.ph, k.g.pw})
      mix(static_cast<std::size_t>(v));
    mix(k.bias);
    mix(static_cast<std::size_t>(k.threads));
    mix(static_cast<std::size_t>(k.layout));
    mix(k.bf16);
    mix(static_cast<std::size_t>(k.user.src_block));
    mix(static_cast<std::size_t>(k.user.dst_block));
    mix(static_cast<std::size_t>(k.algorithm));
    return h;
  }
};

/// The primitive descriptor `make(algorithm)` builds for `a`: oneDNN's own choice (convolution_auto) for
/// automatic; Winograd, or direct where oneDNN has no Winograd kernel for the pass, for winograd.
template <class Make>
auto with_algorithm(ConvAlgorithm a, Make&& make) {
  if (a == ConvAlgorithm::winograd) {
    try {
      return make(dnnl::algorithm::convolution_winograd);
    } catch (const dnnl::error& e) {  // no Winograd kernel at this shape, type or pass: direct
      if (e.status != dnnl_unimplemented) throw;
    }
  }
  return make(a == ConvAlgorithm::automatic ? dnnl::algorithm::convolution_auto : dnnl::algorithm::convolution_direct);
}

/// The primitives of one convolution shape, and the reorders between its layouts and NCHW.
///
/// In bfloat16 (`Key::bf16`) the primitives read bf16 sources, weights and output gradients and write
/// float outputs, input gradients and weight gradients (oneDNN accumulates in float); the reorders from
/// the user's float NCHW round to bf16 on the way in. When oneDNN has no native kernel for a bf16 pass at
/// this shape (its choice would be the slow reference implementation, "ref"), the plan computes in float.
struct Plan {
  Key key;  ///< what the plan was built for
  memory::desc user_src, user_weights, user_dst, user_bias;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  /// bfloat16, stride 1: dx as the forward convolution of dy with the flipped, transposed weights
  /// (`data_as_forward`), when oneDNN has a native kernel for it; else empty and `bwd_data` runs.
  std::optional<dnnl::convolution_forward::primitive_desc> data_fwd_pd;
  dnnl::convolution_forward data_fwd;
  bool bf16 = false;  ///< the primitives read bfloat16 (asked for, and native at this shape)

  explicit Plan(const Key& k) : key(k) {
    const ConvGeometry& g = key.g;
    const memory::dims src{g.n, g.c, g.h, g.w}, wei{g.o, g.c, g.kh, g.kw}, dst{g.n, g.o, g.oh, g.ow};
    const auto f32 = memory::data_type::f32;
    user_src = memory::desc(src, f32, activation_tag(key.user.src_block));
    user_weights = memory::desc(wei, f32, tag::oihw);
    user_dst = memory::desc(dst, f32, activation_tag(key.user.dst_block));
    user_bias = memory::desc({g.o}, f32, tag::x);
    if (key.bf16) {
      build(key, memory::data_type::bf16);
      bf16 = native();
    }
    if (!bf16) build(key, f32);
    if (bf16) build_data_as_forward(key);
  }

  /// The names of the three passes' implementations, e.g. "jit_bf16:avx512_core_bf16 / ... / ...".
  std::string implementations() const {
    const std::string data = data_fwd_pd ? std::string("forward ") + data_fwd_pd->impl_info_str() : bwd_data_pd.impl_info_str();
    return std::string(fwd_pd.impl_info_str()) + " / " + data + " / " + bwd_weights_pd.impl_info_str();
  }

  /// The reorder from `from` to `to`; with `accumulate` it adds into the destination (sum post-op).
  /// Built on first use and kept.
  dnnl::reorder reorder(const memory::desc& from, const memory::desc& to, bool accumulate) {
    std::lock_guard lock(mutex_);
    for (const auto& r : reorders_)
      if (r.accumulate == accumulate && r.from == from && r.to == to) return r.prim;
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    dnnl::reorder prim(dnnl::reorder::primitive_desc(engine(), from, engine(), to, attr));
    reorders_.push_back({from, to, accumulate, prim});
    return prim;
  }

 private:
  /// Builds the three primitives reading `in` (f32 or bf16) and writing float.
  void build(const Key& key, memory::data_type in) {
    const ConvGeometry& g = key.g;
    const memory::dims src{g.n, g.c, g.h, g.w}, wei{g.o, g.c, g.kh, g.kw}, dst{g.n, g.o, g.oh, g.ow};
    const memory::dims bias{g.o}, strides{g.sh, g.sw}, pad_l{g.ph, g.pw};
    // Right padding as oneDNN wants it: what the last window needs beyond the input (may be < p).
    const memory::dims pad_r{(g.oh - 1) * g.sh + g.kh - g.h - g.ph, (g.ow - 1) * g.sw + g.kw - g.w - g.pw};
    const auto f32 = memory::data_type::f32;
    const tag act = key.layout == Layout::blocked ? tag::any : key.layout == Layout::nhwc ? tag::nhwc : tag::nchw;
    // Weights stay free under NHWC: the jit NHWC kernels want blocked weights (forcing ohwi gives ref:any).
    const tag wt = key.layout == Layout::nchw ? tag::oihw : tag::any;
    // What each pass reads is `in`; what it writes is float (outputs, input and weight gradients).
    const memory::desc src_in(src, in, act), wei_in(wei, in, wt), dst_in(dst, in, act);
    const memory::desc src_out(src, f32, act), wei_out(wei, f32, wt), dst_out(dst, f32, act);
    const memory::desc bias_md = key.bias ? memory::desc(bias, f32, tag::x) : memory::desc();
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // oneDNN's Winograd kernels (AVX-512 only) pad the channels to blocks of 16; its own choice
    // (convolution_auto) takes them even for a one-channel first layer, 6x slower than direct there
    // (1->32 at 28x28, batch 512: 12 ms against 1.9). Automatic asks for them with whole blocks only.
    const bool whole_blocks = g.c % 16 == 0 && g.o % 16 == 0;
    const ConvAlgorithm a =
        key.algorithm == ConvAlgorithm::automatic && !whole_blocks ? ConvAlgorithm::direct : key.algorithm;
    fwd_pd = with_algorithm(a, [&](dnnl::algorithm algo) {
      return dnnl::convolution_forward::primitive_desc(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, src_in, wei_in, bias_md, dst_out,
                                          strides, pad_l, pad_r),
          attr, engine());
    });
    fwd = dnnl::convolution_forward(fwd_pd);
    bwd_data_pd = with_algorithm(a, [&](dnnl::algorithm algo) {
      return dnnl::convolution_backward_data::primitive_desc(
          dnnl::convolution_backward_data::desc(algo, src_out, wei_in, dst_in, strides, pad_l, pad_r), attr, engine(),
          fwd_pd);
    });
    bwd_data = dnnl::convolution_backward_data(bwd_data_pd);
    // The weight gradient (automatic): Winograd when the forward took it and from 64 input channels on.
    const bool wino_fwd = std::string(fwd_pd.impl_info_str()).find("wino") != std::string::npos;
    const ConvAlgorithm aw = a != ConvAlgorithm::automatic ? a
                             : wino_fwd && g.c >= 64       ? ConvAlgorithm::winograd
                                                           : ConvAlgorithm::direct;
    bwd_weights_pd = with_algorithm(aw, [&](dnnl::algorithm algo) {
      return dnnl::convolution_backward_weights::primitive_desc(
          dnnl::convolution_backward_weights::desc(algo, src_in, wei_out, bias_md, dst_in, strides, pad_l, pad_r), attr,
          engine(), fwd_pd);
    });
    bwd_weights = dnnl::convolution_backward_weights(bwd_weights_pd);
  }

  /// The input gradient of a stride-1 convolution is itself a convolution: dx = conv(dy, w') with
  /// w'[c, o, u, v] = w[o, c, kh - 1 - u, kw - 1 - v] and paddings kh - 1 - p. oneDNN 2.6's bf16 forward
  /// kernel runs it faster than its backward-data kernel: in a SimCLR step at batch 512 on two threads of
  /// an AMD EPYC (`DNNL_VERBOSE=1 simile train --precision bf16 --readout-grid 1`), 5.0 and 4.9 ms against
  /// 6.1 and 5.7 for the third and second layers. So bf16 plans take it wherever it has a native kernel,
  /// in the backward-data primitive's layouts (left free, oneDNN chose NHWC and reorders ate the gain).
  void build_data_as_forward(const Key& key) {
    const ConvGeometry& g = key.g;
    const Index pr_h = (g.oh - 1) * g.sh + g.kh - g.h - g.ph, pr_w = (g.ow - 1) * g.sw + g.kw - g.w - g.pw;
    const Index pads[4] = {g.kh - 1 - g.ph, g.kw - 1 - g.pw, g.kh - 1 - pr_h, g.kw - 1 - pr_w};
    if (g.sh != 1 || g.sw != 1 || key.layout != Layout::blocked || *std::min_element(pads, pads + 4) < 0) return;
    // In the layouts of the backward-data primitive it replaces: dy as converted, dx as it would write it.
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(
            dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, bwd_data_pd.diff_dst_desc(),
            memory::desc({g.c, g.o, g.kh, g.kw}, memory::data_type::bf16, tag::any), memory::desc(),
            bwd_data_pd.diff_src_desc(), {1, 1}, {pads[0], pads[1]}, {pads[2], pads[3]}),
        attr, engine());
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return;
    data_fwd_pd = pd;
    data_fwd = dnnl::convolution_forward(pd);
  }

  /// True when no pass runs oneDNN's reference implementation.
  bool native() const { return implementations().find("ref") == std::string::npos; }

  struct Cached {
    memory::desc from, to;
    bool accumulate;
    dnnl::reorder prim;
  };
  std::mutex mutex_;
  std::vector<Cached> reorders_;
};

/// The plan for `key`, built on first use (under the caller's OmpThreads scope).
inline std::shared_ptr<Plan> plan_for(const Key& key) {
  static std::mutex mutex;
  static std::unordered_map<Key, std::shared_ptr<Plan>, KeyHash> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto plan = std::make_shared<Plan>(key);
  cache.emplace(key, plan);
  return plan;
}

/// A float buffer from the caching allocator big enough for `md`.
inline Tensor<float> buffer_for(const memory::desc& md) {
  return Tensor<float>::empty({static_cast<Index>((md.get_size() + sizeof(float) - 1) / sizeof(float))});
}

/// Tensor data held in a given oneDNN layout (the forward keeps its reordered input and weights).
struct Held {
  Tensor<float> data;
  memory::desc md;
  memory mem() const { return memory(md, engine(), data.data()); }
};

/// `h` in layout `md`: `h` itself when the layouts agree, else a reordered copy.
inline Held as_layout(Plan& plan, dnnl::stream& s, const Held& h, const memory::desc& md) {
  if (h.md == md) return h;
  Held out{buffer_for(md), md};
  memory src = h.mem(), dst = out.mem();
  plan.reorder(h.md, md, false).execute(s, src, dst);
  return out;
}

/// A user-mode scratchpad for the primitive of `pd`, from the caching allocator.
struct Scratchpad {
  Tensor<std::uint8_t> bytes;
  memory mem;
  template <class PrimitiveDesc>
  explicit Scratchpad(const PrimitiveDesc& pd)
      : bytes(Tensor<std::uint8_t>::empty({static_cast<Index>(pd.scratchpad_desc().get_size())})),
        mem(pd.scratchpad_desc(), engine(), bytes.data()) {}
};

inline dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

/// What the backward pass needs from the forward: its plan (whose key holds the bias, the precision asked
/// for, the algorithm and the caller's layouts; `Plan::bf16` what ran), its input and weights.
struct Saved {
  std::shared_ptr<Plan> plan;
  Held src;      ///< x in the forward primitive's layout; empty when `x_pairs` holds x for the weight gradient
  Held weights;  ///< w in the forward primitive's layout
  Tensor<float> x;        ///< the caller's x, in its layout `user.src_block` (read by the few-channel weight gradient)
  Tensor<std::uint16_t> x_pairs;  ///< x in bf16 image pairs for `conv_weight_grad_bf16`, when the forward made them
};

/// Rethrows a oneDNN error as a simile::Error naming conv2d.
template <class F>
auto guarded(const ConvGeometry& g, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw Error(detail::str("conv2d (oneDNN backend): ", e.what(), " (status ", static_cast<int>(e.status),
                            ") for input [", g.n, ", ", g.c, ", ", g.h, ", ", g.w, "], weight [", g.o, ", ", g.c,
                            ", ", g.kh, ", ", g.kw, "]"));
  }
}

}  // namespace simile::detail::conv_onednn

#endif  // SIMILE_WITH_ONEDNN
