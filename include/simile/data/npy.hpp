#pragma once
/// \file
/// NPY files (numpy's `np.save` format, version 1.0; 2.0 and 3.0 headers are read too): the magic
/// byte 0x93 then `NUMPY`, a version, a little-endian header length, a Python dict literal
/// <code>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (N, D), }</code> padded with spaces to a
/// multiple of 64 bytes, then the elements. Read and written: float32 (<code>'&lt;f4'</code>), float64
/// (<code>'&lt;f8'</code>), uint8 (<code>'|u1'</code>), int32 (<code>'&lt;i4'</code>) and int64
/// (<code>'&lt;i8'</code>, numpy's integers), little-endian, C order. Embeddings leave simile as float32 [N, D]
/// `.npy` files numpy reads, and class labels as int64 [N].

#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "simile/core/atomic_file.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// What an NPY header says.
struct NpyHeader {
  std::string descr;  ///< numpy dtype string, e.g. "<f4"
  bool fortran_order = false;  ///< column-major elements (simile reads only C order)
  Shape shape;                 ///< the array's dimensions
  std::uint64_t data_offset = 0;  ///< bytes before the first element
};

/// The NPY dtype string of T: "<f4", "<f8", "|u1", "<i4" or "<i8".
template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else static_assert(sizeof(T) == 0, "NPY: only float, double, uint8_t, int32_t and int64_t are supported");
}

namespace detail {
static_assert(std::endian::native == std::endian::little, "simile's NPY code assumes a little-endian machine");

/// The text after `'key':` in a header dict, trimmed, up to the next top-level ',' or '}'.
std::string npy_field(FileReader& in, const std::string& dict, const char* key);

NpyHeader read_npy_header(FileReader& in);
}  // namespace detail

/// Reads only the header of an NPY file.
NpyHeader read_npy_header(const std::string& path);

/// Reads an NPY file whose dtype is T's ("<f4" for float, "<f8" for double, "|u1" for uint8, "<i4" for int32,
/// "<i8" for int64), C order.
/// Throws IoError naming the file for a wrong magic or version, another dtype (say which one), a
/// Fortran-order array, or data shorter or longer than the shape says.
template <class T>
Tensor<T> read_npy(const std::string& path) {
  FileReader in(path, "read_npy");
  NpyHeader h = detail::read_npy_header(in);
  std::string want = npy_descr<T>();
  bool byte_ok = sizeof(T) == 1 && (h.descr == "|u1" || h.descr == "<u1" || h.descr == "u1");
  if (h.descr != want && !byte_ok) {
    if (!h.descr.empty() && h.descr[0] == '>') in.fail("holds big-endian data ('", h.descr, "'), expected '", want, "'");
    in.fail("has dtype '", h.descr, "', expected '", want,
            "' (read_npy<float> reads <f4, <double> <f8, <uint8_t> |u1, <int32_t> <i4, <int64_t> <i8)");
  }
  if (h.fortran_order) in.fail("is in Fortran order (fortran_order: True); only C order is supported");
  std::uint64_t bytes = static_cast<std::uint64_t>(h.shape.numel()) * sizeof(T);
  if (bytes > in.max_content_size())
    in.fail("claims shape ", h.shape, " (", bytes, " bytes), more than the ", in.file_size(), "-byte file holds");
  if (!in.compressed() && in.file_size() != h.data_offset + bytes)
    in.fail("has ", in.file_size(), " bytes, but its header (shape ", h.shape, ", '", h.descr, "') needs ",
            h.data_offset + bytes);
  Tensor<T> t;
  in.read_into(bytes, "NPY data", [&] { return (t = Tensor<T>::empty(h.shape)).data(); });
  in.expect_end("the NPY data");
  return t;
}

/// Writes `t` as an NPY version 1.0 file (C order, little-endian), header padded to 64 bytes; atomically
/// (`core/atomic_file.hpp`): a failed write leaves the previous file as it was.
template <class T>
void write_npy(const std::string& path, const Tensor<T>& t) {
  check<ValueError>(t.defined(), "write_npy: undefined tensor for '", path, "'");
  std::string shape = "(";
  for (int i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 ? "," : i + 1 < t.rank() ? ", " : "");
  shape += ")";
  std::string dict = std::string("{'descr': '") + npy_descr<T>() + "', 'fortran_order': False, 'shape': " + shape + ", }";
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  check<IoError>(dict.size() < 65536, "write_npy: header of ", dict.size(), " bytes too long for '", path, "'");
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(dict.size() & 0xFF),
                           static_cast<unsigned char>(dict.size() >> 8)};
  AtomicFile f(path, "write_npy");
  f.write(pre, 10);
  f.write(dict.data(), dict.size());
  f.write(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
  f.commit();
}

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/npy-inl.hpp"
#endif
