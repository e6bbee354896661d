#pragma once
/// \file
/// `AtomicFile`: writes a file so that readers see either the previous file or the complete new one,
/// never a mix, whatever happens mid-write (a full disk, a file-size limit, SIGKILL, a power cut).
///
/// The bytes go to a temporary file beside the destination, `<path>.tmp-<pid>`, in the same folder (so
/// the rename is atomic: same file system); `commit()` flushes them to disk (fsync), renames the
/// temporary file over `path` and syncs the folder. Until then `path` is untouched; an AtomicFile
/// destroyed without `commit()` (an exception on the way) removes its temporary file. Opening one also
/// removes the temporary files of `path` that processes which no longer run left behind (a killed run).
/// Every file simile writes (checkpoints, `.npy` exports) goes through it.

#include <cstddef>
#include <string>

#include "simile/core/error.hpp"
#include "simile/core/instantiate.hpp"

namespace simile {

/// A file written all or nothing (see the file comment): `write`, then `commit`.
class AtomicFile {
 public:
  /// Creates the temporary file for `path`. `who` (the public function writing, e.g. "write_npy")
  /// starts every error message, an IoError that names `path` and says it was left unchanged.
  AtomicFile(std::string path, std::string who);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Removes the temporary file unless `commit()` succeeded.
  ~AtomicFile();

  /// Appends `n` bytes (retries short writes and EINTR).
  void write(const void* data, std::size_t n);
  /// fsync, close, rename over the destination, fsync its folder. After it, `path` holds the new bytes.
  void commit();

  /// The destination.
  const std::string& path() const { return path_; }
  /// Where the bytes go until `commit()`: `<path>.tmp-<pid>`.
  const std::string& temporary_path() const { return tmp_; }

  /// The temporary name `AtomicFile` uses for `path` in process `pid`: `<path>.tmp-<pid>`.
  static std::string temporary_name(const std::string& path, long pid);
  /// Removes `<path>.tmp-<pid>` files whose process no longer runs; returns how many it removed.
  static int remove_stale_temporaries(const std::string& path);

 private:
  [[noreturn]] void fail(const char* what, int err);

  std::string path_, tmp_, who_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/core/atomic_file-inl.hpp"
#endif
