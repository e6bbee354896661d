#pragma once
/// \file
/// An image augmentation pipeline written as text, for command lines and configuration files:
/// `image_pipeline("crop:0.2,flip@0.5,jitter:0.4@0.8,noise:0.05", 28, 28)`.
///
/// A spec is a comma-separated list of steps applied in order; a step is `name[:arg[:arg]][@p]`, `@p`
/// applying it with probability p (0 <= p <= 1; default 1, flips 0.5). The steps (numbers are plain
/// decimals):
/// | step | transform |
/// |---|---|
/// | `crop:lo[:hi]` | `RandomResizedCrop` to the output size, area fraction U(lo, hi) (hi 1), ratio [3/4, 4/3] |
/// | `resize` | `Resize` to the output size |
/// | `flip`, `vflip` | `HorizontalFlip`, `VerticalFlip` (default @0.5) |
/// | `rotate:deg` | `RandomRotation`, angle U(-deg, deg) |
/// | `jitter:b[:c[:s[:h]]]` | `ColorJitter` brightness b, contrast c (default b), saturation s, hue h (0) |
/// | `gray` | `Grayscale` |
/// | `solarize[:t]` | `Solarize` at threshold t (0.5) |
/// | `blur:lo:hi` | `GaussianBlur`, sigma U(lo, hi) pixels |
/// | `noise:s` | `GaussianNoise`, sigma U(0, s) |
/// | `erase[:lo:hi]` | `RandomErasing`, area fraction U(lo, hi) (0.02, 0.33) |
/// | `normalize:mean:std` | `Normalize` with one mean and standard deviation for every channel |
/// `none` is the empty pipeline. Two names stand for whole specs: `default` (`kDefaultImageAugmentation`) and `reference` (the
/// PyTorch reference recipe of `bench/simclr_reference.py`, `kReferenceImageAugmentation`).

#include <string>
#include <string_view>
#include <vector>

#include "simile/augment/image.hpp"

namespace simile {

/// simile's default views of 28x28 grayscale images (Fashion-MNIST): a crop of 20 % to 100 % of the
/// area, a flip, brightness and contrast jitter of 0.4 with probability 0.8, and faint Gaussian noise.
inline constexpr std::string_view kDefaultImageAugmentation = "crop:0.2,flip@0.5,jitter:0.4@0.8,noise:0.05";
/// The views of the PyTorch reference recipe (issue 13, `bench/`): a crop of 30 % to 100 % of the area, a
/// flip, brightness and contrast jitter of 0.4 with probability 0.8. (The reference then normalizes by
/// Fashion-MNIST's mean and deviation, `normalize:0.2860:0.3530`; an encoder that starts with a
/// convolution and batch norm absorbs that affine map but at the zero padding.)
inline constexpr std::string_view kReferenceImageAugmentation = "crop:0.3,flip@0.5,jitter:0.4@0.8";

/// The pipeline `spec` describes (see the file comment), producing images of height x width where a
/// step resizes. An unknown step, a wrong number of arguments, a value that is not a number or out of
/// its transform's range is a ValueError naming the spec and the step.
Pipeline image_pipeline(std::string_view spec, Index height, Index width);

/// `spec` with the names `default` and `reference` replaced by what they stand for.
std::string expand_image_augmentation(std::string_view spec);

/// One step of a spec: its text as written (`jitter:0.4@0.8`) and its name (`jitter`).
struct AugmentationStep {
  std::string text;  ///< the step as written, arguments and probability included
  std::string name;  ///< the transform's name in the table above
};

/// The steps of `spec` in order, `default` and `reference` expanded (`none`: no step): what a caller checks
/// before building the pipeline, e.g. the tool refusing `normalize`. A malformed step (no name, a value that
/// is not a number, a probability outside [0, 1]) is a ValueError as in `image_pipeline`; names are not
/// checked against the table.
std::vector<AugmentationStep> image_augmentation_steps(std::string_view spec);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/spec-inl.hpp"
#endif
