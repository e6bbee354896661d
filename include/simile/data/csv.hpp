#pragma once
/// \file
/// CSV files of numeric features, with an optional integer label column and an optional header line:
/// the input of tabular contrastive learning (SCARF). Every row must have the same number of columns
/// and every feature must be a finite number; an error names the file, the line and the column.

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// Options of `read_csv`.
struct CsvOptions {
  char delimiter = ',';  ///< the field separator
  bool header = false;                ///< skip the first non-empty line
  std::optional<Index> label_column = std::nullopt;  ///< column of integer labels (0-based; negative counts from the end)
};

namespace detail {
std::string_view trim(std::string_view s);

/// Splits `line` at `delim` into `fields` (views into `line`).
void split_fields(std::string_view line, char delim, std::vector<std::string_view>& fields);

/// Calls f(line_number, line) for each line of `text` (1-based numbers; "\r\n" endings accepted).
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t start = 0;
  Index number = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(++number, line);
    start = end + 1;
  }
}

/// Parses an integer label; false when `s` is not one.
bool parse_label(std::string_view s, std::int64_t& out);
}  // namespace detail

/// Reads a CSV of numbers into a float [N, D] vector dataset (D = columns minus the label column).
/// Empty lines are skipped. Throws IoError naming the file, line and column for a non-number, a
/// non-finite value, a non-integer or negative label, or a row with another number of columns.
VectorDataset read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/csv-inl.hpp"
#endif
