#pragma once
/// \file
/// The definitions behind `simile/augment/image.hpp`: compiled once in `src/augment/image.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/image.hpp"

namespace simile::detail {

SIMILE_INLINE void check_interval(const char* who, const char* name, Interval r, double min, double max) {
  check<ValueError>(r.lo <= r.hi && r.lo >= min && r.hi <= max, who, ": ", name, " [", r.lo, ", ", r.hi,
                    "] must satisfy ", min, " <= lo <= hi <= ", max);
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE void Image::resize(Index channels, Index height, Index width) {
  check<ShapeError>(channels > 0 && height > 0 && width > 0, "Image: size [", channels, ", ", height, ", ",
                    width, "] must be positive");
  c_ = channels, h_ = height, w_ = width;
  data_.resize(std::size_t(numel()));
}

SIMILE_INLINE void Image::load(const std::uint8_t* pixels, Index channels, Index height, Index width) {
  resize(channels, height, width);
  constexpr float inv = 1.0f / 255.0f;
  float* out = data_.data();
  for (Index i = 0, n = numel(); i < n; ++i) out[i] = static_cast<float>(pixels[i]) * inv;
}

SIMILE_INLINE void Image::load(const float* pixels, Index channels, Index height, Index width) {
  resize(channels, height, width);
  std::copy(pixels, pixels + numel(), data_.data());
}

SIMILE_INLINE float* Image::spare(Index channels, Index height, Index width) {
  sc_ = channels, sh_ = height, sw_ = width;
  spare_.resize(std::size_t(channels * height * width));
  return spare_.data();
}

SIMILE_INLINE void Image::commit() {
  data_.swap(spare_);
  c_ = sc_, h_ = sh_, w_ = sw_;
}

SIMILE_INLINE float* Image::scratch(std::size_t n) {
  if (scratch_.size() < n) scratch_.resize(n);
  return scratch_.data();
}

SIMILE_INLINE Index* Image::index_scratch(std::size_t n) {
  if (index_scratch_.size() < n) index_scratch_.resize(n);
  return index_scratch_.data();
}

SIMILE_INLINE void Pipeline::apply(Image& image, Rng& rng) const {
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    Rng step = rng.split(k);
    steps_[k](image, step);
  }
}

}  // namespace simile
