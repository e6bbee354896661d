#pragma once
/// \file
/// The definitions behind `simile/io/detail/json.hpp`: compiled once in `src/io/detail/json.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/io/detail/json.hpp"

namespace simile::detail {

SIMILE_INLINE const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

SIMILE_INLINE JsonValue JsonReader::parse() {
  JsonValue v = value(0);
  skip_ws();
  if (pos_ != s_.size()) fail("trailing characters");
  return v;
}

SIMILE_INLINE char JsonReader::peek() {
  skip_ws();
  if (pos_ >= s_.size()) fail("unexpected end");
  return s_[pos_];
}

SIMILE_INLINE void JsonReader::expect(char c) {
  if (peek() != c) fail("unexpected character");
  ++pos_;
}

SIMILE_INLINE JsonValue JsonReader::value(int depth) {
  if (depth > 64) fail("nesting too deep");
  JsonValue v;
  char c = peek();
  if (c == '{') {
    v.kind = JsonValue::Kind::object;
    ++pos_;
    if (peek() == '}') return ++pos_, v;
    for (;;) {
      if (peek() != '"') fail("expected a key");
      std::string key = string_lit();
      expect(':');
      v.object.push_back({std::move(key), value(depth + 1)});
      if (peek() == ',') { ++pos_; continue; }
      expect('}');
      check_unique_keys(v);
      return v;
    }
  }
  if (c == '[') {
    v.kind = JsonValue::Kind::array;
    ++pos_;
    if (peek() == ']') return ++pos_, v;
    for (;;) {
      v.array.push_back(value(depth + 1));
      if (peek() == ',') { ++pos_; continue; }
      expect(']');
      return v;
    }
  }
  if (c == '"') {
    v.kind = JsonValue::Kind::string;
    v.string = string_lit();
    return v;
  }
  if (s_.substr(pos_, 4) == "true") return pos_ += 4, v.kind = JsonValue::Kind::boolean, v.boolean = true, v;
  if (s_.substr(pos_, 5) == "false") return pos_ += 5, v.kind = JsonValue::Kind::boolean, v;
  if (s_.substr(pos_, 4) == "null") return pos_ += 4, v;
  return number();
}

SIMILE_INLINE void JsonReader::check_unique_keys(const JsonValue& v) const {
  // A repeated key would let one entry silently replace another (a tensor named twice in a checkpoint).
  std::vector<const std::string*> keys;
  for (const auto& m : v.object) keys.push_back(&m.first);
  std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (std::size_t i = 1; i < keys.size(); ++i)
    if (*keys[i] == *keys[i - 1])
      throw IoError(str(context_, ": malformed JSON before byte ", pos_, ": duplicate key ", json_quote(*keys[i])));
}

SIMILE_INLINE unsigned JsonReader::hex4() {
  if (pos_ + 4 > s_.size()) fail("short \\u escape");
  unsigned cp = 0;
  for (int i = 0; i < 4; ++i) {
    char h = s_[pos_++];
    cp <<= 4;
    if (h >= '0' && h <= '9') cp |= unsigned(h - '0');
    else if (h >= 'a' && h <= 'f') cp |= unsigned(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') cp |= unsigned(h - 'A' + 10);
    else fail("bad \\u escape");
  }
  return cp;
}

SIMILE_INLINE std::string JsonReader::string_lit() {
  expect('"');
  std::string out;
  while (true) {
    if (pos_ >= s_.size()) fail("unterminated string");
    char c = s_[pos_++];
    if (c == '"') return out;
    if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
    if (c != '\\') { out += c; continue; }
    if (pos_ >= s_.size()) fail("unterminated escape");
    char e = s_[pos_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate must be followed by its low half
          if (s_.substr(pos_, 2) != "\\u") fail("lone high surrogate in \\u escape");
          pos_ += 2;
          unsigned low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("lone high surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp < 0x80) {
          out += char(cp);
        } else if (cp < 0x800) {
          out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
        } else {
          out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F));
          out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: fail("bad escape");
    }
  }
}

SIMILE_INLINE JsonValue JsonReader::number() {
  // RFC 8259's grammar exactly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (no '+', no leading zeros).
  std::size_t start = pos_;
  auto digits = [&] {
    std::size_t from = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ - from;
  };
  if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
  if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9')
    fail(pos_ == start ? "unexpected character" : "bad number");
  if (s_[pos_] == '0') ++pos_;
  else digits();
  bool integral = true;
  if (pos_ < s_.size() && s_[pos_] == '.') {
    ++pos_, integral = false;
    if (digits() == 0) fail("bad number: no digit after '.'");
  }
  if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
    ++pos_, integral = false;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
    if (digits() == 0) fail("bad number: no digit in the exponent");
  }
  const char* first = s_.data() + start;
  const char* last = s_.data() + pos_;
  JsonValue v;
  v.kind = JsonValue::Kind::number;
  auto [end, ec] = std::from_chars(first, last, v.number);
  if (ec == std::errc::result_out_of_range) {
    pos_ = start;
    fail("number out of the range of a double");
  }
  if (ec != std::errc() || end != last) fail("bad number");
  // Integers beyond int64 stay numbers only (is_integer false): callers needing an integer reject them.
  if (integral && std::from_chars(first, last, v.integer).ec == std::errc()) v.is_integer = true;
  else v.integer = 0;
  return v;
}

SIMILE_INLINE std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

SIMILE_INLINE std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace simile::detail
