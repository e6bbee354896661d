#pragma once
/// \file
/// `FileReader`: reads a file that may be gzip-compressed (detected by the magic bytes 1f 8b) through
/// zlib, with errors that name the reading function and the file. The readers of the data layer (IDX,
/// NPY, CIFAR, CSV, text) are written on top of it, so every one of them accepts `.gz` files and
/// reports truncation and corruption the same way.

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "simile/core/error.hpp"

namespace simile {

/// Sequential reader over a plain or gzip file. `who` (the public function using it, e.g.
/// "read_idx_images") and the path start every error message.
class FileReader {
 public:
  /// Opens `path`; throws IoError naming `who` and the file when it cannot be opened.
  FileReader(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)) {
    std::error_code ec;
    file_size_ = std::filesystem::file_size(path_, ec);
    check<IoError>(!ec && std::filesystem::is_regular_file(path_, ec), who_, ": cannot open '", path_,
                   "': ", ec ? ec.message() : "not a regular file");
    compressed_ = starts_with_gzip_magic();
    file_ = gzopen(path_.c_str(), "rb");
    check<IoError>(file_ != nullptr, who_, ": cannot open '", path_, "'");
    gzbuffer(file_, 1 << 17);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader() {
    if (file_) gzclose(file_);
  }

  const std::string& path() const { return path_; }
  const std::string& who() const { return who_; }
  /// True when the file starts with the gzip magic 1f 8b.
  bool compressed() const { return compressed_; }
  /// Size of the file on disk (compressed size for gzip).
  std::uint64_t file_size() const { return file_size_; }
  /// Bytes consumed so far from the decompressed stream.
  std::uint64_t position() const { return position_; }

  /// An upper bound on the decompressed size: the file size for a plain file; for gzip, deflate's
  /// maximum ratio (1032:1) times the compressed size. Lets a reader reject an absurd header before it
  /// allocates anything.
  std::uint64_t max_content_size() const { return compressed_ ? file_size_ * 1032 + 64 : file_size_; }

  /// Reads up to `n` bytes; returns how many were read (fewer only at the end of the data). Throws
  /// IoError when zlib reports a corrupted stream (bad CRC, invalid deflate data).
  std::size_t read_some(void* dst, std::size_t n) {
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

  /// Reads exactly `n` bytes of `what` (e.g. "the header", "pixel data"); a short read is an IoError
  /// saying how many bytes were expected and how many the file held.
  void read_exact(void* dst, std::size_t n, const char* what) {
    std::uint64_t at = position_;
    std::size_t got = read_some(dst, n);
    check<IoError>(got == n, who_, ": '", path_, "' is truncated: expected ", n, " bytes of ", what, " at offset ",
                   at, ", got ", got);
  }

  /// Big-endian 32-bit unsigned integer.
  std::uint32_t read_be32(const char* what) {
    unsigned char b[4];
    read_exact(b, 4, what);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
  }

  /// Throws IoError when the file holds more bytes after what the format described.
  void expect_end(const char* what) {
    unsigned char extra[256];
    std::size_t got = read_some(extra, sizeof extra);
    if (got == 0) return;
    std::uint64_t more = got;
    while ((got = read_some(extra, sizeof extra)) > 0) more += got;
    check<IoError>(false, who_, ": '", path_, "' has ", more, " bytes after the end of ", what,
                   " (the header and the file size disagree)");
  }

  /// Reads everything that is left.
  std::vector<unsigned char> read_rest() {
    std::vector<unsigned char> out;
    std::size_t hint = compressed_ ? file_size_ * 4 : file_size_ - std::min(file_size_, position_);
    out.reserve(hint + 1);
    unsigned char buf[1 << 16];
    std::size_t got;
    while ((got = read_some(buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + got);
    return out;
  }

  /// Throws IoError "who: 'path' <parts...>".
  template <class... Args>
  [[noreturn]] void fail(Args&&... parts) const {
    throw IoError(detail::str(who_, ": '", path_, "' ", std::forward<Args>(parts)...));
  }

 private:
  bool starts_with_gzip_magic() const {
    std::FILE* f = std::fopen(path_.c_str(), "rb");
    check<IoError>(f != nullptr, who_, ": cannot open '", path_, "'");
    unsigned char m[2] = {0, 0};
    std::size_t got = std::fread(m, 1, 2, f);
    std::fclose(f);
    return got == 2 && m[0] == 0x1f && m[1] == 0x8b;
  }
  [[noreturn]] void fail_stream() const {
    int code = 0;
    const char* msg = gzerror(file_, &code);
    fail("is corrupted: zlib error ", code, " (", msg ? msg : "unknown", ")");
  }
  // A gzip stream that stops before its trailer reads as a short read; zlib flags it as Z_BUF_ERROR.
  void check_stream_end() const {
    int code = 0;
    const char* msg = gzerror(file_, &code);
    if (code == Z_BUF_ERROR) fail("is truncated: the gzip stream ends early (", msg ? msg : "", ")");
    if (code != Z_OK) fail("is corrupted: zlib error ", code, " (", msg ? msg : "unknown", ")");
  }

  std::string path_;
  std::string who_;
  gzFile file_ = nullptr;
  bool compressed_ = false;
  std::uint64_t file_size_ = 0;
  std::uint64_t position_ = 0;
};

}  // namespace simile
