#pragma once
/// \file
/// Geometric image transforms: `RandomResizedCrop` (Szegedy et al. 2015, as torchvision implements it,
/// the crop of SimCLR), `HorizontalFlip`, `VerticalFlip` and `RandomRotation`, with bilinear
/// resampling (pixel centers at +0.5, torchvision's `align_corners=False`).

#include <cmath>
#include <numbers>

#include "simile/core/instantiate.hpp"
#include "simile/augment/image.hpp"

namespace simile {

/// Options of `RandomResizedCrop`. Defaults are torchvision's.
struct RandomResizedCropOptions {
  Index height = 0;                   ///< output height (> 0)
  Index width = 0;                    ///< output width (> 0)
  Interval scale{0.08, 1.0};          ///< crop area as a fraction of the image area
  Interval ratio{3.0 / 4.0, 4.0 / 3.0};  ///< crop width / height
};

namespace detail {
/// Bilinear resize of the window [y0, y0 + h) x [x0, x0 + w) of every channel of `image` to
/// out_h x out_w (align_corners = False, samples clamped to the window).
void resize_window(Image& image, Index y0, Index x0, Index h, Index w, Index out_h, Index out_w);
}  // namespace detail

/// Crops a random window and resizes it to height x width (bilinear). The window's area is a uniform
/// fraction of the image's in `scale` and its aspect ratio is log-uniform in `ratio`; 10 tries, then
/// the central crop with the ratio clamped into range (torchvision's `RandomResizedCrop.get_params`).
/// With scale (1, 1) and ratio (1, 1) on a square image of the output size it is the identity.
struct RandomResizedCrop {
  RandomResizedCropOptions options;  ///< output size, scale and ratio ranges

  /// Throws ValueError for a non-positive output size, a scale range outside (0, 1] or a ratio range
  /// outside [1e-6, 1e6] (or with lo > hi).
  explicit RandomResizedCrop(RandomResizedCropOptions o) : options(o) {
    check<ValueError>(o.height > 0 && o.width > 0, "RandomResizedCrop: output size ", o.height, "x", o.width,
                      " must be positive");
    detail::check_interval("RandomResizedCrop", "scale", o.scale, 0.0, 1.0);
    check<ValueError>(o.scale.hi > 0, "RandomResizedCrop: scale upper bound must be positive");
    detail::check_interval("RandomResizedCrop", "ratio", o.ratio, 1e-6, 1e6);
  }

  /// The window (top, left, height, width) for an H x W image.
  std::array<Index, 4> window(Index H, Index W, Rng& rng) const;

  /// Replaces `image` by a crop at `window(...)` resized (bilinear) to the output size.
  void apply(Image& image, Rng& rng) const;
};

/// Bilinear resize of the whole image to height x width (deterministic; for evaluation pipelines).
struct Resize {
  /// @{
  /// The output size.
  Index height = 0, width = 0;
  /// @}
  /// Throws ValueError unless `h` and `w` are positive.
  Resize(Index h, Index w) : height(h), width(w) {
    check<ValueError>(h > 0 && w > 0, "Resize: output size ", h, "x", w, " must be positive");
  }
  /// Resizes `image` in place; draws nothing.
  void apply(Image& image, Rng&) const;
};

/// Mirrors the image left to right (wrap it in `RandomApply` or `Pipeline::add(t, p)` for a probability).
struct HorizontalFlip {
  /// Flips `image` in place; draws nothing.
  void apply(Image& image, Rng&) const;
};

/// Mirrors the image top to bottom.
struct VerticalFlip {
  /// Flips `image` in place; draws nothing.
  void apply(Image& image, Rng&) const;
};

/// Options of `RandomRotation`.
struct RandomRotationOptions {
  double degrees = 10.0;  ///< the angle is uniform in [-degrees, degrees]
  float fill = 0.0f;      ///< value of pixels that come from outside the image
};

/// Rotates the image about its center by a uniform angle in [-degrees, degrees] (counter-clockwise
/// for a positive angle, as torchvision), bilinear, same size; corners that leave the image take `fill`.
struct RandomRotation {
  RandomRotationOptions options;  ///< the angle range and the fill value

  /// Throws ValueError unless `o.degrees` is in [0, 180].
  explicit RandomRotation(RandomRotationOptions o) : options(o) {
    check<ValueError>(o.degrees >= 0 && o.degrees <= 180, "RandomRotation: degrees ", o.degrees,
                      " outside [0, 180]");
  }

  /// Rotation by exactly `degrees` (the deterministic core, used by apply and by tests).
  void rotate(Image& image, double degrees) const;

  /// Rotates `image` in place by an angle drawn from `rng`.
  void apply(Image& image, Rng& rng) const { rotate(image, rng.uniform(-options.degrees, options.degrees)); }
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/geometry-inl.hpp"
#endif
