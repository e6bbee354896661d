#pragma once
/// \file
/// Filters and corruptions: `GaussianBlur` (separable, random sigma; SimCLR, BYOL), `GaussianNoise`
/// and `RandomErasing` (cutout; Zhong et al. 2020, as torchvision implements it).

#include <cmath>
#include <numbers>

#include "simile/core/instantiate.hpp"
#include "simile/augment/image.hpp"

namespace simile {

/// Options of `GaussianBlur`.
struct GaussianBlurOptions {
  Index kernel_size = 0;      ///< odd; 0 picks 2 * ceil(3 sigma) + 1 for the sigma drawn
  Interval sigma{0.1, 2.0};   ///< standard deviation in pixels, uniform in [lo, hi]
};

namespace detail {
/// Index i reflected into [0, n) without repeating the edge (PyTorch's "reflect" padding), for any i.
Index reflect(Index i, Index n);
}  // namespace detail

/// Blurs each channel with a normalized Gaussian kernel of a random sigma, applied as two 1-D passes
/// (rows, then columns) with reflect padding. A constant image stays constant.
struct GaussianBlur {
  GaussianBlurOptions options;  ///< the kernel size and the sigma range

  /// Throws ValueError for an even or negative kernel size, or a sigma range outside [1e-6, 1e3].
  explicit GaussianBlur(GaussianBlurOptions o) : options(o) {
    check<ValueError>(o.kernel_size == 0 || (o.kernel_size > 0 && o.kernel_size % 2 == 1),
                      "GaussianBlur: kernel size ", o.kernel_size, " must be odd (or 0 for automatic)");
    detail::check_interval("GaussianBlur", "sigma", o.sigma, 1e-6, 1e3);
  }

  /// Blur with exactly `sigma` (the deterministic core).
  void blur(Image& image, double sigma) const;

  /// Blurs `image` in place with a sigma drawn uniformly from `options.sigma`.
  void apply(Image& image, Rng& rng) const { blur(image, rng.uniform(options.sigma.lo, options.sigma.hi)); }
};

/// Options of `GaussianNoise`.
struct GaussianNoiseOptions {
  Interval sigma{0.0, 0.05};  ///< noise standard deviation, drawn uniformly per image
  bool clip = true;           ///< clamp the result to [0, 1]
};

/// Adds independent N(0, sigma^2) noise to every pixel, sigma drawn per image from `sigma`.
/// Normals come in pairs from Marsaglia's polar method (one 64-bit draw gives both coordinates).
struct GaussianNoise {
  GaussianNoiseOptions options;  ///< the range of sigma

  /// Throws ValueError for a sigma range outside [0, 1e6] (or with lo > hi).
  explicit GaussianNoise(GaussianNoiseOptions o) : options(o) {
    detail::check_interval("GaussianNoise", "sigma", o.sigma, 0.0, 1e6);
  }

  /// Adds the noise to `image` in place, drawing sigma and the noise from `rng`.
  void apply(Image& image, Rng& rng) const;
};

/// Options of `RandomErasing` (torchvision's defaults).
struct RandomErasingOptions {
  Interval scale{0.02, 0.33};  ///< erased area as a fraction of the image
  Interval ratio{0.3, 3.3};    ///< erased rectangle's aspect ratio (log-uniform)
  float value = 0.0f;          ///< value written into the rectangle, every channel
};

/// Erases a random rectangle (cutout): 10 tries to draw one that fits strictly inside the image, as
/// torchvision's RandomErasing; when none fits the image is left as it is.
struct RandomErasing {
  RandomErasingOptions options;  ///< the area and aspect-ratio ranges and the fill value

  /// Throws ValueError for a scale range outside [0, 1] or a ratio range outside [1e-6, 1e6].
  explicit RandomErasing(RandomErasingOptions o) : options(o) {
    detail::check_interval("RandomErasing", "scale", o.scale, 0.0, 1.0);
    detail::check_interval("RandomErasing", "ratio", o.ratio, 1e-6, 1e6);
  }

  /// Erases one rectangle of `image` in place, drawn from `rng` (or nothing, see above).
  void apply(Image& image, Rng& rng) const;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/filter-inl.hpp"
#endif
