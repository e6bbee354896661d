#pragma once
/// \file
/// The definitions behind `simile/data/npy.hpp`: compiled once in `src/data/npy.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/npy.hpp"

namespace simile::detail {

SIMILE_INLINE std::string npy_field(FileReader& in, const std::string& dict, const char* key) {
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

SIMILE_INLINE NpyHeader read_npy_header(FileReader& in) {
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

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE NpyHeader read_npy_header(const std::string& path) {
  FileReader in(path, "read_npy_header");
  return detail::read_npy_header(in);
}

}  // namespace simile
