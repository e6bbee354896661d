#pragma once
/// \file
/// The definitions behind `simile/augment/geometry.hpp`: compiled once in `src/augment/geometry.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/geometry.hpp"

namespace simile::detail {

SIMILE_INLINE void resize_window(Image& image, Index y0, Index x0, Index h, Index w, Index out_h, Index out_w) {
  Index c = image.channels(), src_w = image.width();
  float* fx = image.scratch(std::size_t(out_w + out_h));
  float* fy = fx + out_w;
  Index* ix = image.index_scratch(std::size_t(2 * (out_w + out_h)));
  Index* iy = ix + 2 * out_w;
  auto table = [](Index n_out, Index n_in, Index origin, Index* idx, float* frac) {
    double step = static_cast<double>(n_in) / static_cast<double>(n_out);
    for (Index o = 0; o < n_out; ++o) {
      double s = std::clamp((o + 0.5) * step - 0.5, 0.0, static_cast<double>(n_in - 1));
      auto lo = static_cast<Index>(s);
      Index hi = std::min(lo + 1, n_in - 1);
      idx[2 * o] = origin + lo;
      idx[2 * o + 1] = origin + hi;
      frac[o] = static_cast<float>(s - static_cast<double>(lo));
    }
  };
  table(out_w, w, x0, ix, fx);
  table(out_h, h, y0, iy, fy);
  float* out = image.spare(c, out_h, out_w);
  for (Index ch = 0; ch < c; ++ch) {
    const float* src = image.plane(ch);
    float* dst = out + ch * out_h * out_w;
    for (Index oy = 0; oy < out_h; ++oy) {
      const float* r0 = src + iy[2 * oy] * src_w;
      const float* r1 = src + iy[2 * oy + 1] * src_w;
      float wy = fy[oy];
      for (Index ox = 0; ox < out_w; ++ox) {
        Index a = ix[2 * ox], b = ix[2 * ox + 1];
        float wx = fx[ox];
        float top = r0[a] + wx * (r0[b] - r0[a]);
        float bottom = r1[a] + wx * (r1[b] - r1[a]);
        dst[oy * out_w + ox] = top + wy * (bottom - top);
      }
    }
  }
  image.commit();
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE std::array<Index, 4> RandomResizedCrop::window(Index H, Index W, Rng& rng) const {
  double area = static_cast<double>(H * W);
  double log_lo = std::log(options.ratio.lo), log_hi = std::log(options.ratio.hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * rng.uniform(options.scale.lo, options.scale.hi);
    double aspect = std::exp(rng.uniform(log_lo, log_hi));
    auto w = static_cast<Index>(std::lround(std::sqrt(target * aspect)));
    auto h = static_cast<Index>(std::lround(std::sqrt(target / aspect)));
    if (0 < w && w <= W && 0 < h && h <= H) {
      auto top = static_cast<Index>(rng.below(std::uint64_t(H - h + 1)));
      auto left = static_cast<Index>(rng.below(std::uint64_t(W - w + 1)));
      return {top, left, h, w};
    }
  }
  double in_ratio = static_cast<double>(W) / static_cast<double>(H);
  Index w = W, h = H;
  if (in_ratio < options.ratio.lo) {
    h = std::clamp<Index>(std::lround(static_cast<double>(W) / options.ratio.lo), 1, H);
  } else if (in_ratio > options.ratio.hi) {
    w = std::clamp<Index>(std::lround(static_cast<double>(H) * options.ratio.hi), 1, W);
  }
  return {(H - h) / 2, (W - w) / 2, h, w};
}

SIMILE_INLINE void RandomResizedCrop::apply(Image& image, Rng& rng) const {
  auto [top, left, h, w] = window(image.height(), image.width(), rng);
  detail::resize_window(image, top, left, h, w, options.height, options.width);
}

SIMILE_INLINE void Resize::apply(Image& image, Rng&) const {
  if (image.height() == height && image.width() == width) return;
  detail::resize_window(image, 0, 0, image.height(), image.width(), height, width);
}

SIMILE_INLINE void HorizontalFlip::apply(Image& image, Rng&) const {
  Index w = image.width();
  for (Index r = 0, rows = image.channels() * image.height(); r < rows; ++r) {
    float* row = image.data() + r * w;
    std::reverse(row, row + w);
  }
}

SIMILE_INLINE void VerticalFlip::apply(Image& image, Rng&) const {
  Index h = image.height(), w = image.width();
  for (Index c = 0; c < image.channels(); ++c) {
    float* p = image.plane(c);
    for (Index y = 0; y < h / 2; ++y) std::swap_ranges(p + y * w, p + (y + 1) * w, p + (h - 1 - y) * w);
  }
}

SIMILE_INLINE void RandomRotation::rotate(Image& image, double degrees) const {
  Index c = image.channels(), h = image.height(), w = image.width();
  double theta = degrees * std::numbers::pi / 180.0;
  auto cs = static_cast<float>(std::cos(theta)), sn = static_cast<float>(std::sin(theta));
  float cx = 0.5f * static_cast<float>(w - 1), cy = 0.5f * static_cast<float>(h - 1);
  float fill = options.fill;
  float* out = image.spare(c, h, w);
  for (Index ch = 0; ch < c; ++ch) {
    const float* src = image.plane(ch);
    float* dst = out + ch * h * w;
    auto pixel = [&](Index y, Index x) { return (y >= 0 && y < h && x >= 0 && x < w) ? src[y * w + x] : fill; };
    for (Index y = 0; y < h; ++y) {
      float dy = static_cast<float>(y) - cy;
      for (Index x = 0; x < w; ++x) {
        float dx = static_cast<float>(x) - cx;
        // Inverse map: the output pixel takes the source point rotated back by theta (y axis down).
        float sx = cs * dx - sn * dy + cx;
        float sy = sn * dx + cs * dy + cy;
        float fx0 = std::floor(sx), fy0 = std::floor(sy);
        auto x0 = static_cast<Index>(fx0), y0 = static_cast<Index>(fy0);
        float ax = sx - fx0, ay = sy - fy0;
        float top = pixel(y0, x0) + ax * (pixel(y0, x0 + 1) - pixel(y0, x0));
        float bottom = pixel(y0 + 1, x0) + ax * (pixel(y0 + 1, x0 + 1) - pixel(y0 + 1, x0));
        dst[y * w + x] = top + ay * (bottom - top);
      }
    }
  }
  image.commit();
}

}  // namespace simile
