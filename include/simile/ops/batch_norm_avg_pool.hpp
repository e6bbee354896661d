#pragma once
/// \file
/// `batch_norm_relu_adaptive_avg_pool2d`: an encoder's readout after its last convolution,
///
///   y = adaptive_avg_pool2d(relu(batch_norm(x)), out_h, out_w),
///
/// as one op. With `BatchNormOptions::blocked` (x channel-blocked [N, C / B, H, W, B], the layout
/// `conv2d_blocked` writes; y [N, C / B, out_h, out_w, B]) the normalized map is never stored: apart, in
/// SmallConvNet's SimCLR step it is [512, 128, 7, 7] (12.8 MB) written by `batch_norm_relu`, read by the
/// pooling, and its gradient, as large, written by the pooling's backward and read twice with it by batch
/// norm's. Here every pass recomputes one sample's plane of one channel block (H W B values, in L1) from x
/// and uses it at once: the statistics (`BlockMoments`), then normalization, ReLU and the cells
/// (`adaptive_avg_pool_plane`); backward, the plane's dy (`adaptive_avg_pool_plane_grad`) with the sums
/// over it, then the same again for dx. Each step is the separate ops' own code in their order, so the
/// outputs and gradients are those of `adaptive_avg_pool2d_blocked(batch_norm_relu(x))` to the bit (the
/// running statistics to their last bit: the compiler may pair their update's multiply-add otherwise). Parallel over
/// channel blocks, each start to end on one thread: the same bits at every thread count. Without `blocked` (NCHW x) the
/// op is that composition of the two ops. Not synchronized across ranks in the blocked layout (as the blocked batch
/// norm).

#include <algorithm>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/ops/batch_norm.hpp"
#include "simile/ops/batch_norm_options.hpp"
#include "simile/ops/detail/batch_norm_blocked.hpp"
#include "simile/ops/pool.hpp"

namespace simile {

/// y = adaptive_avg_pool2d(relu(batch_norm(x, weight, bias, running_mean, running_var, opt)), out_h, out_w)
/// as one op (see the file comment): x [N, C, H, W], or with `opt.blocked` [N, C / B, H, W, B] and y
/// [N, C / B, out_h, out_w, B]; weight and bias [C] (either may be undefined), running buffers [C] or empty.
/// Throws the errors of `batch_norm` (named for this op) and `adaptive_avg_pool2d`: ShapeError for an x not
/// of that shape or with an empty plane, ValueError for out_h or out_w below 1 and for a synchronized
/// `opt.comm` with blocked x.
template <Real T>
Var<T> batch_norm_relu_adaptive_avg_pool2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                                           const Tensor<T>& running_mean, const Tensor<T>& running_var,
                                           const BatchNormOptions& opt, Index out_h, Index out_w) {
  using namespace detail;
  const char* name = "batch_norm_relu_adaptive_avg_pool2d";
  const Shape& xs = x.shape();
  check<ValueError>(out_h >= 1 && out_w >= 1, name, ": output size ", out_h, "x", out_w, " must be at least 1x1");
  if (!opt.blocked) {
    check<ShapeError>(xs.rank() == 4, name, ": expected x [N, C, H, W], got ", xs);
    return adaptive_avg_pool2d(batch_norm_relu(x, weight, bias, running_mean, running_var, opt), out_h, out_w);
  }
  check<ShapeError>(xs.rank() == 5 && xs[4] >= 1 && xs[4] <= batch_norm_max_lanes && xs[2] * xs[3] > 0, name,
                    ": expected blocked x [N, C / B, H, W, B] with a non-empty plane and B in [1, ",
                    batch_norm_max_lanes, "], got ", xs);
  const Index N = xs[0], CB = xs[1], H = xs[2], W = xs[3], B = xs[4], S = H * W, C = CB * B;
  const BatchNormMode mode = check_batch_norm(name, xs, C, N * S, weight, bias, running_mean, running_var, opt);
  check<ValueError>(!is_distributed(mode.comm), name, ": synchronized batch norm needs NCHW input, got blocked x ", xs);
  const bool tracked = mode.tracked, batch_stats = mode.batch_stats;
  const Index plane = S * B, out_plane = out_h * out_w * B;
  const T* px = x.value().data();
  const T* pw = weight.defined() ? weight.value().data() : nullptr;
  const T* pb = bias.defined() ? bias.value().data() : nullptr;
  T* prm = tracked ? running_mean.data() : nullptr;
  T* prv = tracked ? running_var.data() : nullptr;
  Tensor<T> y = Tensor<T>::empty({N, CB, out_h, out_w, B});
  // Per channel: mean, 1 / sqrt(var + eps), and the scale and shift of the normalization (the backward
  // recomputes the map from them).
  Tensor<T> mean = Tensor<T>::empty({C}), invstd = Tensor<T>::empty({C});
  Tensor<T> scale = Tensor<T>::empty({C}), shift = Tensor<T>::empty({C});
  T* py = y.data();

  with_lanes(B, [&](auto lanes) {
    constexpr Index L = decltype(lanes)::value;
    parallel_for(0, CB, 1, [&](Index b0, Index b1) {
      std::vector<T> map(static_cast<std::size_t>(plane));
      for (Index cb = b0; cb < b1; ++cb) {
        T* pm = mean.data() + cb * B;
        T* pi = invstd.data() + cb * B;
        BlockMoments moments;
        if (batch_stats)
          for (Index i = 0; i < N; ++i) moments.add_plane<L>(px + (i * CB + cb) * plane, S, B);
        block_statistics(moments, batch_stats, tracked, opt, cb, B, pm, pi, prm, prv);
        block_scale_shift(pw, pb, pi, cb, B, scale.data() + cb * B, shift.data() + cb * B);
        for (Index i = 0; i < N; ++i) {
          normalize_plane<L, true>(px + (i * CB + cb) * plane, pm, scale.data() + cb * B, shift.data() + cb * B,
                                   map.data(), S, B);
          adaptive_avg_pool_plane<L>(map.data(), py + (i * CB + cb) * out_plane, H, W, out_h, out_w, B);
        }
      }
    });
  });

  const BatchNormInputs<T> inputs(x, weight, bias);
  Tensor<T> xv = x.value();
  Tensor<T> gamma = weight.defined() ? weight.value() : Tensor<T>();
  return make_op<T>(name, std::move(y), inputs.vars, [=](Node<T>& self) {
    const auto gx = self.grad_target(0);
    const std::pair<T*, T*> param_grads = inputs.grads(self);
    T* const pdw = param_grads.first;
    T* const pdb = param_grads.second;
    if (!gx && !pdw && !pdb) return;
    const T* xd = xv.data();
    const T* gd = self.grad.data();
    const double inv_n = 1.0 / double(N * S);
    with_lanes(B, [&](auto lanes) {
      constexpr Index L = decltype(lanes)::value;
      parallel_for(0, CB, 1, [&](Index b0, Index b1) {
        // The plane's map relu(x normalized) and its dy, as the separate ops' forward and pooling backward
        // wrote them; cell_dy: one cell's dy / |cell|.
        std::vector<T> map(static_cast<std::size_t>(plane)), dy(static_cast<std::size_t>(plane)), cell_dy(B);
        auto recompute = [&](Index cb, Index i) {
          normalize_plane<L, true>(xd + (i * CB + cb) * plane, mean.data() + cb * B, scale.data() + cb * B,
                                   shift.data() + cb * B, map.data(), S, B);
          adaptive_avg_pool_plane_grad<L>(gd + (i * CB + cb) * out_plane, dy.data(), H, W, out_h, out_w, B, true,
                                          cell_dy.data());
        };
        for (Index cb = b0; cb < b1; ++cb) {
          double s1[batch_norm_max_lanes] = {}, s2[batch_norm_max_lanes] = {};
          for (Index i = 0; i < N; ++i) {
            recompute(cb, i);
            add_grad_sums<L, true>(dy.data(), map.data(), xd + (i * CB + cb) * plane, S, mean.data() + cb * B, B, s1,
                                   s2);
          }
          const GradCoefficients<T> coef =
              grad_coefficients(s1, s2, inv_n, batch_stats, cb, B, mean.data(), invstd.data(),
                                gamma.defined() ? gamma.data() : nullptr, pdw, pdb);
          if (!gx) continue;
          for (Index i = 0; i < N; ++i) {
            recompute(cb, i);
            const Index p = (i * CB + cb) * plane;
            dense_dx_plane<L, true>(xd + p, dy.data(), map.data(), coef, batch_stats, gx.assign, gx.data + p, S, B);
          }
        }
      });
    });
  });
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_OPS_BATCH_NORM_AVG_POOL(P, T)                                          \
  P template Var<T> batch_norm_relu_adaptive_avg_pool2d<T>(                                     \
      const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Tensor<T>& running_mean, \
      const Tensor<T>& running_var, const BatchNormOptions& opt, Index out_h, Index out_w);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_OPS_BATCH_NORM_AVG_POOL)

}  // namespace simile
