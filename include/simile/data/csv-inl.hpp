#pragma once
/// \file
/// The definitions behind `simile/data/csv.hpp`: compiled once in `src/data/csv.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/csv.hpp"

namespace simile::detail {

SIMILE_INLINE std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

SIMILE_INLINE void split_fields(std::string_view line, char delim, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  while (true) {
    std::size_t at = line.find(delim, start);
    fields.push_back(trim(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
}

SIMILE_INLINE bool parse_label(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE VectorDataset read_csv(const std::string& path, const CsvOptions& options) {
  FileReader in(path, "read_csv");
  std::vector<unsigned char> bytes = in.read_rest();
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<float> values;
  std::vector<std::int64_t> labels;
  std::vector<std::string_view> fields;
  Index columns = -1, label_col = -1;
  bool header_pending = options.header;
  detail::for_each_line(text, [&](Index line_no, std::string_view line) {
    if (detail::trim(line).empty()) return;
    if (header_pending) {
      header_pending = false;
      return;
    }
    detail::split_fields(line, options.delimiter, fields);
    auto n = static_cast<Index>(fields.size());
    if (columns < 0) {
      columns = n;
      if (options.label_column) {
        label_col = *options.label_column < 0 ? n + *options.label_column : *options.label_column;
        if (label_col < 0 || label_col >= n)
          in.fail("line ", line_no, ": label column ", *options.label_column, " out of range for ", n, " columns");
      }
    } else if (n != columns) {
      in.fail("line ", line_no, " has ", n, " columns, expected ", columns, " like the first row");
    }
    for (Index c = 0; c < n; ++c) {
      std::string_view f = fields[std::size_t(c)];
      if (c == label_col) {
        std::int64_t label = 0;
        if (!detail::parse_label(f, label) || label < 0)
          in.fail("line ", line_no, ", column ", c + 1, ": label '", f, "' is not an integer >= 0");
        labels.push_back(label);
        continue;
      }
      float v = 0;
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (f.empty() || ec != std::errc() || p != f.data() + f.size())
        in.fail("line ", line_no, ", column ", c + 1, ": '", f, "' is not a number");
      if (!std::isfinite(v)) in.fail("line ", line_no, ", column ", c + 1, ": '", f, "' is not a finite number");
      values.push_back(v);
    }
  });
  if (columns < 0) in.fail("has no data rows");
  Index d = columns - (label_col >= 0 ? 1 : 0);
  if (d == 0) in.fail("has no feature columns besides the label");
  auto rows = static_cast<Index>(values.size()) / d;
  return VectorDataset(Tensor<float>::from(values, {rows, d}), std::move(labels));
}

}  // namespace simile
