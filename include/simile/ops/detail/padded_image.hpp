#pragma once
/// \file
/// `PaddedImage`: one image of a convolution's input in zero-bordered planes, so that a kernel reading its
/// taps (C_in kh kw of them, few: an encoder's first layer) never tests bounds. Used by the first layer's
/// weight gradient (`conv_few_channels.hpp`) and by `conv2d_batch_norm_relu_max_pool2d`.

#include <algorithm>
#include <vector>

#include "simile/ops/detail/conv_eigen.hpp"

namespace simile::detail {

/// The most taps (C_in kh kw) a `PaddedImage` indexes: 27, a 3x3 kernel on RGB.
inline constexpr Index padded_image_max_taps = 27;

/// One image's channels in zero-bordered planes [C, hp, wp], and each tap's offset in them, so that every
/// tap of every output position reads in bounds.
template <Real T>
struct PaddedImage {
  Index hp = 0, wp = 0, taps = 0;
  Index offset[padded_image_max_taps] = {};  ///< tap t = (c, u, v): (c hp + u) wp + v
  std::vector<T> values;

  explicit PaddedImage(const ConvGeometry& g)
      : hp(std::max((g.oh - 1) * g.sh + g.kh, g.h + g.ph)),
        wp(std::max((g.ow - 1) * g.sw + g.kw, g.w + g.pw)),
        taps(g.c * g.kh * g.kw),
        values(static_cast<std::size_t>(g.c * hp * wp), T(0)) {
    check(taps <= padded_image_max_taps, "PaddedImage: ", g.c, "x", g.kh, "x", g.kw, " taps, at most ",
          padded_image_max_taps);
    for (Index c = 0, t = 0; c < g.c; ++c)
      for (Index u = 0; u < g.kh; ++u)
        for (Index v = 0; v < g.kw; ++v) offset[t++] = (c * hp + u) * wp + v;
  }
  /// Copies image x [C, H, W] inside the border (the border stays zero).
  void load(const ConvGeometry& g, const T* x) {
    for (Index c = 0; c < g.c; ++c)
      for (Index r = 0; r < g.h; ++r)
        std::copy(x + (c * g.h + r) * g.w, x + (c * g.h + r + 1) * g.w,
                  values.data() + (c * hp + r + g.ph) * wp + g.pw);
  }
  /// The input of output position (i, j) at tap 0; tap t is `offset[t]` further.
  const T* at(const ConvGeometry& g, Index i, Index j) const { return values.data() + i * g.sh * wp + j * g.sw; }
};

}  // namespace simile::detail
