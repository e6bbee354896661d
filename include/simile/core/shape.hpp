#pragma once
/// \file
/// `Shape`: the dimensions of a dense row-major tensor, rank 0 to `Shape::max_rank`, stored inline
/// (no heap allocation per tensor).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>

#include "simile/core/error.hpp"

namespace simile {

/// Signed index and size type, as Eigen uses.
using Index = std::ptrdiff_t;

/// Dimensions of a tensor. Rank 0 is a scalar with one element.
class Shape {
 public:
  static constexpr int max_rank = 6;  ///< the most dimensions a shape holds

  constexpr Shape() = default;
  /// @{
  /// The shape with these dimensions, `{N, D}`. Throws ShapeError for more than `max_rank` of them or a
  /// negative one.
  Shape(std::initializer_list<Index> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(std::span<const Index> dims) { assign(dims.begin(), dims.end()); }
  /// @}

  /// The number of dimensions (0 for a scalar).
  int rank() const { return rank_; }
  /// @{
  /// Dimension `i`, unchecked: requires 0 <= i < rank() (see `dim` for the checked form).
  Index operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  Index& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
  /// @}
  /// Dimension `i`, with negative `i` counting from the end (-1 is the last). Throws when out of range.
  Index dim(int i) const {
    int j = i < 0 ? i + rank_ : i;
    // The message is built only on failure: `check` takes its parts by reference.
    check<ShapeError>(j >= 0 && j < rank_, "Shape::dim: axis ", i, " out of range for ", *this);
    return dims_[static_cast<std::size_t>(j)];
  }
  /// Product of all dimensions (1 for rank 0).
  Index numel() const {
    Index n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  /// @{
  /// The dimensions as a range [begin(), end()).
  const Index* begin() const { return dims_.data(); }
  const Index* end() const { return dims_.data() + rank_; }
  /// @}
  /// The `rank()` dimensions as a span.
  std::span<const Index> dims() const { return {dims_.data(), static_cast<std::size_t>(rank_)}; }

  /// Appends a dimension.
  Shape& push_back(Index d) {
    check<ShapeError>(rank_ < max_rank, "Shape: rank above ", max_rank);
    dims_[static_cast<std::size_t>(rank_++)] = d;
    return *this;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

  /// "[2, 3, 4]".
  std::string to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims_[static_cast<std::size_t>(i)]);
    }
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

 private:
  template <class It>
  void assign(It first, It last) {
    auto n = std::distance(first, last);
    check<ShapeError>(n <= max_rank, "Shape: rank ", n, " above the maximum ", max_rank);
    rank_ = static_cast<int>(n);
    std::size_t i = 0;
    for (; first != last; ++first, ++i) {
      check<ShapeError>(*first >= 0, "Shape: negative dimension ", *first);
      dims_[i] = *first;
    }
  }

  std::array<Index, max_rank> dims_{};
  int rank_ = 0;
};

}  // namespace simile
