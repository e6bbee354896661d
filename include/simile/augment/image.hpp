#pragma once
/// \file
/// The image side of augmentation: `Image`, the float [C, H, W] working buffer a view is built in;
/// the `Transform` concept (`apply(Image&, Rng&)`); `RandomApply` (apply with probability p) and
/// `Pipeline`, a runtime sequence of transforms.
///
/// An `Image` owns its buffers and keeps their capacity: a worker thread reuses one Image for every
/// view it makes, so after the first sample a pipeline allocates nothing. Transforms that change the
/// size (a crop, a rotation into a fresh buffer) write into `Image::spare` and `commit()` swaps it in.
/// Pixel values are floats, nominally in [0, 1] (uint8 / 255) until `Normalize`.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/shape.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// A closed range [lo, hi] of an option drawn uniformly (a scale, a ratio, a sigma).
struct Interval {
  double lo = 0.0;  ///< the smallest value
  double hi = 0.0;  ///< the largest value, >= lo
};

namespace detail {
void check_interval(const char* who, const char* name, Interval r, double min, double max);
}  // namespace detail

/// A float image [channels, height, width] with reusable scratch space.
class Image {
 public:
  Image() = default;
  /// A zero image of the given size.
  Image(Index channels, Index height, Index width) { resize(channels, height, width); }

  /// @{
  /// The image's size: C, H and W of [C, H, W].
  Index channels() const { return c_; }
  Index height() const { return h_; }
  Index width() const { return w_; }
  /// @}
  /// C * H * W, the number of floats.
  Index numel() const { return c_ * h_ * w_; }
  /// [C, H, W].
  Shape shape() const { return {c_, h_, w_}; }
  /// @{
  /// The C * H * W floats, planar (channel by channel), each plane row-major.
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  /// @}
  /// Plane of channel `c` (height * width floats).
  /// @{
  float* plane(Index c) { return data_.data() + c * h_ * w_; }
  const float* plane(Index c) const { return data_.data() + c * h_ * w_; }
  /// @}
  /// @{
  /// The value of channel `c` at row `y`, column `x`; not bounds-checked (inner loops).
  float& at(Index c, Index y, Index x) { return data_[std::size_t((c * h_ + y) * w_ + x)]; }
  float at(Index c, Index y, Index x) const { return data_[std::size_t((c * h_ + y) * w_ + x)]; }
  /// @}

  /// Sets the size; the contents are unspecified. Allocates only when the capacity grows.
  void resize(Index channels, Index height, Index width);

  /// Loads uint8 pixels [channels, height, width] as floats in [0, 1].
  void load(const std::uint8_t* pixels, Index channels, Index height, Index width);
  /// Loads float pixels [channels, height, width] as they are.
  void load(const float* pixels, Index channels, Index height, Index width);

  /// A second buffer of the given size to write a transformed image into; `commit()` makes it current.
  float* spare(Index channels, Index height, Index width);
  /// Makes the spare buffer the image (the old pixels become the spare).
  void commit();
  /// Float scratch of at least n elements, for per-call tables (kernel weights, sample positions).
  float* scratch(std::size_t n);
  /// Integer scratch of at least n elements.
  Index* index_scratch(std::size_t n);

  /// A copy as a tensor [C, H, W] (for tests and tools, not the hot path).
  Tensor<float> to_tensor() const {
    return Tensor<float>::from(std::span<const float>(data_.data(), data_.size()), shape());
  }

 private:
  std::vector<float> data_, spare_, scratch_;
  std::vector<Index> index_scratch_;
  Index c_ = 0, h_ = 0, w_ = 0, sc_ = 0, sh_ = 0, sw_ = 0;
};

/// An image transform: `t.apply(image, rng)` changes `image` in place (possibly its size), drawing
/// whatever randomness it needs from `rng` only. It must not keep state between calls, so that one
/// transform object can serve every thread at once.
template <class T>
concept Transform = std::copy_constructible<T> && requires(const T& t, Image& image, Rng& rng) {
  t.apply(image, rng);
};

/// Applies `transform` with probability `p` (torchvision's RandomApply for one transform).
template <Transform T>
struct RandomApply {
  T transform;     ///< the transform applied
  double p = 0.5;  ///< the probability of applying it, in [0, 1]

  /// Throws ValueError unless `probability` is in [0, 1].
  RandomApply(T t, double probability) : transform(std::move(t)), p(probability) {
    check<ValueError>(p >= 0.0 && p <= 1.0, "RandomApply: probability ", p, " outside [0, 1]");
  }
  /// Draws from `rng` whether to apply; the transform draws from `rng` too when applied.
  void apply(Image& image, Rng& rng) const {
    if (rng.bernoulli(p)) transform.apply(image, rng);
  }
};

/// A sequence of transforms applied in order. Step k draws from `rng.split(k)`, so the randomness of
/// one step does not depend on how many numbers the steps before it drew: adding a blur after a crop
/// leaves the crop's draws unchanged.
class Pipeline {
 public:
  using Step = std::function<void(Image&, Rng&)>;  ///< one step: transforms the image in place

  Pipeline() = default;

  /// Appends `t`, applied always.
  template <Transform T>
  Pipeline& add(T t) {
    steps_.push_back([t = std::move(t)](Image& image, Rng& rng) { t.apply(image, rng); });
    return *this;
  }
  /// Appends `t`, applied with probability `p`.
  template <Transform T>
  Pipeline& add(T t, double p) {
    return add(RandomApply<T>(std::move(t), p));
  }

  /// Number of steps.
  std::size_t size() const { return steps_.size(); }
  /// True when there is no step (`apply` leaves the image as it is).
  bool empty() const { return steps_.empty(); }

  /// Runs the steps on `image` in place, step k with `rng.split(k)` (`rng` itself is not advanced).
  void apply(Image& image, Rng& rng) const;

 private:
  std::vector<Step> steps_;
};

static_assert(Transform<Pipeline>);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/image-inl.hpp"
#endif
