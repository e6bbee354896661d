#pragma once
/// \file
/// The definitions behind `simile/core/atomic_file.hpp`: compiled once in `src/core/atomic_file.cpp`, or
/// included by that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "simile/core/atomic_file.hpp"

namespace simile {

SIMILE_INLINE std::string AtomicFile::temporary_name(const std::string& path, long pid) {
  return path + ".tmp-" + std::to_string(pid);
}

SIMILE_INLINE int AtomicFile::remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path folder = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + ".tmp-";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    // kill(pid, 0) fails with ESRCH when no such process exists: its writer is gone for good.
    if (pid != static_cast<long>(::getpid()) && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

SIMILE_INLINE AtomicFile::AtomicFile(std::string path, std::string who)
    : path_(std::move(path)), tmp_(temporary_name(path_, static_cast<long>(::getpid()))), who_(std::move(who)) {
  check<IoError>(!path_.empty(), who_, ": empty output path");
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw IoError(detail::str(who_, ": cannot write '", path_, "': it exists and is not a regular file"));
  remove_stale_temporaries(path_);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    int err = errno;
    throw IoError(detail::str(who_, ": cannot write '", path_, "': creating '", tmp_, "' failed: ", std::strerror(err),
                              "; '", path_, "' was left unchanged"));
  }
}

SIMILE_INLINE AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

SIMILE_INLINE void AtomicFile::fail(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw IoError(detail::str(who_, ": writing '", path_, "' failed (", what, " '", tmp_, "': ", std::strerror(err),
                            "); '", path_, "' was left unchanged"));
}

SIMILE_INLINE void AtomicFile::write(const void* data, std::size_t n) {
  check<IoError>(fd_ >= 0 && !committed_, who_, ": '", path_, "' is already closed");
  const char* c = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("writing", w < 0 ? errno : ENOSPC);
    c += w;
    n -= static_cast<std::size_t>(w);
  }
}

SIMILE_INLINE void AtomicFile::commit() {
  check<IoError>(fd_ >= 0 && !committed_, who_, ": '", path_, "' is already closed");
  if (::fsync(fd_) != 0) fail("syncing", errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    throw IoError(detail::str(who_, ": writing '", path_, "' failed (closing '", tmp_, "': ", std::strerror(err),
                              "); '", path_, "' was left unchanged"));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    throw IoError(detail::str(who_, ": renaming '", tmp_, "' to '", path_, "' failed: ", std::strerror(err), "; '",
                              path_, "' was left unchanged"));
  }
  committed_ = true;
  // The rename is durable once the folder's entry is on disk.
  const std::filesystem::path folder = std::filesystem::path(path_).parent_path();
  int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace simile
