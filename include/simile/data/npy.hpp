#pragma once
/// \file
/// NPY files (numpy's `np.save` format, version 1.0; 2.0 and 3.0 headers are read too): the magic
/// `\x93NUMPY`, a version, a little-endian header length, a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` padded with spaces to a multiple of
/// 64 bytes, then the elements. Read and written: float32 (`<f4`), float64 (`<f8`) and uint8 (`|u1`),
/// little-endian, C order. Embeddings leave simile as float32 [N, D] `.npy` files numpy reads.

#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "simile/core/tensor.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// What an NPY header says.
struct NpyHeader {
  std::string descr;  ///< numpy dtype string, e.g. "<f4"
  bool fortran_order = false;
  Shape shape;
  std::uint64_t data_offset = 0;  ///< bytes before the first element
};

/// The NPY dtype string of T: "<f4", "<f8" or "|u1".
template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  else static_assert(sizeof(T) == 0, "NPY: only float, double and uint8_t are supported");
}

namespace detail {
static_assert(std::endian::native == std::endian::little, "simile's NPY code assumes a little-endian machine");

/// The text after `'key':` in a header dict, trimmed, up to the next top-level ',' or '}'.
inline std::string npy_field(FileReader& in, const std::string& dict, const char* key) {
  std::string k = std::string("'") + key + "'";
  std::size_t at = dict.find(k);
  if (at == std::string::npos) in.fail("has an NPY header without '", key, "': ", dict);
  std::size_t colon = dict.find(':', at + k.size());
  if (colon == std::string::npos) in.fail("has a malformed NPY header: ", dict);
  std::size_t begin = colon + 1, end = begin;
  int depth = 0;
  for (; end < dict.size(); ++end) {
    char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  std::string v = dict.substr(begin, end - begin);
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  v.erase(v.begin(), std::find_if(v.begin(), v.end(), not_space));
  v.erase(std::find_if(v.rbegin(), v.rend(), not_space).base(), v.end());
  return v;
}

inline NpyHeader read_npy_header(FileReader& in) {
  unsigned char pre[8];
  in.read_exact(pre, 8, "the NPY magic and version");
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) in.fail("is not an NPY file (no \\x93NUMPY magic)");
  unsigned major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) in.fail("has NPY version ", major, ".", minor, ", expected 1.0 to 3.0");
  std::uint64_t len = 0;
  unsigned char lb[4] = {0, 0, 0, 0};
  in.read_exact(lb, major == 1 ? 2 : 4, "the NPY header length");
  len = lb[0] | (std::uint64_t(lb[1]) << 8) | (std::uint64_t(lb[2]) << 16) | (std::uint64_t(lb[3]) << 24);
  if (len > (1u << 20)) in.fail("claims an NPY header of ", len, " bytes");
  std::string dict(len, '\0');
  in.read_exact(dict.data(), len, "the NPY header");
  NpyHeader h;
  h.data_offset = (major == 1 ? 10 : 12) + len;
  std::string descr = npy_field(in, dict, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) in.fail("has a malformed descr ", descr);
  h.descr = descr.substr(1, descr.size() - 2);
  std::string fortran = npy_field(in, dict, "fortran_order");
  if (fortran != "False" && fortran != "True") in.fail("has fortran_order ", fortran, ", expected True or False");
  h.fortran_order = fortran == "True";
  std::string shape = npy_field(in, dict, "shape");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') in.fail("has a malformed shape ", shape);
  std::size_t i = 1;
  std::uint64_t elements = 1;
  while (i + 1 < shape.size()) {
    while (i + 1 < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i + 1 >= shape.size()) break;
    std::uint64_t d = 0;
    std::size_t start = i;
    while (i + 1 < shape.size() && std::isdigit(static_cast<unsigned char>(shape[i]))) {
      d = d * 10 + std::uint64_t(shape[i] - '0');
      if (d > (1ull << 40)) in.fail("has an absurd dimension in shape ", shape);
      ++i;
    }
    if (i == start) in.fail("has a malformed shape ", shape);
    if (h.shape.rank() == Shape::max_rank) in.fail("has shape ", shape, " of rank above ", Shape::max_rank);
    h.shape.push_back(static_cast<Index>(d));
    // A product past 2^48 elements cannot be real; stopping there keeps numel() from overflowing.
    if (d != 0 && elements > (1ull << 48) / d) in.fail("has an absurd shape ", shape);
    elements *= d;
  }
  return h;
}
}  // namespace detail

/// Reads only the header of an NPY file.
inline NpyHeader read_npy_header(const std::string& path) {
  FileReader in(path, "read_npy_header");
  return detail::read_npy_header(in);
}

/// Reads an NPY file whose dtype is T's ("<f4" for float, "<f8" for double, "|u1" for uint8), C order.
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
    in.fail("has dtype '", h.descr, "', expected '", want, "' (read_npy<float> reads <f4, <double> <f8, <uint8_t> |u1)");
  }
  if (h.fortran_order) in.fail("is in Fortran order (fortran_order: True); only C order is supported");
  std::uint64_t bytes = static_cast<std::uint64_t>(h.shape.numel()) * sizeof(T);
  if (bytes > in.max_content_size())
    in.fail("claims shape ", h.shape, " (", bytes, " bytes), more than the ", in.file_size(), "-byte file holds");
  if (!in.compressed() && in.file_size() != h.data_offset + bytes)
    in.fail("has ", in.file_size(), " bytes, but its header (shape ", h.shape, ", '", h.descr, "') needs ",
            h.data_offset + bytes);
  Tensor<T> t = Tensor<T>::empty(h.shape);
  in.read_exact(t.data(), static_cast<std::size_t>(bytes), "NPY data");
  in.expect_end("the NPY data");
  return t;
}

/// Writes `t` as an NPY version 1.0 file (C order, little-endian), header padded to 64 bytes.
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
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  check<IoError>(f.good(), "write_npy: cannot open '", path, "' for writing");
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(dict.size() & 0xFF),
                           static_cast<unsigned char>(dict.size() >> 8)};
  f.write(reinterpret_cast<const char*>(pre), 10);
  f.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  f.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.numel() * Index(sizeof(T))));
  f.flush();
  check<IoError>(f.good(), "write_npy: writing '", path, "' failed (disk full?)");
}

}  // namespace simile
