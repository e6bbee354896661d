#pragma once
/// \file
/// What every fuzz target shares. The readers take paths, so each input is written to a file in a folder
/// of this process (under $TMPDIR, else /dev/shm, else /tmp; removed at exit) and read back. The expected
/// answer to any input is a result or a `simile::Error`; anything else escapes `run` and libFuzzer reports
/// it (another exception aborts, as do a crash, a leak, undefined behaviour, a timeout and an allocation
/// over -malloc_limit_mb).

#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "simile/core/allocator.hpp"
#include "simile/core/error.hpp"

namespace simile::fuzz {

/// The folder of this process, created on first use and removed when the process exits normally
/// (libFuzzer exits through exit() at the end of -max_total_time or -runs).
class ScratchDir {
 public:
  ScratchDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path base = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
    else if (fs::is_directory("/dev/shm", ec)) base = "/dev/shm";
    path_ = base / ("simile_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path();
}

/// Writes `data` to `<scratch>/<name>` and returns the path.
inline std::string write_input(const std::uint8_t* data, std::size_t size, const char* name = "input") {
  std::string path = (scratch_dir() / name).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

/// Writes `data` gzip-compressed (one member, level 1) to `<scratch>/<name>` and returns the path: mutated
/// bytes seldom form a valid deflate stream, so this reaches what a reader does with valid gzip input.
inline std::string write_gzip_input(const std::uint8_t* data, std::size_t size, const char* name = "input.gz") {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: a gzip wrapper
  std::string out(deflateBound(&z, static_cast<uLong>(size)) + 32, '\0');
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return write_input(reinterpret_cast<const std::uint8_t*>(out.data()), out.size(), name);
}

/// Runs `f`, accepting a `simile::Error` as the answer to bad input. The tensor cache is emptied after
/// each input so that its blocks go back to the heap, where AddressSanitizer watches them.
template <class F>
int run(F&& f) {
  try {
    f();
  } catch (const simile::Error&) {
  }
  CachingAllocator::instance().empty_cache();
  return 0;
}

}  // namespace simile::fuzz
