#pragma once
/// \file
/// The definitions behind `simile/io/safetensors.hpp`: compiled once in `src/io/safetensors.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "simile/io/safetensors.hpp"

namespace simile {

SIMILE_INLINE const AnyTensor* TensorDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

}  // namespace simile

namespace simile::detail {

SIMILE_INLINE std::string safetensors_header(const TensorDict& dict, std::uint64_t& data_bytes) {
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
  for (const auto& item : dict.items()) {
    const std::string& name = item.first;  // not a structured binding: Clang 15 cannot capture one
    const AnyTensor& any = item.second;
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

SIMILE_INLINE std::size_t dtype_size(const std::string& d) {
  if (d == "F32" || d == "I32") return 4;
  if (d == "F64" || d == "I64") return 8;
  if (d == "U8") return 1;
  return 0;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE void save_safetensors(const std::string& path, const TensorDict& dict) {
  std::uint64_t data_bytes = 0;
  std::string header = detail::safetensors_header(dict, data_bytes);
  AtomicFile out(path, "save_safetensors");
  std::uint64_t n = header.size();
  out.write(&n, 8);
  out.write(header.data(), header.size());
  for (const auto& [name, any] : dict.items())
    std::visit([&](const auto& t) { out.write(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(*t.data())); },
               any);
  out.commit();
}

SIMILE_INLINE TensorDict load_safetensors(const std::string& path) {
  auto bad = [&](auto&&... what) { return IoError(detail::str("load_safetensors: '", path, "': ", what...)); };
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; only regular files are read.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw IoError(detail::str("load_safetensors: cannot open '", path, "': ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw bad("cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw bad("not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto read_at = [&](void* dst, std::uint64_t bytes, std::uint64_t offset, const auto&... what) {
    auto* out = static_cast<char*>(dst);
    while (bytes > 0) {
      ssize_t got = ::pread(fd, out, static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 1 << 30)),
                            static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw bad("reading ", what..., " failed: ", std::strerror(errno));
      if (got == 0) throw bad("ends early while reading ", what..., " (the file shrank?)");
      out += got, offset += static_cast<std::uint64_t>(got), bytes -= static_cast<std::uint64_t>(got);
    }
  };

  if (size < 8) throw bad("file of ", size, " bytes is too short for a header");
  std::uint64_t n = 0;
  read_at(&n, 8, 0, "the header length");
  if (n > size - 8) throw bad("header length ", n, " exceeds the file (", size, " bytes): truncated or not safetensors");
  if (n > (std::uint64_t{100} << 20)) throw bad("header length ", n, " is implausibly large");
  std::string header(n, '\0');
  read_at(header.data(), n, 8, "the header");
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
  for (const auto& [name, v] : root.object) {  // keys are unique: the JSON reader rejects repeats
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
    bool empty = false;
    for (const auto& d : sh->array) {
      if (!d.is_integer || d.integer < 0) throw bad("tensor '", name, "' has a bad dimension");
      e.shape.push_back(d.integer);
      empty = empty || d.integer == 0;
    }
    // The byte count, compared by division before each product so that it cannot wrap around 2^64.
    std::uint64_t bytes = empty ? 0 : es;
    for (int i = 0; i < e.shape.rank() && bytes > 0; ++i) {
      auto d = static_cast<std::uint64_t>(e.shape[i]);
      if (bytes > data_size / d)
        throw bad("tensor '", name, "' of shape ", e.shape, " and dtype ", e.dtype, " needs more than the ", data_size,
                  " data bytes of the file");
      bytes *= d;
    }
    for (const auto& o : off->array)
      if (!o.is_integer || o.integer < 0) throw bad("tensor '", name, "' has a bad data offset");
    e.begin = static_cast<std::uint64_t>(off->array[0].integer);
    e.end = static_cast<std::uint64_t>(off->array[1].integer);
    if (e.end < e.begin || e.end > data_size)
      throw bad("tensor '", name, "' data [", e.begin, ", ", e.end, ") lies outside the ", data_size,
                " data bytes: truncated or corrupted");
    if (e.end - e.begin != bytes)
      throw bad("tensor '", name, "' of shape ", e.shape, " and dtype ", e.dtype, " needs ", bytes,
                " bytes, the file gives ", e.end - e.begin);
    entries.push_back(std::move(e));
  }
  // The data must be covered exactly, without holes or overlaps. Ties on `begin` (an empty tensor at the
  // start of another) are ordered by `end`, so that the empty one comes first.
  std::vector<const Entry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  for (const Entry* e : sorted) {
    if (e->begin != at) throw bad("tensor '", e->name, "' starts at ", e->begin, ", expected ", at, " (hole or overlap)");
    at = e->end;
  }
  if (at != data_size) throw bad("tensors cover ", at, " of ", data_size, " data bytes");

  auto read_into = [&](auto tensor, const Entry& e) {
    read_at(tensor.data(), e.end - e.begin, 8 + n + e.begin, "tensor '", e.name, "'");
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
