#pragma once
/// \file
/// The definitions behind `simile/data/image_folder.hpp`: compiled once in `src/data/image_folder.cpp`, or
/// included by that header in header-only mode (SIMILE_INLINE is then `inline`).
///
/// The cache file: "SIMILEU8", then little-endian uint32 version, channels, height, width, uint64 key bytes,
/// files, kept images; the key (the decode options and every file's path, size and modification time),
/// one byte per file (1 kept, 0 skipped), zeros up to a multiple of 4096 bytes, then the kept images'
/// pixels uint8 [kept, channels, height, width].

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>

#include "simile/core/atomic_file.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/image_folder.hpp"

namespace simile::detail {

inline bool is_image_name(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg");
}

inline bool is_hidden(const std::filesystem::path& p) { return p.filename().string().starts_with("."); }

/// The images below `dir` (any depth, hidden entries skipped), as paths relative to `root`, sorted.
inline std::vector<std::string> images_below(const std::filesystem::path& root, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code kind;  // a dangling link is no image, not an error
    if (is_hidden(it->path())) {
      if (it->is_directory(kind)) it.disable_recursion_pending();
      continue;
    }
    if (is_image_name(it->path().filename().string()) && it->is_regular_file(kind))
      found.push_back(it->path().lexically_relative(root).generic_string());
  }
  check<IoError>(!ec, "list_image_folder: cannot read '", dir.string(), "': ", ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

constexpr std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

inline std::string image_options_key(const ImageFolderOptions& o) {
  return str("simile image folder cache 1: channels ", o.channels, ", ", o.height, "x", o.width, ", fit ",
             o.fit == ImageFit::resize ? "resize" : "crop", ", bad images ",
             o.bad_images == BadImages::fail ? "fail" : "skip", "\n");
}

/// The cache key: the options, then each file's path, size and modification time (ns).
inline std::string image_folder_key(const std::string& root, const ImageFolderListing& l, const ImageFolderOptions& o) {
  std::string key = image_options_key(o);
  for (const std::string& f : l.files) {
    struct stat st {};
    const bool ok = ::stat((std::filesystem::path(root) / f).c_str(), &st) == 0;
    key += f;
    key += str('\0', ok ? std::int64_t(st.st_size) : -1, ' ',
               ok ? std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : -1, '\n');
  }
  return key;
}

inline constexpr char image_cache_magic[8] = {'S', 'I', 'M', 'I', 'L', 'E', 'U', '8'};
inline constexpr std::uint32_t image_cache_version = 1;
inline constexpr std::size_t image_cache_header = 48, image_cache_page = 4096;

inline std::size_t image_cache_pixels_at(std::size_t key_size, std::size_t files) {
  std::size_t n = image_cache_header + key_size + files;
  return (n + image_cache_page - 1) / image_cache_page * image_cache_page;
}

/// Reads the cache at `path` into `out` when it is current for `key`; false when it is missing, stale
/// or damaged (then the folder is decoded again and the cache rewritten).
inline bool read_image_cache(const std::string& path, const std::string& key, const ImageFolderListing& l,
                             const ImageFolderOptions& o, ImageFolder& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || std::size_t(st.st_size) < image_cache_header) {
    ::close(fd);
    return false;
  }
  const std::size_t size = std::size_t(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return false;
  struct Unmap {
    void* p;
    std::size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, size};
  const auto* b = static_cast<const unsigned char*>(map);
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, b + at, 4);
    return v;
  };
  auto u64 = [&](std::size_t at) {
    std::uint64_t v;
    std::memcpy(&v, b + at, 8);
    return v;
  };
  const std::size_t files = l.files.size();
  if (std::memcmp(b, image_cache_magic, 8) != 0 || u32(8) != image_cache_version || u32(12) != std::uint32_t(o.channels) ||
      u32(16) != std::uint32_t(o.height) || u32(20) != std::uint32_t(o.width) || u64(24) != key.size() ||
      u64(32) != files)
    return false;
  const std::uint64_t kept = u64(40);
  const std::size_t at = image_cache_pixels_at(key.size(), files);
  const std::uint64_t plane = std::uint64_t(o.channels) * std::uint64_t(o.height) * std::uint64_t(o.width);
  if (kept > files || at > size || (size - at) / plane != kept || (size - at) % plane != 0) return false;
  if (std::memcmp(b + image_cache_header, key.data(), key.size()) != 0) return false;
  const unsigned char* flags = b + image_cache_header + key.size();
  if (std::uint64_t(std::count(flags, flags + files, 1)) != kept ||
      std::uint64_t(std::count(flags, flags + files, 0)) != files - kept)
    return false;
  Tensor<std::uint8_t> images = Tensor<std::uint8_t>::empty({Index(kept), o.channels, o.height, o.width});
  if (kept) std::memcpy(images.data(), b + at, std::size_t(kept * plane));
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < files; ++i) {
    if (flags[i]) {
      out.files.push_back(l.files[i]);
      if (!l.labels.empty()) labels.push_back(l.labels[i]);
    } else {
      out.skipped.push_back(l.files[i]);
    }
  }
  if (kept == 0) return false;
  out.data = ImageDataset(std::move(images), std::move(labels));
  out.from_cache = true;
  return true;
}

inline void write_image_cache(const std::string& path, const std::string& key, const std::vector<unsigned char>& kept,
                              const ImageFolderOptions& o, const Tensor<std::uint8_t>& images) {
  std::vector<unsigned char> head(image_cache_pixels_at(key.size(), kept.size()), 0);
  auto put32 = [&](std::size_t at, std::uint32_t v) { std::memcpy(head.data() + at, &v, 4); };
  auto put64 = [&](std::size_t at, std::uint64_t v) { std::memcpy(head.data() + at, &v, 8); };
  std::memcpy(head.data(), image_cache_magic, 8);
  put32(8, image_cache_version), put32(12, std::uint32_t(o.channels));
  put32(16, std::uint32_t(o.height)), put32(20, std::uint32_t(o.width));
  put64(24, key.size()), put64(32, kept.size()), put64(40, std::uint64_t(images.dim(0)));
  std::memcpy(head.data() + image_cache_header, key.data(), key.size());
  std::memcpy(head.data() + image_cache_header + key.size(), kept.data(), kept.size());
  AtomicFile f(path, "load_image_folder (cache)");
  f.write(head.data(), head.size());
  f.write(images.data(), std::size_t(images.numel()));
  f.commit();
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE ImageFolderListing list_image_folder(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  check<IoError>(fs::is_directory(root, ec), "list_image_folder: '", root, "' is not a folder");
  std::vector<std::string> top_images, classes;
  fs::directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (detail::is_hidden(it->path())) continue;
    std::error_code kind;
    if (it->is_directory(kind)) classes.push_back(it->path().filename().string());
    else if (detail::is_image_name(it->path().filename().string()) && it->is_regular_file(kind))
      top_images.push_back(it->path().filename().string());
  }
  check<IoError>(!ec, "list_image_folder: cannot read '", root, "': ", ec.message());
  std::sort(top_images.begin(), top_images.end());
  std::sort(classes.begin(), classes.end());
  ImageFolderListing l;
  if (classes.empty()) {
    check<IoError>(!top_images.empty(), "list_image_folder: '", root,
                   "' holds no PNG or JPEG image (.png, .jpg, .jpeg) and no class folder");
    l.files = std::move(top_images);
    return l;
  }
  check<IoError>(top_images.empty(), "list_image_folder: '", root, "' has images at its top ('", top_images.empty() ? "" : top_images[0],
                 "') and subfolders ('", classes[0], "'): put every image in a class folder (labeled), or "
                 "remove the subfolders (unlabeled)");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> files = detail::images_below(root, fs::path(root) / classes[c]);
    check<IoError>(!files.empty(), "list_image_folder: class folder '", (fs::path(root) / classes[c]).string(),
                   "' holds no PNG or JPEG image");
    l.files.insert(l.files.end(), files.begin(), files.end());
    l.labels.insert(l.labels.end(), files.size(), std::int64_t(c));
  }
  l.classes = std::move(classes);
  return l;
}

SIMILE_INLINE std::string image_folder_cache_path(const std::string& root, const ImageFolderOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec).lexically_normal();
  std::string id = abs.generic_string();
  while (id.size() > 1 && id.ends_with("/")) id.pop_back();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(detail::fnv1a(detail::image_options_key(o), detail::fnv1a(id))));
  return (fs::path(o.cache_dir.empty() ? root : o.cache_dir) / (std::string(".simile-cache-") + hex + ".u8")).string();
}

SIMILE_INLINE ImageFolder load_image_folder(const std::string& root, const ImageFolderOptions& o) {
  check<ValueError>(o.channels == 1 || o.channels == 3, "load_image_folder: channels ", o.channels, " must be 1 or 3");
  check<ValueError>(o.height >= 1 && o.width >= 1 && o.height <= 65536 && o.width <= 65536, "load_image_folder: size ",
                    o.height, "x", o.width, " must be in [1, 65536]");
  ImageFolderListing l = list_image_folder(root);
  ImageFolder out;
  out.classes = l.classes;
  std::string key;
  if (o.cache) {
    out.cache_path = image_folder_cache_path(root, o);
    key = detail::image_folder_key(root, l, o);
    if (detail::read_image_cache(out.cache_path, key, l, o, out)) return out;
    out.files.clear(), out.skipped.clear();
  }

  const Index n = Index(l.files.size()), plane = Index(o.channels) * o.height * o.width;
  Tensor<std::uint8_t> all = Tensor<std::uint8_t>::empty({n, o.channels, o.height, o.width});
  std::vector<std::string> errors(l.files.size());
  parallel_for(0, n, 1, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      const std::string path = (std::filesystem::path(root) / l.files[std::size_t(i)]).string();
      try {
        Tensor<std::uint8_t> image = fit_image(read_image(path, o.channels), o.height, o.width, o.fit);
        std::memcpy(all.data() + i * plane, image.data(), std::size_t(plane));
      } catch (const Error& e) {
        errors[std::size_t(i)] = e.what();
      } catch (const std::bad_alloc&) {
        errors[std::size_t(i)] = detail::str("read_image: '", path, "': out of memory while decoding it");
      }
    }
  });
  out.decoded = n;
  std::vector<unsigned char> kept(l.files.size());
  std::vector<Index> keep;
  std::vector<std::int64_t> labels;
  const std::string* first_error = nullptr;
  for (std::size_t i = 0; i < l.files.size(); ++i) {
    if (!errors[i].empty()) {
      if (!first_error) first_error = &errors[i];
      out.skipped.push_back(l.files[i]);
      continue;
    }
    kept[i] = 1;
    keep.push_back(Index(i));
    out.files.push_back(l.files[i]);
    if (!l.labels.empty()) labels.push_back(l.labels[i]);
  }
  if (first_error && o.bad_images == BadImages::fail)
    throw IoError(detail::str("load_image_folder: ", out.skipped.size(), " of ", n, " images in '", root,
                              "' cannot be read; the first: ", *first_error));
  check<IoError>(!keep.empty(), "load_image_folder: none of the ", n, " images in '", root,
                 "' can be read; the first: ", first_error ? *first_error : std::string());
  if (Index(keep.size()) < n) {
    Tensor<std::uint8_t> compact = Tensor<std::uint8_t>::empty({Index(keep.size()), o.channels, o.height, o.width});
    for (std::size_t j = 0; j < keep.size(); ++j)
      std::memcpy(compact.data() + Index(j) * plane, all.data() + keep[j] * plane, std::size_t(plane));
    all = compact;
  }
  if (o.cache) {
    try {
      detail::write_image_cache(out.cache_path, key, kept, o, all);
    } catch (const Error& e) {
      out.cache_problem = e.what();
    }
  }
  out.data = ImageDataset(std::move(all), std::move(labels));
  return out;
}

}  // namespace simile
