#pragma once
/// \file
/// Photometric image transforms on float images in [0, 1]: `ColorJitter` (brightness, contrast,
/// saturation, hue in a random order, as torchvision), `Grayscale`, `Solarize` (BYOL's asymmetric
/// augmentation) and `Normalize` (per-channel mean and standard deviation).

#include <array>
#include <cmath>
#include <vector>

#include "simile/augment/image.hpp"

namespace simile {

namespace detail {
/// ITU-R 601 luma, the weights torchvision's rgb_to_grayscale uses.
inline constexpr float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;

inline void check_color_channels(const char* who, const Image& image) {
  check<ShapeError>(image.channels() == 1 || image.channels() == 3, who, ": image has ", image.channels(),
                    " channels, expected 1 (grayscale) or 3 (RGB)");
}

/// Mean of the grayscale version of the image.
inline float gray_mean(const Image& image) {
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

inline void blend_clamp(float* p, Index n, float f, float other) {
  float add = (1.0f - f) * other;
  for (Index i = 0; i < n; ++i) p[i] = std::clamp(f * p[i] + add, 0.0f, 1.0f);
}

/// Shifts the hue of RGB planes by `shift` turns (torchvision's _rgb2hsv / _hsv2rgb).
inline void shift_hue(float* r, float* g, float* b, Index n, float shift) {
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
}  // namespace detail

/// Options of `ColorJitter`; 0 turns a component off.
struct ColorJitterOptions {
  double brightness = 0.0;  ///< factor uniform in [max(0, 1 - b), 1 + b]
  double contrast = 0.0;    ///< factor uniform in [max(0, 1 - c), 1 + c]
  double saturation = 0.0;  ///< factor uniform in [max(0, 1 - s), 1 + s]; RGB only
  double hue = 0.0;         ///< shift uniform in [-h, h] turns, h <= 0.5; RGB only
};

/// Random brightness, contrast, saturation and hue changes applied in a random order (torchvision's
/// ColorJitter; SimCLR uses (0.8, 0.8, 0.8, 0.2) with probability 0.8). Brightness scales the pixels;
/// contrast blends with the mean gray level; saturation blends each pixel with its own gray; hue
/// rotates the HSV hue. Results are clamped to [0, 1]. A grayscale image gets brightness and contrast
/// only (saturation and hue do nothing to gray).
struct ColorJitter {
  ColorJitterOptions options;

  explicit ColorJitter(ColorJitterOptions o) : options(o) {
    check<ValueError>(o.brightness >= 0 && o.contrast >= 0 && o.saturation >= 0, "ColorJitter: brightness ",
                      o.brightness, ", contrast ", o.contrast, ", saturation ", o.saturation, " must be >= 0");
    check<ValueError>(o.hue >= 0 && o.hue <= 0.5, "ColorJitter: hue ", o.hue, " outside [0, 0.5]");
  }

  void apply(Image& image, Rng& rng) const {
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
};

/// Replaces an RGB image by its luma in all three channels (torchvision's RandomGrayscale keeps the
/// channel count); a grayscale image is left as it is.
struct Grayscale {
  void apply(Image& image, Rng&) const {
    detail::check_color_channels("Grayscale", image);
    if (image.channels() == 1) return;
    float *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
    for (Index i = 0, n = image.height() * image.width(); i < n; ++i) {
      float y = detail::luma_r * r[i] + detail::luma_g * g[i] + detail::luma_b * b[i];
      r[i] = g[i] = b[i] = y;
    }
  }
};

/// Inverts the pixels at or above `threshold`: x -> 1 - x where x >= threshold (BYOL applies it to
/// the second view with probability 0.2).
struct Solarize {
  float threshold = 0.5f;

  explicit Solarize(float t = 0.5f) : threshold(t) {
    check<ValueError>(t >= 0.0f && t <= 1.0f, "Solarize: threshold ", t, " outside [0, 1]");
  }
  void apply(Image& image, Rng&) const {
    float* p = image.data();
    for (Index i = 0, n = image.numel(); i < n; ++i) p[i] = p[i] >= threshold ? 1.0f - p[i] : p[i];
  }
};

/// x_c -> (x_c - mean_c) / std_c for each channel c. One value of each applies to every channel.
struct Normalize {
  std::vector<float> mean, std;

  Normalize(std::vector<float> m, std::vector<float> s) : mean(std::move(m)), std(std::move(s)) {
    check<ValueError>(!mean.empty() && mean.size() == std.size(), "Normalize: ", mean.size(), " means and ",
                      std.size(), " standard deviations (need the same positive number)");
    for (float v : std) check<ValueError>(v > 0, "Normalize: standard deviation ", v, " must be positive");
  }
  void apply(Image& image, Rng&) const {
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
};

}  // namespace simile
