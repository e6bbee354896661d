#pragma once
/// \file
/// A folder tree of PNG and JPEG files as an `ImageDataset`, in torchvision's ImageFolder layout:
///
///   root/cat/001.png, root/cat/x/002.jpg, root/dog/003.png   labeled: one subfolder per class, classes
///                                                             sorted by name, label = index (images at
///                                                             any depth below their class folder)
///   root/001.png, root/002.jpg                                unlabeled: images directly in the root and
///                                                             no subfolder
///
/// Regular files (or links to them) ending .png, .jpg or .jpeg (any case) are images; other files, FIFOs,
/// devices, dangling links and names starting with a dot are ignored. The samples come class by class, each class's files sorted by path, so the order (and every
/// result) is the same on every machine. Images are decoded in parallel (`parallel_for`, simile's thread
/// count), each into its own slot, so any thread count gives the same bytes.
///
/// The decoded images are cached in one uint8 file (`.simile-cache-<hash>.u8` in the root, or in
/// `cache_dir`) that later loads read through a memory map instead of decoding again. The cache is keyed
/// by the decode options and by every image's path, size and modification time: any change among them
/// (an edited, added or removed image) makes the next load decode again and rewrite it. An edit that keeps
/// a file's size and modification time is not seen, as with make. The cache is written through
/// `AtomicFile` (a temporary file renamed over it), so a killed run never leaves a half-written cache.

#include <cstdint>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/image_file.hpp"

namespace simile {

/// What to do with an image that cannot be read or decoded.
enum class BadImages {
  fail,  ///< an IoError naming the file (the first one in sample order)
  skip,  ///< leave it out; `ImageFolder::skipped` lists it
};

/// Options of `load_image_folder`.
struct ImageFolderOptions {
  int channels = 3;                ///< 1 (gray) or 3 (RGB), converting as `decode_image` says
  Index height = 32;               ///< the height every image is fitted to (>= 1)
  Index width = 32;                ///< the width every image is fitted to (>= 1)
  ImageFit fit = ImageFit::resize; ///< how: bilinear resize, or scale and centre crop (`fit_image`)
  BadImages bad_images = BadImages::fail;  ///< a file that cannot be decoded: an IoError naming it, or skipped
  bool cache = true;               ///< read and write the decoded cache
  std::string cache_dir;           ///< the cache's folder (empty: the root); it must exist
};

/// The files of an image folder, in sample order (see the file comment).
struct ImageFolderListing {
  std::vector<std::string> files;      ///< paths relative to the root, '/'-separated
  std::vector<std::int64_t> labels;    ///< one per file; empty for an unlabeled folder
  std::vector<std::string> classes;    ///< the class folders' names, sorted; empty for an unlabeled folder
};

/// Lists the images of `root`. Throws IoError naming the folder when it is missing or unreadable, holds no
/// image, mixes images at its top with class subfolders, or has a class folder without an image.
ImageFolderListing list_image_folder(const std::string& root);

/// A loaded image folder.
struct ImageFolder {
  ImageDataset data;                  ///< uint8 [N, channels, height, width]; labels unless unlabeled
  std::vector<std::string> classes;   ///< class names, label = index; empty for an unlabeled folder
  std::vector<std::string> files;     ///< the N images' paths relative to the root, in sample order
  std::vector<std::string> skipped;   ///< the images left out (`BadImages::skip`), relative paths
  Index decoded = 0;                  ///< images decoded by this call: 0 when the cache answered
  bool from_cache = false;            ///< the pixels came from the cache file
  std::string cache_path;             ///< the cache file (empty when `cache` is off)
  std::string cache_problem;          ///< why the cache could not be written (empty when it was, or was read)
};

/// The cache file `load_image_folder` uses for `root` with `options`: `<dir>/.simile-cache-<16 hex>.u8`, the
/// hash over the root's absolute path and the decode options (so one folder may hold caches of several
/// sizes, and folders may share a cache folder).
std::string image_folder_cache_path(const std::string& root, const ImageFolderOptions& options);

/// Loads every image of `root` (`list_image_folder`), fitted to `options.height` x `options.width` with
/// `options.channels`, from the cache when it is current, else decoding (then writing the cache; a cache
/// that cannot be written, in a read-only folder say, is reported in `cache_problem`, not thrown).
/// A bad image is an IoError naming it unless `options.bad_images` is skip; no image left is an IoError.
ImageFolder load_image_folder(const std::string& root, const ImageFolderOptions& options = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/image_folder-inl.hpp"
#endif
