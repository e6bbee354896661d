#pragma once
/// \file
/// Photometric image transforms on float images in [0, 1]: `ColorJitter` (brightness, contrast,
/// saturation, hue in a random order, as torchvision), `Grayscale`, `Solarize` (BYOL's asymmetric
/// augmentation) and `Normalize` (per-channel mean and standard deviation).

#include <array>
#include <cmath>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/augment/image.hpp"

namespace simile {

namespace detail {
/// ITU-R 601 luma, the weights torchvision's rgb_to_grayscale uses.
inline constexpr float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;

void check_color_channels(const char* who, const Image& image);

/// Mean of the grayscale version of the image.
float gray_mean(const Image& image);

void blend_clamp(float* p, Index n, float f, float other);

/// Shifts the hue of RGB planes by `shift` turns (torchvision's _rgb2hsv / _hsv2rgb).
void shift_hue(float* r, float* g, float* b, Index n, float shift);
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
  ColorJitterOptions options;  ///< the four strengths (0: that jitter off)

  /// Throws ValueError for a negative brightness, contrast or saturation, or a hue outside [0, 0.5].
  explicit ColorJitter(ColorJitterOptions o) : options(o) {
    check<ValueError>(o.brightness >= 0 && o.contrast >= 0 && o.saturation >= 0, "ColorJitter: brightness ",
                      o.brightness, ", contrast ", o.contrast, ", saturation ", o.saturation, " must be >= 0");
    check<ValueError>(o.hue >= 0 && o.hue <= 0.5, "ColorJitter: hue ", o.hue, " outside [0, 0.5]");
  }

  /// Jitters `image` in place, factors and order drawn from `rng`.
  void apply(Image& image, Rng& rng) const;
};

/// Replaces an RGB image by its luma in all three channels (torchvision's RandomGrayscale keeps the
/// channel count); a grayscale image is left as it is.
struct Grayscale {
  /// Converts `image` in place; draws nothing.
  void apply(Image& image, Rng&) const;
};

/// Inverts the pixels at or above `threshold`: x -> 1 - x where x >= threshold (BYOL applies it to
/// the second view with probability 0.2).
struct Solarize {
  float threshold = 0.5f;  ///< in [0, 1]

  /// Throws ValueError unless `t` is in [0, 1].
  explicit Solarize(float t = 0.5f) : threshold(t) {
    check<ValueError>(t >= 0.0f && t <= 1.0f, "Solarize: threshold ", t, " outside [0, 1]");
  }
  /// Solarizes `image` in place; draws nothing.
  void apply(Image& image, Rng&) const;
};

/// x_c -> (x_c - mean_c) / std_c for each channel c. One value of each applies to every channel.
struct Normalize {
  /// @{
  /// Per-channel means and standard deviations (one value each, or one per channel).
  std::vector<float> mean, std;
  /// @}

  /// Throws ValueError unless `m` and `s` have the same non-zero size and every `s` is positive.
  Normalize(std::vector<float> m, std::vector<float> s) : mean(std::move(m)), std(std::move(s)) {
    check<ValueError>(!mean.empty() && mean.size() == std.size(), "Normalize: ", mean.size(), " means and ",
                      std.size(), " standard deviations (need the same positive number)");
    for (float v : std) check<ValueError>(v > 0, "Normalize: standard deviation ", v, " must be positive");
  }
  /// Normalizes `image` in place. Throws ShapeError when more than one value was given and their number
  /// is not the image's channel count.
  void apply(Image& image, Rng&) const;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/color-inl.hpp"
#endif
