#pragma once
/// \file
/// Definitions of the oneDNN conv2d backend's entry points (declared in `conv_onednn.hpp`): compiled once
/// in `src/ops/conv_onednn.cpp`, or included by that header in header-only mode.

#if defined(SIMILE_WITH_ONEDNN)

#include "simile/ops/detail/conv_few_channels.hpp"
#include "simile/ops/detail/conv_onednn_primitives.hpp"
#include "simile/ops/detail/conv_weight_grad_bf16.hpp"

namespace simile::detail::conv_onednn {

SIMILE_INLINE std::atomic<Layout>& layout_setting() {
  static std::atomic<Layout> l{Layout::blocked};
  return l;
}

SIMILE_INLINE bool bf16_supported() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;  // oneDNN's ISA values are nested bit masks
}

SIMILE_INLINE std::string cpu_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "generic code";
  }
}

SIMILE_INLINE Index activation_block() {
  static const Index block = [] {
    try {
      const memory::dims src{1, 32, 14, 14}, wei{64, 32, 3, 3}, dst{1, 64, 14, 14};
      const auto f32 = memory::data_type::f32;
      const dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                          memory::desc(src, f32, tag::any), memory::desc(wei, f32, tag::any),
                                          memory::desc(), memory::desc(dst, f32, tag::any), {1, 1}, {1, 1}, {1, 1}),
          engine());
      for (Index b : {16, 8})
        if (pd.dst_desc() == memory::desc(dst, f32, activation_tag(b))) return b;
    } catch (const dnnl::error&) {
    }
    return Index(0);
  }();
  return block;
}

SIMILE_INLINE std::shared_ptr<Saved> make_saved() { return std::make_shared<Saved>(); }

SIMILE_INLINE bool ran_bf16(const Saved& saved) { return saved.plan && saved.plan->bf16; }

SIMILE_INLINE std::string implementations(const Saved& saved) {
  return saved.plan ? saved.plan->implementations() : std::string();
}

/// True when the first-layer kernel (`conv_few_channels.hpp`) computes the weight gradient of `g`.
SIMILE_INLINE bool few_channels_for(const ConvGeometry& g, const UserLayout& user) {
  return user.src_block == 0 && few_channels_weight_grad_applies(g, user.dst_block);
}

/// True when simile's bfloat16 kernel (`conv_weight_grad_bf16.hpp`) computes the weight gradient of `g`
/// under `plan` (no bias gradient: that is oneDNN's, with the weights').
SIMILE_INLINE bool bf16_pairs_for(const Plan& plan, const ConvGeometry& g, const UserLayout& user) {
  return plan.bf16 && !few_channels_for(g, user) && bf16_weight_grad_applies(g);
}

/// The bf16 layout with the user's channel block for `dims` (what a plain rounding of the user's float gives).
SIMILE_INLINE memory::desc bf16_user_layout(const memory::dims& dims, Index block) {
  return memory::desc(dims, memory::data_type::bf16, activation_tag(block));
}

/// The weights `w` (bf16 [O, C, kh, kw], in the forward's layout) flipped in space and transposed to
/// [C, O, kh, kw], in layout `md`: the weights of dx = conv(dy, w') (`Plan::build_data_as_forward`).
SIMILE_INLINE Held flipped_weights(Plan& plan, dnnl::stream& s, const Held& w, const memory::desc& md) {
  const ConvGeometry& g = plan.key.g;
  const auto bf = memory::data_type::bf16;
  const Held plain = as_layout(plan, s, w, memory::desc({g.o, g.c, g.kh, g.kw}, bf, tag::oihw));
  s.wait();
  Held t{buffer_for(plain.md), memory::desc({g.c, g.o, g.kh, g.kw}, bf, tag::oihw)};
  const auto* from = reinterpret_cast<const std::uint16_t*>(plain.data.data());
  auto* to = reinterpret_cast<std::uint16_t*>(t.data.data());
  const Index taps = g.kh * g.kw;
  for (Index o = 0; o < g.o; ++o)
    for (Index c = 0; c < g.c; ++c)
      for (Index k = 0; k < taps; ++k) to[(c * g.o + o) * taps + (taps - 1 - k)] = from[(o * g.c + c) * taps + k];
  return as_layout(plan, s, t, md);
}

/// y = conv(x, w) + b in the layouts of `user`; b may be undefined; bfloat16 products with `bf16`. Fills `saved`.
SIMILE_INLINE Tensor<float> forward(const ConvGeometry& g, const Tensor<float>& x, const Tensor<float>& w,
                                    const Tensor<float>& b, bool bf16, ConvAlgorithm algorithm, const UserLayout& user,
                                    Saved& saved, bool weight_grad) {
  return guarded(g, [&] {
    const int threads = num_threads();
    OmpThreads scope(threads);
    auto plan = plan_for({g, b.defined(), threads, layout_setting().load(), bf16, user, algorithm});
    dnnl::stream& s = stream();
    // x rounded once into both the primitive's layout and the weight-gradient kernel's, when both want it.
    const memory::desc src_md = plan->fwd_pd.src_desc();
    Held src;
    Tensor<std::uint16_t> x_pairs;
    if (weight_grad && !b.defined() && bf16_pairs_for(*plan, g, user) &&
        src_md == bf16_user_layout({g.n, g.c, g.h, g.w}, user.src_block)) {
      src = {buffer_for(src_md), src_md};
      x_pairs = Tensor<std::uint16_t>::empty({bf16_pairs_size(g.n, g.c, g.h, g.w)});
      to_bf16_pairs(x.data(), user.src_block, g.n, g.c, g.h, g.w, x_pairs.data(),
                    reinterpret_cast<std::uint16_t*>(src.data.data()));
    } else {
      src = as_layout(*plan, s, {x, plan->user_src}, src_md);
    }
    Held wei = as_layout(*plan, s, {w, plan->user_weights}, plan->fwd_pd.weights_desc());
    const Index ob = user.dst_block;
    Tensor<float> y = ob ? Tensor<float>::empty({g.n, g.o / ob, g.oh, g.ow, ob}) : Tensor<float>::empty({g.n, g.o, g.oh, g.ow});
    const memory::desc dst_md = plan->fwd_pd.dst_desc();
    Held dst = dst_md == plan->user_dst ? Held{y, dst_md} : Held{buffer_for(dst_md), dst_md};
    Scratchpad scratch(plan->fwd_pd);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.mem()},
                                         {DNNL_ARG_WEIGHTS, wei.mem()},
                                         {DNNL_ARG_DST, dst.mem()},
                                         {DNNL_ARG_SCRATCHPAD, scratch.mem}};
    if (b.defined()) args.emplace(DNNL_ARG_BIAS, memory(plan->user_bias, engine(), b.data()));
    plan->fwd.execute(s, args);
    if (!(dst_md == plan->user_dst)) {
      memory from = dst.mem(), to(plan->user_dst, engine(), y.data());
      plan->reorder(dst_md, plan->user_dst, false).execute(s, from, to);
    }
    s.wait();
    // With x in pairs, the primitives' copy is not read again (the weight gradient reads the pairs).
    saved = {plan, x_pairs.defined() ? Held{} : src, wei, x, x_pairs};
    return y;
  });
}

/// Accumulates the gradients: dx += conv^T(dy, w) (dx = when `dx_assign`), dw += dconv/dw, db += sum dy;
/// each pointer may be null (that gradient is not wanted). dy and dx in the forward's user layouts.
SIMILE_INLINE void backward(const ConvGeometry& g, const Saved& saved, const Tensor<float>& dy, float* dx, bool dx_assign,
                     float* dw, float* db) {
  guarded(g, [&] {
    const int threads = num_threads();
    OmpThreads scope(threads);
    // The forward's plan, unless the thread count or the layout setting changed since: then (maybe build)
    // the plan for this one.
    check(saved.plan != nullptr, "conv2d (oneDNN backend): backward pass before its forward");
    Key key = saved.plan->key;
    key.threads = threads;
    key.layout = layout_setting().load();
    auto plan = key == saved.plan->key ? saved.plan : plan_for(key);
    const UserLayout& user = key.user;
    dnnl::stream& s = stream();
    const Held user_dy{dy, plan->user_dst};
    auto accumulate_into = [&](const Held& from, const memory::desc& user_md, float* to, bool assign = false) {
      memory src = from.mem(), dst(user_md, engine(), to);
      plan->reorder(from.md, user_md, !assign).execute(s, src, dst);
    };
    const bool few_channels = few_channels_for(g, user);
    // bfloat16 weight gradient by simile's image-pair kernel (`conv_weight_grad_bf16.hpp`): dy goes to its
    // pair layout, in the same pass as to the backward-data primitive's bf16 layout when that is the user's.
    const bool pairs = dw && !db && bf16_pairs_for(*plan, g, user);
    Tensor<std::uint16_t> dy_pairs;
    if (pairs) dy_pairs = Tensor<std::uint16_t>::empty({bf16_pairs_size(g.n, g.o, g.oh, g.ow)});
    bool dy_paired = false;
    // dy converted once when both backward primitives read it in the same layout (they usually do).
    Held gy_data;
    if (dx) {
      const auto& pd = plan->bwd_data_pd;
      const memory::desc same_md = bf16_user_layout({g.n, g.o, g.oh, g.ow}, user.dst_block);
      Held gy;
      if (pairs && pd.diff_dst_desc() == same_md) {
        gy = {buffer_for(same_md), same_md};
        to_bf16_pairs(dy.data(), user.dst_block, g.n, g.o, g.oh, g.ow, dy_pairs.data(),
                      reinterpret_cast<std::uint16_t*>(gy.data.data()));
        dy_paired = true;
      } else {
        gy = gy_data = as_layout(*plan, s, user_dy, pd.diff_dst_desc());
      }
      // A fresh dx already in the primitive's layout (blocked callers) is written in place.
      const memory::desc gx_md = plan->data_fwd_pd ? plan->data_fwd_pd->dst_desc() : pd.diff_src_desc();
      const bool in_place = dx_assign && gx_md == plan->user_src;
      Held gx = in_place ? Held{} : Held{buffer_for(gx_md), gx_md};
      memory gx_mem = in_place ? memory(plan->user_src, engine(), dx) : gx.mem();
      if (plan->data_fwd_pd) {
        const auto& fpd = *plan->data_fwd_pd;
        Held wt = flipped_weights(*plan, s, saved.weights, fpd.weights_desc());
        Held src = as_layout(*plan, s, gy, fpd.src_desc());
        Scratchpad scratch(fpd);
        plan->data_fwd.execute(s, {{DNNL_ARG_SRC, src.mem()},
                                   {DNNL_ARG_WEIGHTS, wt.mem()},
                                   {DNNL_ARG_DST, gx_mem},
                                   {DNNL_ARG_SCRATCHPAD, scratch.mem}});
      } else {
        Held wei = as_layout(*plan, s, saved.weights, pd.weights_desc());
        Scratchpad scratch(pd);
        plan->bwd_data.execute(s, {{DNNL_ARG_DIFF_DST, gy.mem()},
                                   {DNNL_ARG_WEIGHTS, wei.mem()},
                                   {DNNL_ARG_DIFF_SRC, gx_mem},
                                   {DNNL_ARG_SCRATCHPAD, scratch.mem}});
      }
      if (!in_place) accumulate_into(gx, plan->user_src, dx, dx_assign);
    }
    if (pairs) {
      if (!dy_paired) to_bf16_pairs(dy.data(), user.dst_block, g.n, g.o, g.oh, g.ow, dy_pairs.data());
      Tensor<std::uint16_t> x_pairs = saved.x_pairs;
      if (!x_pairs.defined()) {
        x_pairs = Tensor<std::uint16_t>::empty({bf16_pairs_size(g.n, g.c, g.h, g.w)});
        to_bf16_pairs(saved.x.data(), user.src_block, g.n, g.c, g.h, g.w, x_pairs.data());
      }
      conv_weight_grad_bf16(g, x_pairs.data(), dy_pairs.data(), dw);
    } else if ((dw || db) && few_channels) {
      // Few input taps (a first layer on images): simile's kernel, several times oneDNN's speed here; it
      // reads the caller's float x and dy, so it computes in float at either precision.
      conv_weight_grad_few_channels(g, saved.x.data(), dy.data(), user.dst_block, dw, db);
    } else if (dw || db) {
      const auto& pd = plan->bwd_weights_pd;
      Held gy = dx && gy_data.md == pd.diff_dst_desc() ? gy_data : as_layout(*plan, s, user_dy, pd.diff_dst_desc());
      Held src = saved.src.data.defined() ? as_layout(*plan, s, saved.src, pd.src_desc())
                                          : as_layout(*plan, s, {saved.x, plan->user_src}, pd.src_desc());
      Held gw{buffer_for(pd.diff_weights_desc()), pd.diff_weights_desc()};
      Scratchpad scratch(pd);
      std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, gy.mem()},
                                           {DNNL_ARG_SRC, src.mem()},
                                           {DNNL_ARG_DIFF_WEIGHTS, gw.mem()},
                                           {DNNL_ARG_SCRATCHPAD, scratch.mem}};
      Held gb;
      if (pd.diff_bias_desc().get_size() > 0) {
        gb = {buffer_for(pd.diff_bias_desc()), pd.diff_bias_desc()};
        args.emplace(DNNL_ARG_DIFF_BIAS, gb.mem());
      }
      plan->bwd_weights.execute(s, args);
      if (dw) accumulate_into(gw, plan->user_weights, dw);
      if (db) accumulate_into(gb, plan->user_bias, db);
    }
    s.wait();
  });
}

}  // namespace simile::detail::conv_onednn

#endif  // SIMILE_WITH_ONEDNN
