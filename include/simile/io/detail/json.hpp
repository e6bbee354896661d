#pragma once
/// \file
/// A small JSON reader and writer for the formats simile speaks (safetensors headers, metrics lines).
/// Reading builds a `JsonValue` tree; every malformed input is an `IoError` naming the offset.
/// Numbers are kept as double and, when integral, as int64 exactly (tensor offsets need 64 bits).

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"

namespace simile::detail {

struct JsonMember;

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::int64_t integer = 0;
  bool is_integer = false;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<JsonMember> object;  ///< in file order, keys unique

  const JsonValue* find(std::string_view key) const;
};

/// One key and value of an object. Not a `std::pair`: instantiating `std::pair<std::string, JsonValue>`
/// inside JsonValue, while it is incomplete, is an error for Clang with libstdc++.
struct JsonMember {
  std::string first;
  JsonValue second;
};

class JsonReader {
 public:
  JsonReader(std::string_view text, std::string context) : s_(text), context_(std::move(context)) {}

  JsonValue parse();

 private:
  [[noreturn]] void fail(const char* what) const {
    throw IoError(str(context_, ": malformed JSON at byte ", pos_, ": ", what));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  char peek();
  void expect(char c);
  JsonValue value(int depth);
  std::string string_lit();
  unsigned hex4();
  void check_unique_keys(const JsonValue& v) const;
  JsonValue number();

  std::string_view s_;
  std::string context_;
  std::size_t pos_ = 0;
};

/// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

/// A finite double as JSON with round-trip precision; NaN and infinities become null (JSON has none).
std::string json_number(double v);

}  // namespace simile::detail

#if defined(SIMILE_HEADER_ONLY)
#include "simile/io/detail/json-inl.hpp"
#endif
