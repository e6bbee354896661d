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
      v.object.emplace_back(std::move(key), value(depth + 1));
      if (peek() == ',') { ++pos_; continue; }
      expect('}');
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
        if (cp < 0x80) out += char(cp);  // keys and metadata are ASCII in practice; encode BMP as UTF-8
        else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
        else out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
        break;
      }
      default: fail("bad escape");
    }
  }
}

SIMILE_INLINE JsonValue JsonReader::number() {
  std::size_t start = pos_;
  if (pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) ++pos_;
  bool integral = true;
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (c >= '0' && c <= '9') ++pos_;
    else if (c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') integral = false, ++pos_;
    else break;
  }
  if (start == pos_) fail("unexpected character");
  std::string tok(s_.substr(start, pos_ - start));
  JsonValue v;
  v.kind = JsonValue::Kind::number;
  char* end = nullptr;
  v.number = std::strtod(tok.c_str(), &end);
  if (end != tok.c_str() + tok.size()) fail("bad number");
  if (integral) {
    errno = 0;
    long long i = std::strtoll(tok.c_str(), &end, 10);
    if (errno == 0 && end == tok.c_str() + tok.size()) v.integer = i, v.is_integer = true;
  }
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
