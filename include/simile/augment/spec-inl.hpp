#pragma once
/// \file
/// The definitions behind `simile/augment/spec.hpp`: compiled once in `src/augment/spec.cpp`, or included by
/// that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

#include "simile/augment/color.hpp"
#include "simile/augment/filter.hpp"
#include "simile/augment/geometry.hpp"
#include "simile/augment/spec.hpp"
#include "simile/core/error.hpp"

namespace simile {
namespace detail {

/// `s` split at every `sep` (empty parts kept).
inline std::vector<std::string_view> split_spec(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

/// One step of a spec, parsed: its name, numbers and probability.
struct SpecStep {
  std::string_view text, name;
  std::vector<double> args;
  double p = -1;  ///< -1: not given
};

inline SpecStep parse_spec_step(std::string_view spec, std::string_view text) {
  auto fail = [&](auto&&... what) {
    throw ValueError(str("image_pipeline: '", spec, "': step '", text, "': ", what...));
  };
  auto number = [&](std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      fail("'", s, "' is not a number");
    return v;
  };
  SpecStep step{text, {}, {}, -1};
  std::string_view body = text;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    body = text.substr(0, at);
    step.p = number(text.substr(at + 1));
    if (step.p < 0 || step.p > 1) fail("probability ", step.p, " outside [0, 1]");
  }
  auto parts = split_spec(body, ':');
  step.name = parts[0];
  if (step.name.empty()) fail("no name");
  for (std::size_t i = 1; i < parts.size(); ++i) step.args.push_back(number(parts[i]));
  return step;
}

}  // namespace detail

SIMILE_INLINE std::string expand_image_augmentation(std::string_view spec) {
  std::string out;
  bool first = true;
  for (std::string_view step : detail::split_spec(spec, ',')) {
    if (!std::exchange(first, false)) out += ',';
    if (step == "default") out += kDefaultImageAugmentation;
    else if (step == "reference") out += kReferenceImageAugmentation;
    else out += step;
  }
  return out;
}

SIMILE_INLINE std::vector<AugmentationStep> image_augmentation_steps(std::string_view spec_in) {
  const std::string spec = expand_image_augmentation(spec_in);
  std::vector<AugmentationStep> steps;
  if (spec == "none") return steps;
  for (std::string_view text : detail::split_spec(spec, ','))
    steps.push_back({std::string(text), std::string(detail::parse_spec_step(spec, text).name)});
  return steps;
}

SIMILE_INLINE Pipeline image_pipeline(std::string_view spec_in, Index height, Index width) {
  check<ValueError>(height > 0 && width > 0, "image_pipeline: output size ", height, "x", width, " must be positive");
  const std::string spec = expand_image_augmentation(spec_in);
  check<ValueError>(!spec.empty(), "image_pipeline: an empty spec (write 'none' for no augmentation)");
  Pipeline p;
  if (spec == "none") return p;
  for (std::string_view text : detail::split_spec(spec, ',')) {
    const detail::SpecStep s = detail::parse_spec_step(spec, text);
    const auto n = s.args.size();
    // The step takes lo to hi numbers, or (`either`) exactly lo or hi.
    auto arity = [&](std::size_t lo, std::size_t hi, bool either = false) {
      if (n < lo || n > hi || (either && n != lo && n != hi))
        throw ValueError(detail::str("image_pipeline: '", spec, "': step '", text, "': ", s.name, " takes ",
                                     lo == hi ? std::to_string(lo) : detail::str(lo, either ? " or " : " to ", hi),
                                     " numbers, not ", n));
    };
    auto arg = [&](std::size_t i, double fallback) { return i < n ? s.args[i] : fallback; };
    // Builds the step's transform with `make`; the transform's own range errors get the spec and the step.
    auto add = [&](auto make, double default_p) {
      const double prob = s.p >= 0 ? s.p : default_p;
      try {
        if (prob >= 1) p.add(make());
        else p.add(make(), prob);
      } catch (const ValueError& e) {
        throw ValueError(detail::str("image_pipeline: '", spec, "': step '", text, "': ", e.what()));
      }
    };
    if (s.name == "crop") {
      arity(1, 2);
      add([&] { return RandomResizedCrop({.height = height, .width = width, .scale = {arg(0, 0), arg(1, 1.0)}}); }, 1);
    } else if (s.name == "resize") {
      arity(0, 0);
      add([&] { return Resize(height, width); }, 1);
    } else if (s.name == "flip") {
      arity(0, 0);
      add([&] { return HorizontalFlip{}; }, 0.5);
    } else if (s.name == "vflip") {
      arity(0, 0);
      add([&] { return VerticalFlip{}; }, 0.5);
    } else if (s.name == "rotate") {
      arity(1, 1);
      add([&] { return RandomRotation({.degrees = arg(0, 0)}); }, 1);
    } else if (s.name == "jitter") {
      arity(1, 4);
      add(
          [&] {
            return ColorJitter(
                {.brightness = arg(0, 0), .contrast = arg(1, arg(0, 0)), .saturation = arg(2, 0), .hue = arg(3, 0)});
          },
          1);
    } else if (s.name == "gray") {
      arity(0, 0);
      add([&] { return Grayscale{}; }, 1);
    } else if (s.name == "solarize") {
      arity(0, 1);
      add([&] { return Solarize(static_cast<float>(arg(0, 0.5))); }, 1);
    } else if (s.name == "blur") {
      arity(2, 2);
      add([&] { return GaussianBlur({.kernel_size = 0, .sigma = {arg(0, 0), arg(1, 0)}}); }, 1);
    } else if (s.name == "noise") {
      arity(1, 1);
      add([&] { return GaussianNoise({.sigma = {0.0, arg(0, 0)}}); }, 1);
    } else if (s.name == "erase") {
      arity(0, 2, true);
      add([&] { return RandomErasing({.scale = {arg(0, 0.02), arg(1, 0.33)}}); }, 1);
    } else if (s.name == "normalize") {
      arity(2, 2);
      add([&] { return Normalize({static_cast<float>(arg(0, 0))}, {static_cast<float>(arg(1, 1))}); }, 1);
    } else {
      throw ValueError(detail::str("image_pipeline: '", spec, "': step '", text, "': unknown step '", s.name,
                                   "' (crop, resize, flip, vflip, rotate, jitter, gray, solarize, blur, noise, "
                                   "erase, normalize; or default, reference)"));
    }
  }
  return p;
}

}  // namespace simile
