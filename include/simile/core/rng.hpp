#pragma once
/// \file
/// `Rng`: a counter-based random stream. Output i of a stream is `mix(key + i * golden)`, where `mix` is
/// the SplitMix64 finalizer (Steele, Lea, Flood 2014), so a stream is fully described by (key, counter):
/// cheap to split, to checkpoint and to restore, and identical on every platform (no `std::*_distribution`,
/// whose algorithms the standard leaves to the implementation).
///
/// Streams are derived, never shared: `Rng::stream(seed, epoch, index, view)` gives the stream of one
/// view of one sample in one epoch whatever the thread or the order in which samples are processed.

#include <cmath>
#include <cstdint>
#include <numbers>

#include "simile/core/error.hpp"

namespace simile {

/// Saved position of an `Rng`, for checkpoints.
struct RngState {
  std::uint64_t key = 0;      ///< the stream's key
  std::uint64_t counter = 0;  ///< draws taken from the stream so far
  friend bool operator==(const RngState&, const RngState&) = default;
};

/// A counter-based random stream (see the file comment): 64-bit outputs `mix(key + i * golden)`,
/// uniforms and normals computed from them the same way on every platform.
class Rng {
 public:
  static constexpr std::uint64_t golden = 0x9E3779B97F4A7C15ULL;  ///< 2^64 / phi, the counter's increment

  /// SplitMix64's output function: a bijective 64-bit mixer.
  static constexpr std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// The stream of `seed`, at its start.
  explicit Rng(std::uint64_t seed = 0) : key_(mix(seed ^ 0x5851F42D4C957F2DULL)) {}
  /// The stream saved in `s`, at the position saved (`state()`).
  explicit Rng(RngState s) : key_(s.key), counter_(s.counter) {}

  /// The stream derived from `seed` and a path of ids (epoch, sample index, view, ...).
  template <std::integral... Ids>
  static Rng stream(std::uint64_t seed, Ids... ids) {
    Rng r(seed);
    ((r = r.split(static_cast<std::uint64_t>(ids))), ...);
    return r;
  }

  /// An independent child stream named `id`; does not advance this stream.
  Rng split(std::uint64_t id) const {
    Rng r;
    r.key_ = mix(key_ ^ mix(id + golden));
    r.counter_ = 0;
    return r;
  }

  /// The stream's position, to restore with `Rng(RngState)`.
  RngState state() const { return {key_, counter_}; }

  /// Next 64 random bits.
  std::uint64_t next_u64() { return mix(key_ + (++counter_) * golden); }
  /// Next 32 random bits (the high half of `next_u64()`).
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next_u64() >> 32); }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), unbiased (Lemire 2019). Requires n > 0.
  std::uint64_t below(std::uint64_t n) {
    check(n > 0, "Rng::below: n must be positive");
    __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  /// Standard normal by Box-Muller (one output per two uniforms, no hidden cached state).
  double normal() {
    double u1 = 1.0 - uniform();  // (0, 1]
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  /// A draw from N(mean, stddev^2): `mean + stddev * normal()`.
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::uint64_t key_ = 0;
  std::uint64_t counter_ = 0;
};

}  // namespace simile
