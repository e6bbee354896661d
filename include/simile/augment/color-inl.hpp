#pragma once
/// \file
/// The definitions behind `simile/augment/color.hpp`: compiled once in `src/augment/color.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/color.hpp"

namespace simile::detail {

SIMILE_INLINE void check_color_channels(const char* who, const Image& image) {
  check<ShapeError>(image.channels() == 1 || image.channels() == 3, who, ": image has ", image.channels(),
                    " channels, expected 1 (grayscale) or 3 (RGB)");
}

SIMILE_INLINE float gray_mean(const Image& image) {
  Index n = image.height() * image.width();
  double acc = 0;
  if (image.channels() == 1) {
    const float* p = image.data();
    for (Index i = 0; i < n; ++i) acc += p[i];
  } else {
    const float *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
    for (Index i = 0; i < n; ++i) acc += luma_r * r[i] + luma_g * g[i] + luma_b * b[i];
  }
  return static_cast<float>(acc / static_cast<double>(n));
}

SIMILE_INLINE void blend_clamp(float* p, Index n, float f, float other) {
  float add = (1.0f - f) * other;
  for (Index i = 0; i < n; ++i) p[i] = std::clamp(f * p[i] + add, 0.0f, 1.0f);
}

SIMILE_INLINE void shift_hue(float* r, float* g, float* b, Index n, float shift) {
  for (Index i = 0; i < n; ++i) {
    float R = r[i], G = g[i], B = b[i];
    float maxc = std::max({R, G, B}), minc = std::min({R, G, B});
    float v = maxc, delta = maxc - minc;
    if (delta <= 0.0f) continue;  // gray pixel: hue undefined, nothing to rotate
    float s = delta / maxc;
    float h;
    if (maxc == R) {
      h = (G - B) / delta;
    } else if (maxc == G) {
      h = 2.0f + (B - R) / delta;
    } else {
      h = 4.0f + (R - G) / delta;
    }
    h = h / 6.0f + shift;
    h -= std::floor(h);
    float h6 = h * 6.0f;
    auto sector = static_cast<int>(h6) % 6;
    float f = h6 - std::floor(h6);
    float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (sector) {
      case 0: R = v, G = t, B = p; break;
      case 1: R = q, G = v, B = p; break;
      case 2: R = p, G = v, B = t; break;
      case 3: R = p, G = q, B = v; break;
      case 4: R = t, G = p, B = v; break;
      default: R = v, G = p, B = q; break;
    }
    r[i] = R, g[i] = G, b[i] = B;
  }
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE void ColorJitter::apply(Image& image, Rng& rng) const {
  detail::check_color_channels("ColorJitter", image);
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[std::size_t(i)], order[rng.below(std::uint64_t(i + 1))]);
  auto factor = [&](double x) { return static_cast<float>(rng.uniform(std::max(0.0, 1.0 - x), 1.0 + x)); };
  float fb = options.brightness > 0 ? factor(options.brightness) : 1.0f;
  float fc = options.contrast > 0 ? factor(options.contrast) : 1.0f;
  float fs = options.saturation > 0 ? factor(options.saturation) : 1.0f;
  float fh = options.hue > 0 ? static_cast<float>(rng.uniform(-options.hue, options.hue)) : 0.0f;
  Index n = image.height() * image.width();
  bool rgb = image.channels() == 3;
  for (int op : order) {
    if (op == 0 && options.brightness > 0) {
      detail::blend_clamp(image.data(), image.numel(), fb, 0.0f);
    } else if (op == 1 && options.contrast > 0) {
      detail::blend_clamp(image.data(), image.numel(), fc, detail::gray_mean(image));
    } else if (op == 2 && options.saturation > 0 && rgb) {
      float *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
      for (Index i = 0; i < n; ++i) {
        float gray = detail::luma_r * r[i] + detail::luma_g * g[i] + detail::luma_b * b[i];
        float add = (1.0f - fs) * gray;
        r[i] = std::clamp(fs * r[i] + add, 0.0f, 1.0f);
        g[i] = std::clamp(fs * g[i] + add, 0.0f, 1.0f);
        b[i] = std::clamp(fs * b[i] + add, 0.0f, 1.0f);
      }
    } else if (op == 3 && options.hue > 0 && rgb) {
      detail::shift_hue(image.plane(0), image.plane(1), image.plane(2), n, fh);
    }
  }
}

SIMILE_INLINE void Grayscale::apply(Image& image, Rng&) const {
  detail::check_color_channels("Grayscale", image);
  if (image.channels() == 1) return;
  float *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
  for (Index i = 0, n = image.height() * image.width(); i < n; ++i) {
    float y = detail::luma_r * r[i] + detail::luma_g * g[i] + detail::luma_b * b[i];
    r[i] = g[i] = b[i] = y;
  }
}

SIMILE_INLINE void Solarize::apply(Image& image, Rng&) const {
  float* p = image.data();
  for (Index i = 0, n = image.numel(); i < n; ++i) p[i] = p[i] >= threshold ? 1.0f - p[i] : p[i];
}

SIMILE_INLINE void Normalize::apply(Image& image, Rng&) const {
  Index c = image.channels(), n = image.height() * image.width();
  check<ShapeError>(mean.size() == 1 || static_cast<Index>(mean.size()) == c, "Normalize: image has ", c,
                    " channels but ", mean.size(), " means were given");
  for (Index ch = 0; ch < c; ++ch) {
    std::size_t k = mean.size() == 1 ? 0 : std::size_t(ch);
    float m = mean[k], inv = 1.0f / std[k];
    float* p = image.plane(ch);
    for (Index i = 0; i < n; ++i) p[i] = (p[i] - m) * inv;
  }
}

}  // namespace simile
