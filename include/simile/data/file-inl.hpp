#pragma once
/// \file
/// The definitions behind `simile/data/file.hpp`: compiled once in `src/data/file.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "simile/data/file.hpp"

namespace simile {

struct FileReader::Inflater {
  z_stream s{};
  std::vector<unsigned char> in = std::vector<unsigned char>(std::size_t{1} << 16);
  bool input_end = false;        // the file has no more bytes
  bool between_members = false;  // a member ended and the next has not started
  bool done = false;             // the last member ended at the end of the file
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() { inflateEnd(&s); }
};

SIMILE_INLINE FileReader::FileReader(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused as not a regular file.
  fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  check<IoError>(fd_ >= 0, who_, ": cannot open '", path_, "': ", std::strerror(errno));
  struct stat st {};
  int err = ::fstat(fd_, &st) == 0 ? 0 : errno;
  if (err || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    check<IoError>(false, who_, ": cannot open '", path_, "': ",
                   err                   ? std::strerror(err)
                   : S_ISDIR(st.st_mode) ? "it is a directory"
                                         : "not a regular file");
  }
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  unsigned char m[2] = {0, 0};
  compressed_ = ::pread(fd_, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
  if (compressed_) {
    z_ = std::make_unique<Inflater>();
    // 15 + 16: a 32 KiB window, gzip wrapper only (zlib checks each member's CRC-32 and length).
    if (inflateInit2(&z_->s, 15 + 16) != Z_OK) {
      z_.reset();
      ::close(fd_);
      fd_ = -1;
      check<IoError>(false, who_, ": cannot read '", path_, "': zlib could not start");
    }
  }
}

SIMILE_INLINE FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

SIMILE_INLINE std::size_t FileReader::read_file(void* dst, std::size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_, dst, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) fail("cannot be read: ", std::strerror(errno));
  }
}

SIMILE_INLINE std::size_t FileReader::inflate_some(unsigned char* dst, std::size_t n) {
  Inflater& z = *z_;
  std::size_t done = 0;
  while (done < n && !z.done) {
    if (z.s.avail_in == 0 && !z.input_end) {
      std::size_t got = read_file(z.in.data(), z.in.size());
      z.input_end = got == 0;
      z.s.next_in = z.in.data();
      z.s.avail_in = static_cast<uInt>(got);
    }
    if (z.s.avail_in == 0 && z.input_end) {
      if (z.between_members) {
        z.done = true;
        break;
      }
      fail("is truncated: the gzip stream ends before its end marker and 8-byte CRC/length trailer");
    }
    z.s.next_out = dst + done;
    z.s.avail_out = static_cast<uInt>(std::min<std::size_t>(n - done, std::size_t{1} << 30));
    uInt before = z.s.avail_out;
    int ret = inflate(&z.s, Z_NO_FLUSH);
    done += before - z.s.avail_out;
    if (ret == Z_STREAM_END) {
      // This member's CRC-32 and length matched. Another member may follow (gzip allows concatenation).
      inflateReset(&z.s);
      z.between_members = true;
      continue;
    }
    if (ret == Z_DATA_ERROR && z.between_members)
      fail("has bytes after the end of its gzip stream that are not another gzip member (", z.s.msg ? z.s.msg : "",
           ")");
    if (ret != Z_OK && ret != Z_BUF_ERROR)  // Z_BUF_ERROR: no progress without more input, read above
      fail("is corrupted: zlib error ", ret, " (", z.s.msg ? z.s.msg : "unknown", ")");
    z.between_members = false;  // inflate had input, so it consumed some: a member (or junk) has started
  }
  return done;
}

SIMILE_INLINE std::size_t FileReader::read_some(void* dst, std::size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  if (compressed_) {
    done = inflate_some(out, n);
  } else {
    while (done < n) {
      std::size_t got = read_file(out + done, n - done);
      if (got == 0) break;
      done += got;
    }
  }
  position_ += done;
  return done;
}

SIMILE_INLINE void FileReader::read_exact(void* dst, std::size_t n, const char* what) {
  std::uint64_t at = position_;
  std::size_t got = read_some(dst, n);
  check<IoError>(got == n, who_, ": '", path_, "' is truncated: expected ", n, " bytes of ", what, " at offset ",
                 at, ", got ", got);
}

SIMILE_INLINE std::vector<unsigned char> FileReader::read_exact_growing(std::uint64_t n, const char* what) {
  std::uint64_t at = position_;
  std::vector<unsigned char> out;
  std::size_t step = std::size_t{1} << 20;
  while (out.size() < n) {
    std::size_t old = out.size();
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n - old, std::max(step, old)));
    out.resize(old + want);
    std::size_t got = read_some(out.data() + old, want);
    out.resize(old + got);
    check<IoError>(got == want, who_, ": '", path_, "' is truncated: expected ", n, " bytes of ", what, " at offset ",
                   at, ", got ", out.size());
  }
  return out;
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
  // A plain file's size is known; a gzip file's content is not, so it grows as it is inflated.
  if (!compressed_) out.reserve(static_cast<std::size_t>(file_size_ - std::min(file_size_, position_)) + 1);
  unsigned char buf[1 << 16];
  std::size_t got;
  while ((got = read_some(buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + got);
  return out;
}

}  // namespace simile
