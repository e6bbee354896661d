#pragma once
/// \file
/// `FileReader`: reads a file that may be gzip-compressed (detected by the magic bytes 1f 8b) through
/// zlib, with errors that name the reading function and the file. The readers of the data layer (IDX,
/// NPY, CIFAR, CSV, text) are written on top of it, so every one of them accepts `.gz` files and
/// reports truncation and corruption the same way.
///
/// Only regular files are read (a FIFO or a device is refused at once, without blocking). A gzip file
/// is verified to its end: every member's CRC-32 and length, a member cut before its 8-byte trailer, and
/// bytes after the last member that are not another member are all errors.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"

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

  /// The file's path, as given.
  const std::string& path() const { return path_; }
  /// The public function reading (e.g. "read_idx_images"), which starts every error message.
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
  /// IoError for a corrupted or truncated gzip stream (bad CRC or length, invalid deflate data, no
  /// trailer, junk after the last member) or a failed read.
  std::size_t read_some(void* dst, std::size_t n);

  /// Reads exactly `n` bytes of `what` (e.g. "the header", "pixel data"); a short read is an IoError
  /// saying how many bytes were expected and how many the file held.
  void read_exact(void* dst, std::size_t n, const char* what);

  /// `read_exact` into a buffer that grows as the bytes arrive, for a count taken from a gzip file's
  /// header: a header that claims more than the stream holds fails after allocating about what the
  /// stream held, not what it claimed.
  std::vector<unsigned char> read_exact_growing(std::uint64_t n, const char* what);

  /// Reads `n` bytes of `what` into the storage that `alloc()` returns (a pointer to `n` bytes). A plain
  /// file, whose size the caller has checked against `n`, is read straight into it; a gzip file's bytes
  /// are read first (`read_exact_growing`) and `alloc` is called only once they are all there, so a
  /// header that claims more than the stream holds never gets its allocation.
  template <class Alloc>
  void read_into(std::uint64_t n, const char* what, Alloc&& alloc) {
    if (!compressed_) return read_exact(alloc(), static_cast<std::size_t>(n), what);
    std::vector<unsigned char> bytes = read_exact_growing(n, what);
    void* dst = alloc();
    if (n) std::memcpy(dst, bytes.data(), bytes.size());
  }

  /// Big-endian 32-bit unsigned integer.
  std::uint32_t read_be32(const char* what);

  /// Throws IoError when the file holds more bytes after what the format described.
  void expect_end(const char* what);

  /// Reads everything that is left (allocating as the bytes arrive).
  std::vector<unsigned char> read_rest();

  /// Throws IoError "who: 'path' <parts...>".
  template <class... Args>
  [[noreturn]] void fail(Args&&... parts) const {
    throw IoError(detail::str(who_, ": '", path_, "' ", std::forward<Args>(parts)...));
  }

 private:
  struct Inflater;  // zlib's stream state and input buffer (zlib stays out of this header)
  std::size_t read_file(void* dst, std::size_t n);
  std::size_t inflate_some(unsigned char* dst, std::size_t n);

  std::string path_;
  std::string who_;
  int fd_ = -1;
  std::unique_ptr<Inflater> z_;  // set for gzip files
  bool compressed_ = false;
  std::uint64_t file_size_ = 0;
  std::uint64_t position_ = 0;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/file-inl.hpp"
#endif
