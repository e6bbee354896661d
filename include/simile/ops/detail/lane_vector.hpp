#pragma once
/// \file
/// `Lanes<T, L>`: L values of T as one vector of GCC's and Clang's vector extension, for the kernels of the
/// channel-blocked layout (`ops/blocked.hpp`), whose innermost loop runs over the B = L channels of one
/// position. A vector is a value: the compiler keeps it in a register (one AVX-512 register for 16 floats,
/// two AVX2 ones), where per-lane arrays written as loops were spilled to the stack and reloaded around
/// every compare and select (GCC 12, seen in `perf annotate`). Arithmetic, comparisons (a vector of
/// signed integers of T's width, -1 where true) and `c ? a : b` with such a vector c work lane by lane,
/// rounding as the scalar expression would.

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "simile/core/tensor.hpp"

namespace simile::detail {

/// The vector type of L values of T (T spelled out per specialization: GCC ignores the attribute on a
/// dependent type, with a warning only).
template <class T, Index L>
struct LaneVector;
template <Index L>
struct LaneVector<float, L> {
  typedef float type __attribute__((vector_size(L * sizeof(float))));  // NOLINT: the attribute needs typedef
};
template <Index L>
struct LaneVector<double, L> {
  typedef double type __attribute__((vector_size(L * sizeof(double))));  // NOLINT: the attribute needs typedef
};
template <Index L>
struct LaneVector<std::int32_t, L> {
  typedef std::int32_t type __attribute__((vector_size(L * sizeof(std::int32_t))));  // NOLINT: as above
};
template <Index L>
struct LaneVector<std::int64_t, L> {
  typedef std::int64_t type __attribute__((vector_size(L * sizeof(std::int64_t))));  // NOLINT: as above
};

/// L values of T in one vector.
template <class T, Index L>
using Lanes = typename LaneVector<T, L>::type;

/// The signed integer of T's width.
template <Real T>
using LaneInt = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

/// What comparing two `Lanes<T, L>` gives: L `LaneInt<T>`s, -1 where true and 0 where false; also the type
/// of integers selected by such a mask (positions).
template <Real T, Index L>
using LaneMask = Lanes<LaneInt<T>, L>;

/// The L values at p (any alignment).
template <Index L, class T>
Lanes<T, L> load_lanes(const T* p) {
  Lanes<T, L> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

/// Writes the L values of v to p (any alignment).
template <Index L, class T>
void store_lanes(T* p, const Lanes<T, L>& v) {
  std::memcpy(p, &v, sizeof(v));
}

/// The chains `sum_in_chains` keeps.
inline constexpr Index sum_chains = 4;

/// sum_{k < n} f(k) for f returning `Lanes<T, L>`: `sum_chains` partial sums (the terms k = c mod 4 in
/// sum c) added pairwise at the end, so that four additions are in flight where one sum's chain waits for each
/// addition's latency (3 to 4 cycles, against a load and an add that issue in one). The order of the terms is
/// fixed by n alone: the same bits on every call.
template <class V, class F>
V sum_in_chains(Index n, F&& f) {
  static_assert(sum_chains == 4, "the pairwise sum at the end adds four chains");
  V s[sum_chains] = {};
  Index k = 0;
  for (; k + sum_chains <= n; k += sum_chains)
    for (Index c = 0; c < sum_chains; ++c) s[c] += f(k + c);
  for (Index c = 0; k < n; ++k, ++c) s[c] += f(k);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

}  // namespace simile::detail
