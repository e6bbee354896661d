#pragma once
/// \file
/// The definitions behind `simile/data/file.hpp`: compiled once in `src/data/file.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include <zlib.h>

#include "simile/data/file.hpp"

namespace simile {

SIMILE_INLINE FileReader::FileReader(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)) {
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path_, ec);
  check<IoError>(!ec && std::filesystem::is_regular_file(path_, ec), who_, ": cannot open '", path_,
                 "': ", ec ? ec.message() : "not a regular file");
  compressed_ = starts_with_gzip_magic();
  file_ = gzopen(path_.c_str(), "rb");
  check<IoError>(file_ != nullptr, who_, ": cannot open '", path_, "'");
  gzbuffer(file_, 1 << 17);
}

SIMILE_INLINE FileReader::~FileReader() {
  if (file_) gzclose(file_);
}

SIMILE_INLINE std::size_t FileReader::read_some(void* dst, std::size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    int got = gzread(file_, out + done, chunk);
    if (got < 0) fail_stream();
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  if (done < n) check_stream_end();
  position_ += done;
  return done;
}

SIMILE_INLINE void FileReader::read_exact(void* dst, std::size_t n, const char* what) {
  std::uint64_t at = position_;
  std::size_t got = read_some(dst, n);
  check<IoError>(got == n, who_, ": '", path_, "' is truncated: expected ", n, " bytes of ", what, " at offset ",
                 at, ", got ", got);
}

SIMILE_INLINE std::uint32_t FileReader::read_be32(const char* what) {
  unsigned char b[4];
  read_exact(b, 4, what);
  return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
}

SIMILE_INLINE void FileReader::expect_end(const char* what) {
  unsigned char extra[256];
  std::size_t got = read_some(extra, sizeof extra);
  if (got == 0) return;
  std::uint64_t more = got;
  while ((got = read_some(extra, sizeof extra)) > 0) more += got;
  check<IoError>(false, who_, ": '", path_, "' has ", more, " bytes after the end of ", what,
                 " (the header and the file size disagree)");
}

SIMILE_INLINE std::vector<unsigned char> FileReader::read_rest() {
  std::vector<unsigned char> out;
  std::size_t hint = compressed_ ? file_size_ * 4 : file_size_ - std::min(file_size_, position_);
  out.reserve(hint + 1);
  unsigned char buf[1 << 16];
  std::size_t got;
  while ((got = read_some(buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + got);
  return out;
}

SIMILE_INLINE bool FileReader::starts_with_gzip_magic() const {
  std::FILE* f = std::fopen(path_.c_str(), "rb");
  check<IoError>(f != nullptr, who_, ": cannot open '", path_, "'");
  unsigned char m[2] = {0, 0};
  std::size_t got = std::fread(m, 1, 2, f);
  std::fclose(f);
  return got == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

SIMILE_INLINE void FileReader::fail_stream() const {
  int code = 0;
  const char* msg = gzerror(file_, &code);
  fail("is corrupted: zlib error ", code, " (", msg ? msg : "unknown", ")");
}

SIMILE_INLINE void FileReader::check_stream_end() const {
  int code = 0;
  const char* msg = gzerror(file_, &code);
  if (code == Z_BUF_ERROR) fail("is truncated: the gzip stream ends early (", msg ? msg : "", ")");
  if (code != Z_OK) fail("is corrupted: zlib error ", code, " (", msg ? msg : "unknown", ")");
}

}  // namespace simile
