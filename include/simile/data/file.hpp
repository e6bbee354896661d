#pragma once
/// \file
/// `FileReader`: reads a file that may be gzip-compressed (detected by the magic bytes 1f 8b) through
/// zlib, with errors that name the reading function and the file. The readers of the data layer (IDX,
/// NPY, CIFAR, CSV, text) are written on top of it, so every one of them accepts `.gz` files and
/// reports truncation and corruption the same way.


#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"

/// zlib's gzip stream (`gzFile` is `gzFile_s*`), declared here so that users never include zlib.h.
struct gzFile_s;

namespace simile {

/// Sequential reader over a plain or gzip file. `who` (the public function using it, e.g.
/// "read_idx_images") and the path start every error message.
class FileReader {
 public:
  /// Opens `path`; throws IoError naming `who` and the file when it cannot be opened.
  FileReader(std::string path, std::string who);
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

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
  std::size_t read_some(void* dst, std::size_t n);

  /// Reads exactly `n` bytes of `what` (e.g. "the header", "pixel data"); a short read is an IoError
  /// saying how many bytes were expected and how many the file held.
  void read_exact(void* dst, std::size_t n, const char* what);

  /// Big-endian 32-bit unsigned integer.
  std::uint32_t read_be32(const char* what);

  /// Throws IoError when the file holds more bytes after what the format described.
  void expect_end(const char* what);

  /// Reads everything that is left.
  std::vector<unsigned char> read_rest();

  /// Throws IoError "who: 'path' <parts...>".
  template <class... Args>
  [[noreturn]] void fail(Args&&... parts) const {
    throw IoError(detail::str(who_, ": '", path_, "' ", std::forward<Args>(parts)...));
  }

 private:
  bool starts_with_gzip_magic() const;
  [[noreturn]] void fail_stream() const;
  // A gzip stream that stops before its trailer reads as a short read; zlib flags it as Z_BUF_ERROR.
  void check_stream_end() const;

  std::string path_;
  std::string who_;
  gzFile_s* file_ = nullptr;  // zlib's gzFile (zlib stays out of this header)
  bool compressed_ = false;
  std::uint64_t file_size_ = 0;
  std::uint64_t position_ = 0;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/file-inl.hpp"
#endif
