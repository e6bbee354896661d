#pragma once
/// \file
/// `Tensor<T>`: a dense, row-major, contiguous array of rank 0 to 6 on 64-byte-aligned shared storage.
///
/// Copying a Tensor copies a handle (like `torch::Tensor`): both see the same elements. `clone()` makes
/// a deep copy. Views (`slice_rows`, `reshape`) share storage and never copy. A view is contiguous by
/// construction, so every tensor maps onto Eigen without a copy: `matrix()` is the [rows, cols] row-major
/// view where rows = dim 0 and cols = the product of the other dimensions.

#include <Eigen/Core>
#include <algorithm>
#include <concepts>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "simile/core/allocator.hpp"
#include "simile/core/error.hpp"
#include "simile/core/shape.hpp"

namespace simile {

/// Element types a tensor may hold.
template <class T>
concept Element = std::is_arithmetic_v<T>;

/// Element types the differentiable ops are defined for.
template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double>;

namespace detail {
/// An aligned block from the caching allocator; returns it to the cache when the last handle goes.
struct Storage {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  explicit Storage(std::size_t n) : ptr(CachingAllocator::instance().allocate(n)), bytes(n) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { CachingAllocator::instance().release(ptr, bytes); }
};
}  // namespace detail

/// A dense, row-major, contiguous array of `T` of rank 0 to 6 on shared, 64-byte-aligned storage; a
/// copy is a handle on the same elements (see the file comment). Views share storage, `clone()` copies.
template <Element T>
class Tensor {
 public:
  using value_type = T;  ///< the element type
  /// A row-major dynamic Eigen matrix of `T`, the layout `matrix()` maps.
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatrixMap = Eigen::Map<Matrix>;              ///< what `matrix()` returns: a view, no copy
  using ConstMatrixMap = Eigen::Map<const Matrix>;   ///< a read-only `MatrixMap`
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;  ///< a flat Eigen array of `T`
  using ArrayMap = Eigen::Map<Array>;                ///< what `array()` returns: a view, no copy
  using ConstArrayMap = Eigen::Map<const Array>;     ///< a read-only `ArrayMap`

  /// An undefined tensor (no storage); `defined()` is false.
  Tensor() = default;

  /// Uninitialized elements of the given shape.
  static Tensor empty(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    std::size_t n = static_cast<std::size_t>(shape.numel());
    t.storage_ = std::make_shared<detail::Storage>(std::max<std::size_t>(n, 1) * sizeof(T));
    t.data_ = static_cast<T*>(t.storage_->ptr);
    return t;
  }
  /// A new tensor of `shape` filled with 0.
  static Tensor zeros(const Shape& shape) { return full(shape, T(0)); }
  /// A new tensor of `shape` filled with 1.
  static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
  /// A new tensor of `shape` with every element `value`.
  static Tensor full(const Shape& shape, T value) {
    Tensor t = empty(shape);
    t.fill(value);
    return t;
  }
  /// A rank-0 tensor holding `value`.
  static Tensor scalar(T value) { return full(Shape{}, value); }
  /// @{
  /// Copies `values` (row-major) into a new tensor of `shape`. Throws ShapeError unless
  /// `values.size() == shape.numel()`.
  static Tensor from(std::span<const T> values, const Shape& shape) {
    check<ShapeError>(static_cast<Index>(values.size()) == shape.numel(), "Tensor::from: ", values.size(),
                      " values for shape ", shape, " (", shape.numel(), " elements)");
    Tensor t = empty(shape);
    if (!values.empty()) std::memcpy(t.data_, values.data(), values.size() * sizeof(T));
    return t;
  }
  static Tensor from(std::initializer_list<T> values, const Shape& shape) {
    return from(std::span<const T>(values.begin(), values.size()), shape);
  }
  static Tensor from(const std::vector<T>& values, const Shape& shape) {
    return from(std::span<const T>(values.data(), values.size()), shape);
  }
  /// @}

  /// False for a default-constructed tensor (no storage), true for any other (even with 0 elements).
  bool defined() const { return storage_ != nullptr; }
  /// The dimensions.
  const Shape& shape() const { return shape_; }
  /// The number of dimensions, 0 (a scalar) to 6.
  int rank() const { return shape_.rank(); }
  /// Dimension `i`; negative counts from the end.
  Index dim(int i) const { return shape_.dim(i); }
  /// The number of elements, the product of the dimensions (1 for a scalar).
  Index numel() const { return shape_.numel(); }
  /// Dimension 0 (1 for a scalar).
  Index rows() const { return shape_.rank() == 0 ? 1 : shape_[0]; }
  /// Elements per row: numel / rows.
  Index cols() const {
    Index r = rows();
    return r == 0 ? 0 : numel() / r;
  }

  /// The first element; the elements are contiguous and row-major. Null when undefined. Writable through
  /// a const tensor: constness is the handle's, not the elements'.
  T* data() const { return data_; }
  /// @{
  /// The elements as a range [begin(), end()), row-major.
  T* begin() const { return data_; }
  T* end() const { return data_ + numel(); }
  /// @}
  /// The `numel()` elements as a span.
  std::span<T> span() const { return {data_, static_cast<std::size_t>(numel())}; }
  /// True when two tensors view the same storage block.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

  /// [rows, cols] row-major Eigen view (no copy).
  MatrixMap matrix() const { return MatrixMap(data_, rows(), cols()); }
  /// [r, c] row-major Eigen view; r * c must equal numel.
  MatrixMap matrix(Index r, Index c) const {
    check<ShapeError>(r * c == numel(), "Tensor::matrix: ", r, "x", c, " does not fit shape ", shape_);
    return MatrixMap(data_, r, c);
  }
  /// Flat Eigen array view of all elements (no copy).
  ArrayMap array() const { return ArrayMap(data_, numel()); }

  /// Rows [begin, end) of dimension 0, sharing storage.
  Tensor slice_rows(Index begin, Index end) const {
    check<ShapeError>(rank() >= 1, "Tensor::slice_rows: scalar tensor has no rows");
    check<ShapeError>(0 <= begin && begin <= end && end <= rows(), "Tensor::slice_rows: range [", begin, ", ",
                      end, ") out of bounds for shape ", shape_);
    Tensor t = *this;
    t.data_ = data_ + begin * cols();
    t.shape_[0] = end - begin;
    return t;
  }
  /// The same elements under another shape with equal element count, sharing storage.
  Tensor reshape(const Shape& shape) const {
    check<ShapeError>(shape.numel() == numel(), "Tensor::reshape: cannot view ", shape_, " (", numel(),
                      " elements) as ", shape);
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  /// A deep copy with its own storage.
  Tensor clone() const {
    if (!defined()) return {};
    Tensor t = empty(shape_);
    copy_to(t);
    return t;
  }
  /// Copies this tensor's elements into `dst`, which must have the same element count.
  void copy_to(const Tensor& dst) const {
    check<ShapeError>(dst.numel() == numel(), "Tensor::copy_to: ", shape_, " into ", dst.shape());
    if (numel() && dst.data_ != data_) std::memmove(dst.data_, data_, static_cast<std::size_t>(numel()) * sizeof(T));
  }
  /// Sets every element to `value` (visible through every handle and view of the storage).
  void fill(T value) const { std::fill(data_, data_ + numel(), value); }
  /// The single element of a one-element tensor.
  T item() const {
    check<ShapeError>(numel() == 1, "Tensor::item: tensor of shape ", shape_, " has ", numel(), " elements");
    return data_[0];
  }
  /// Element at a full multi-index, bounds-checked (for tests and small code, not hot loops).
  template <std::integral... I>
  T& at(I... idx) const {
    check<ShapeError>(static_cast<int>(sizeof...(I)) == rank(), "Tensor::at: ", sizeof...(I),
                      " indices for shape ", shape_);
    Index offset = 0;
    int axis = 0;
    (
        [&] {
          Index i = static_cast<Index>(idx);
          check<ShapeError>(i >= 0 && i < shape_[axis], "Tensor::at: index ", i, " out of range on axis ", axis,
                            " of ", shape_);
          offset = offset * shape_[axis] + i;
          ++axis;
        }(),
        ...);
    return data_[offset];
  }

  /// A copy with elements converted to `U`.
  template <Element U>
  Tensor<U> to() const {
    Tensor<U> t = Tensor<U>::empty(shape_);
    std::transform(data_, data_ + numel(), t.data(), [](T v) { return static_cast<U>(v); });
    return t;
  }

 private:
  std::shared_ptr<detail::Storage> storage_;
  T* data_ = nullptr;
  Shape shape_;
};

}  // namespace simile
