#pragma once
/// \file
/// `Rng`: a counter-based random stream. Output i of a stream is `mix(key + i * golden)`, where `mix` is
/// the SplitMix64 finalizer (Steele, Lea, Flood 2014), so a stream is fully described by (key, counter):
/// cheap to split, to checkpoint and to restore, and identical on every platform (no `std::*_distribution`,
/// whose algorithms the standard leaves to the implementation).
///
/// Streams are derived, never shared: `Rng::stream(seed, epoch, index, view)` gives the stream of one
/// view of one sample in one epoch whatever the thread or the order in which samples are processed.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "simile/core/error.hpp"

namespace simile {

namespace detail {
/// ln(u) for u in (0, 1] in float, branch-free so that loops over it vectorize: u = m 2^e with m in
/// [sqrt(1/2), sqrt(2)), ln(1 + f) for f = m - 1 by Cephes' degree-9 minimax polynomial, plus e ln 2 in
/// two parts. Relative error within 2 ulp of std::log's (tests/core/rng_test.cpp).
inline float log_unit(float u) {
  const auto bits = std::bit_cast<std::uint32_t>(u);
  auto e = static_cast<float>(static_cast<std::int32_t>(bits >> 23) - 127);
  float m = std::bit_cast<float>((bits & 0x007FFFFFu) | 0x3F800000u);  // [1, 2)
  const bool high = m > 1.41421356f;
  m = high ? 0.5f * m : m;
  e = high ? e + 1.0f : e;
  const float f = m - 1.0f, z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += e * -2.12194440e-4f - 0.5f * z;
  return f + y + e * 0.693359375f;
}

/// cos(2 pi t) and sin(2 pi t) for t in [0, 1) in float, branch-free: the nearest quarter turn q and
/// phi = 2 pi t - q pi / 2 in [-pi/4, pi/4], Cephes' minimax polynomials for cos and sin of phi, then the
/// quarter turn as a swap and signs. Absolute error about 1e-7.
inline void cos_sin_turn(float t, float& c, float& s) {
  const float quarters = 4.0f * t;  // [0, 4)
  const float q = std::nearbyint(quarters);
  const float phi = (quarters - q) * 1.57079632679f, z = phi * phi;
  const float sp = phi + phi * z * (-1.6666654611e-1f + z * (8.3321608736e-3f + z * -1.9515295891e-4f));
  const float cp = 1.0f - 0.5f * z + z * z * (4.166664568298827e-2f + z * (-1.388731625493765e-3f + z * 2.443315711809948e-5f));
  const int k = static_cast<int>(q) & 3;
  const float cr = (k & 1) ? sp : cp, sr = (k & 1) ? cp : sp;
  c = (k == 1 || k == 2) ? -cr : cr;
  s = (k >= 2) ? -sr : sr;
}
}  // namespace detail

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
  /// Fills `out` with standard normals in float, two per 64-bit draw (ceil(n / 2) draws): Box-Muller on
  /// 24-bit uniforms u1 in (0, 1] and u2 in [0, 1), z = sqrt(-2 ln u1) (cos, sin)(2 pi u2), with the
  /// float polynomials above, in a loop the compiler vectorizes: several times `normal()`'s speed, for
  /// bulk noise (`GaussianNoise`). The tails end at sqrt(-2 ln 2^-24) = 5.77. Same bits for the same
  /// stream in the same build; another build may differ in the last bit (fused multiply-adds).
  void fill_normal(float* out, std::int64_t n) {
    constexpr std::int64_t block = 64;  // draws per pass
    for (std::int64_t start = 0; start < n; start += 2 * block) {
      const std::int64_t pairs = std::min<std::int64_t>(block, (n - start + 1) / 2);
      float z0[block], z1[block];
      const std::uint64_t base = counter_;
#pragma omp simd
      for (std::int64_t k = 0; k < pairs; ++k) {
        const std::uint64_t bits = mix(key_ + (base + 1 + static_cast<std::uint64_t>(k)) * golden);
        const float u1 = static_cast<float>((bits >> 40) + 1) * 0x1.0p-24f;           // (0, 1]
        const float u2 = static_cast<float>(bits & 0xFFFFFFu) * 0x1.0p-24f;          // [0, 1)
        const float r = std::sqrt(-2.0f * detail::log_unit(u1));
        float c, s;
        detail::cos_sin_turn(u2, c, s);
        z0[k] = r * c;
        z1[k] = r * s;
      }
      counter_ += static_cast<std::uint64_t>(pairs);
      for (std::int64_t k = 0; k < pairs; ++k) {
        out[start + 2 * k] = z0[k];
        if (start + 2 * k + 1 < n) out[start + 2 * k + 1] = z1[k];
      }
    }
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
