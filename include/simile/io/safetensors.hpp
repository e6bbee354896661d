#pragma once
/// \file
/// safetensors files (the format Hugging Face and PyTorch users load): an 8-byte little-endian header
/// length N, N bytes of JSON `{"__metadata__": {string: string}, name: {"dtype", "shape",
/// "data_offsets": [begin, end]}, ...}` padded with spaces to a multiple of 8, then the raw
/// little-endian tensor bytes, contiguous and in header order.
///
/// Saving is atomic (`core/atomic_file.hpp`): the file is written beside its destination under a
/// temporary name, flushed to disk and renamed over it, so a crash or a full disk mid-write never
/// destroys the previous file.
/// Loading validates everything (header length against the file size, JSON, dtypes, shapes, offsets
/// covering the data exactly): a truncated or corrupted file is an `IoError` naming the file.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "simile/core/atomic_file.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/io/detail/json.hpp"

namespace simile {

/// A tensor of any element type a checkpoint holds.
using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<std::int64_t>, Tensor<std::int32_t>,
                               Tensor<std::uint8_t>>;

/// Named tensors in insertion order plus string metadata: what a safetensors file holds.
class TensorDict {
 public:
  /// Adds or replaces `name`.
  template <Element T>
  void set(const std::string& name, const Tensor<T>& t) {
    check(t.defined(), "TensorDict::set: tensor '", name, "' is undefined");
    auto [it, added] = index_.try_emplace(name, items_.size());
    if (!added) return void(items_[it->second].second = t);
    items_.emplace_back(name, AnyTensor(t));
  }
  /// True when a tensor is named `name`.
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  /// The tensor `name` with element type T; throws when absent or of another type.
  template <Element T>
  Tensor<T> get(const std::string& name) const {
    const AnyTensor* a = find(name);
    check<IoError>(a != nullptr, "TensorDict::get: no tensor named '", name, "'");
    const Tensor<T>* t = std::get_if<Tensor<T>>(a);
    check<IoError>(t != nullptr, "TensorDict::get: tensor '", name, "' is ", dtype_name(*a), ", not ",
                   dtype_of<T>());
    return *t;
  }
  /// The tensor `name`, or null when there is none (valid until the dict changes).
  const AnyTensor* find(const std::string& name) const;
  /// Every (name, tensor), in insertion order (the order they are written in).
  const std::vector<std::pair<std::string, AnyTensor>>& items() const { return items_; }
  /// Number of tensors.
  std::size_t size() const { return items_.size(); }

  /// The file header's `__metadata__`: string keys and values (version, options, architecture).
  std::map<std::string, std::string> metadata;

  /// The safetensors dtype of `T`: "F32", "F64", "I64", "I32" or "U8" (other types do not compile).
  template <Element T>
  static const char* dtype_of() {
    if constexpr (std::is_same_v<T, float>) return "F32";
    else if constexpr (std::is_same_v<T, double>) return "F64";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
    else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
    else if constexpr (std::is_same_v<T, std::uint8_t>) return "U8";
    else static_assert(sizeof(T) == 0, "safetensors: unsupported element type");
  }
  /// The safetensors dtype of the tensor `a` holds.
  static const char* dtype_name(const AnyTensor& a) {
    return std::visit([](const auto& t) { return dtype_of<typename std::decay_t<decltype(t)>::value_type>(); }, a);
  }

 private:
  std::vector<std::pair<std::string, AnyTensor>> items_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> position in items_ (a file may hold 10^6 names)
};

namespace detail {
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

std::string safetensors_header(const TensorDict& dict, std::uint64_t& data_bytes);

std::size_t dtype_size(const std::string& d);
}  // namespace detail

/// Writes `dict` to `path` atomically (temporary file, fsync, rename). Throws IoError on failure, in
/// which case any previous file at `path` is left as it was.
void save_safetensors(const std::string& path, const TensorDict& dict);

/// Reads and validates a safetensors file.
TensorDict load_safetensors(const std::string& path);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/io/safetensors-inl.hpp"
#endif
