#pragma once
/// \file
/// The definitions behind `simile/augment/filter.hpp`: compiled once in `src/augment/filter.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/filter.hpp"

namespace simile::detail {

SIMILE_INLINE Index reflect(Index i, Index n) {
  if (n == 1) return 0;
  Index period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE void GaussianBlur::blur(Image& image, double sigma) const {
  Index radius = options.kernel_size > 0 ? options.kernel_size / 2
                                         : static_cast<Index>(std::ceil(3.0 * sigma));
  Index c = image.channels(), h = image.height(), w = image.width();
  Index taps = 2 * radius + 1;
  float* kernel = image.scratch(std::size_t(taps + w + 2 * radius));
  float* padded = kernel + taps;
  double total = 0;
  for (Index k = -radius; k <= radius; ++k) total += std::exp(-0.5 * double(k * k) / (sigma * sigma));
  for (Index k = -radius; k <= radius; ++k)
    kernel[k + radius] = static_cast<float>(std::exp(-0.5 * double(k * k) / (sigma * sigma)) / total);
  float* out = image.spare(c, h, w);
  for (Index ch = 0; ch < c; ++ch) {
    const float* src = image.plane(ch);
    float* tmp = out + ch * h * w;
    // Rows: pad one row by reflection, then convolve.
    for (Index y = 0; y < h; ++y) {
      const float* row = src + y * w;
      for (Index x = -radius; x < w + radius; ++x) padded[x + radius] = row[detail::reflect(x, w)];
      float* dst = tmp + y * w;
      for (Index x = 0; x < w; ++x) {
        float acc = 0;
        for (Index k = 0; k < taps; ++k) acc += kernel[k] * padded[x + k];
        dst[x] = acc;
      }
    }
  }
  // Columns: each output row is a weighted sum of whole input rows (vectorizes along x).
  for (Index ch = 0; ch < c; ++ch) {
    const float* tmp = out + ch * h * w;
    float* dst = image.plane(ch);
    for (Index y = 0; y < h; ++y) {
      float* d = dst + y * w;
      std::fill(d, d + w, 0.0f);
      for (Index k = 0; k < taps; ++k) {
        const float* s = tmp + detail::reflect(y + k - radius, h) * w;
        float wk = kernel[k];
        for (Index x = 0; x < w; ++x) d[x] += wk * s[x];
      }
    }
  }
}

SIMILE_INLINE void GaussianNoise::apply(Image& image, Rng& rng) const {
  const auto sigma = static_cast<float>(rng.uniform(options.sigma.lo, options.sigma.hi));
  float* p = image.data();
  const Index n = image.numel();
  constexpr Index chunk = 256;
  float z[chunk];
  for (Index i0 = 0; i0 < n; i0 += chunk) {
    const Index m = std::min(chunk, n - i0);
    rng.fill_normal(z, m);
    if (options.clip) {
      for (Index i = 0; i < m; ++i) p[i0 + i] = std::clamp(p[i0 + i] + sigma * z[i], 0.0f, 1.0f);
    } else {
      for (Index i = 0; i < m; ++i) p[i0 + i] += sigma * z[i];
    }
  }
}

SIMILE_INLINE void RandomErasing::apply(Image& image, Rng& rng) const {
  Index H = image.height(), W = image.width();
  double area = static_cast<double>(H * W);
  double log_lo = std::log(options.ratio.lo), log_hi = std::log(options.ratio.hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * rng.uniform(options.scale.lo, options.scale.hi);
    double aspect = std::exp(rng.uniform(log_lo, log_hi));
    auto h = static_cast<Index>(std::lround(std::sqrt(target * aspect)));
    auto w = static_cast<Index>(std::lround(std::sqrt(target / aspect)));
    if (!(h < H && w < W) || h < 1 || w < 1) continue;
    auto top = static_cast<Index>(rng.below(std::uint64_t(H - h + 1)));
    auto left = static_cast<Index>(rng.below(std::uint64_t(W - w + 1)));
    for (Index ch = 0; ch < image.channels(); ++ch)
      for (Index y = top; y < top + h; ++y) {
        float* row = image.plane(ch) + y * W;
        std::fill(row + left, row + left + w, options.value);
      }
    return;
  }
}

}  // namespace simile
