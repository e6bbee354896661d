#pragma once
/// \file
/// safetensors files (the format Hugging Face and PyTorch users load): an 8-byte little-endian header
/// length N, N bytes of JSON `{"__metadata__": {string: string}, name: {"dtype", "shape",
/// "data_offsets": [begin, end]}, ...}` padded with spaces to a multiple of 8, then the raw
/// little-endian tensor bytes, contiguous and in header order.
///
/// Saving is atomic: the file is written beside its destination under a temporary name, flushed to
/// disk and renamed over it, so a crash or a full disk mid-write never destroys the previous file.
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
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

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
    for (auto& [n, v] : items_)
      if (n == name) return void(v = t);
    items_.emplace_back(name, AnyTensor(t));
  }
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
  const AnyTensor* find(const std::string& name) const {
    for (const auto& [n, v] : items_)
      if (n == name) return &v;
    return nullptr;
  }
  const std::vector<std::pair<std::string, AnyTensor>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }

  std::map<std::string, std::string> metadata;

  template <Element T>
  static const char* dtype_of() {
    if constexpr (std::is_same_v<T, float>) return "F32";
    else if constexpr (std::is_same_v<T, double>) return "F64";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
    else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
    else if constexpr (std::is_same_v<T, std::uint8_t>) return "U8";
    else static_assert(sizeof(T) == 0, "safetensors: unsupported element type");
  }
  static const char* dtype_name(const AnyTensor& a) {
    return std::visit([](const auto& t) { return dtype_of<typename std::decay_t<decltype(t)>::value_type>(); }, a);
  }

 private:
  std::vector<std::pair<std::string, AnyTensor>> items_;
};

namespace detail {
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

inline std::string safetensors_header(const TensorDict& dict, std::uint64_t& data_bytes) {
  std::string h = "{";
  bool first = true;
  if (!dict.metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : dict.metadata) {
      if (!first) h += ",";
      first = false;
      h += json_quote(k) + ":" + json_quote(v);
    }
    h += "}";
  }
  data_bytes = 0;
  for (const auto& [name, any] : dict.items()) {
    check<IoError>(name != "__metadata__", "save_safetensors: '__metadata__' is not a valid tensor name");
    std::visit(
        [&](const auto& t) {
          using T = typename std::decay_t<decltype(t)>::value_type;
          std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * sizeof(T);
          if (h.size() > 1) h += ",";
          h += json_quote(name) + ":{\"dtype\":\"" + TensorDict::dtype_of<T>() + "\",\"shape\":[";
          for (int i = 0; i < t.rank(); ++i) h += (i ? "," : "") + std::to_string(t.shape()[i]);
          h += "],\"data_offsets\":[" + std::to_string(data_bytes) + "," + std::to_string(data_bytes + bytes) + "]}";
          data_bytes += bytes;
        },
        any);
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  return h;
}

inline std::size_t dtype_size(const std::string& d) {
  if (d == "F32" || d == "I32") return 4;
  if (d == "F64" || d == "I64") return 8;
  if (d == "U8") return 1;
  return 0;
}
}  // namespace detail

/// Writes `dict` to `path` atomically (temporary file, fsync, rename). Throws IoError on failure, in
/// which case any previous file at `path` is left as it was.
inline void save_safetensors(const std::string& path, const TensorDict& dict) {
  std::uint64_t data_bytes = 0;
  std::string header = detail::safetensors_header(dict, data_bytes);
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check<IoError>(fd >= 0, "save_safetensors: cannot create '", tmp, "': ", std::strerror(errno), "; '", path,
                 "' was left unchanged");
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(detail::str("save_safetensors: ", what, " '", tmp, "' failed: ", std::strerror(err),
                              "; '", path, "' was left unchanged"));
  };
  auto write_all = [&](const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n) {
      ssize_t w = ::write(fd, c, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail("writing");
      c += w, n -= static_cast<std::size_t>(w);
    }
  };
  std::uint64_t n = header.size();
  write_all(&n, 8);
  write_all(header.data(), header.size());
  for (const auto& [name, any] : dict.items())
    std::visit([&](const auto& t) { write_all(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(*t.data())); },
               any);
  if (::fsync(fd) != 0) fail("syncing");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(detail::str("save_safetensors: closing '", tmp, "' failed; '", path, "' was left unchanged"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(detail::str("save_safetensors: renaming '", tmp, "' to '", path, "' failed: ", std::strerror(err)));
  }
}

/// Reads and validates a safetensors file.
inline TensorDict load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  check<IoError>(in.good(), "load_safetensors: cannot open '", path, "'");
  const std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  auto bad = [&](auto&&... what) { return IoError(detail::str("load_safetensors: '", path, "': ", what...)); };
  if (size < 8) throw bad("file of ", size, " bytes is too short for a header");
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  if (n > size - 8) throw bad("header length ", n, " exceeds the file (", size, " bytes): truncated or not safetensors");
  if (n > (std::uint64_t{100} << 20)) throw bad("header length ", n, " is implausibly large");
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  if (!in) throw bad("could not read the header");
  detail::JsonValue root = detail::JsonReader(header, "load_safetensors: '" + path + "' header").parse();
  if (root.kind != detail::JsonValue::Kind::object) throw bad("header is not a JSON object");
  const std::uint64_t data_size = size - 8 - n;

  struct Entry {
    std::string name, dtype;
    Shape shape;
    std::uint64_t begin, end;
  };
  std::vector<Entry> entries;
  TensorDict dict;
  for (const auto& [name, v] : root.object) {
    if (name == "__metadata__") {
      if (v.kind != detail::JsonValue::Kind::object) throw bad("__metadata__ is not an object");
      for (const auto& [k, m] : v.object) {
        if (m.kind != detail::JsonValue::Kind::string) throw bad("metadata '", k, "' is not a string");
        dict.metadata[k] = m.string;
      }
      continue;
    }
    const auto* dt = v.find("dtype");
    const auto* sh = v.find("shape");
    const auto* off = v.find("data_offsets");
    if (!dt || !sh || !off || dt->kind != detail::JsonValue::Kind::string ||
        sh->kind != detail::JsonValue::Kind::array || off->kind != detail::JsonValue::Kind::array ||
        off->array.size() != 2)
      throw bad("entry '", name, "' lacks dtype, shape or data_offsets");
    Entry e{name, dt->string, {}, 0, 0};
    std::size_t es = detail::dtype_size(e.dtype);
    if (!es) throw bad("tensor '", name, "' has unsupported dtype ", e.dtype);
    if (sh->array.size() > static_cast<std::size_t>(Shape::max_rank)) throw bad("tensor '", name, "' has rank above ", Shape::max_rank);
    for (const auto& d : sh->array) {
      if (!d.is_integer || d.integer < 0) throw bad("tensor '", name, "' has a bad dimension");
      e.shape.push_back(d.integer);
    }
    for (const auto& o : off->array)
      if (!o.is_integer || o.integer < 0) throw bad("tensor '", name, "' has a bad data offset");
    e.begin = static_cast<std::uint64_t>(off->array[0].integer);
    e.end = static_cast<std::uint64_t>(off->array[1].integer);
    if (e.end < e.begin || e.end > data_size)
      throw bad("tensor '", name, "' data [", e.begin, ", ", e.end, ") lies outside the ", data_size,
                " data bytes: truncated or corrupted");
    if (e.end - e.begin != static_cast<std::uint64_t>(e.shape.numel()) * es)
      throw bad("tensor '", name, "' of shape ", e.shape, " and dtype ", e.dtype, " needs ",
                static_cast<std::uint64_t>(e.shape.numel()) * es, " bytes, the file gives ", e.end - e.begin);
    entries.push_back(std::move(e));
  }
  // The data must be covered exactly, without holes or overlaps.
  std::vector<const Entry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  std::uint64_t at = 0;
  for (const Entry* e : sorted) {
    if (e->begin != at) throw bad("tensor '", e->name, "' starts at ", e->begin, ", expected ", at, " (hole or overlap)");
    at = e->end;
  }
  if (at != data_size) throw bad("tensors cover ", at, " of ", data_size, " data bytes");

  auto read_into = [&](auto tensor, const Entry& e) {
    in.seekg(static_cast<std::streamoff>(8 + n + e.begin));
    in.read(reinterpret_cast<char*>(tensor.data()), static_cast<std::streamsize>(e.end - e.begin));
    if (!in) throw bad("could not read tensor '", e.name, "'");
    dict.set(e.name, tensor);
  };
  for (const auto& e : entries) {
    if (e.dtype == "F32") read_into(Tensor<float>::empty(e.shape), e);
    else if (e.dtype == "F64") read_into(Tensor<double>::empty(e.shape), e);
    else if (e.dtype == "I64") read_into(Tensor<std::int64_t>::empty(e.shape), e);
    else if (e.dtype == "I32") read_into(Tensor<std::int32_t>::empty(e.shape), e);
    else read_into(Tensor<std::uint8_t>::empty(e.shape), e);
  }
  return dict;
}

}  // namespace simile
