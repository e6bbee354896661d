#pragma once
/// \file
/// IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST (LeCun et al., "The MNIST database"):
/// a 4-byte magic `00 00 <type> <ndims>`, `ndims` big-endian uint32 dimensions, then the elements in C
/// order. Only unsigned bytes (type 0x08) are read, which is what image and label files hold. Files may
/// be gzip-compressed (detected by their magic 1f 8b), as the Debian package and the original site ship
/// them.
///
/// Every check names the function and the file: a wrong magic (an image file passed as labels, say),
/// another data type, a dimension count that does not fit, a header that promises more or fewer bytes
/// than the file holds.

#include <cstdint>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// Where Debian's `dataset-fashion-mnist` package installs the four gzip files.
inline constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// IDX magic of an image file (unsigned bytes, 3 dimensions [N, rows, cols]).
inline constexpr std::uint32_t idx_images_magic = 0x00000803;
/// IDX magic of a label file (unsigned bytes, 1 dimension [N]).
inline constexpr std::uint32_t idx_labels_magic = 0x00000801;

namespace detail {
const char* idx_type_name(unsigned type);

/// Reads an IDX file of unsigned bytes with `want_ndims` dimensions (0: any from 1 to 5).
Tensor<std::uint8_t> read_idx_file(const std::string& path, const char* who, int want_ndims, const char* kind);
}  // namespace detail

/// Reads an IDX image file (magic 0x00000803): uint8 [N, rows, cols]. Throws IoError naming the file
/// when it is missing, truncated, corrupted, of another type or shape, or longer than its header says.
inline Tensor<std::uint8_t> read_idx_images(const std::string& path) {
  return detail::read_idx_file(path, "read_idx_images", 3, "images");
}

/// Reads an IDX label file (magic 0x00000801) into int64 labels.
std::vector<std::int64_t> read_idx_labels(const std::string& path);

/// Reads any unsigned-byte IDX file (1 to 5 dimensions) as stored.
inline Tensor<std::uint8_t> read_idx(const std::string& path) {
  return detail::read_idx_file(path, "read_idx", 0, "any");
}

/// An image dataset from an IDX image file and its IDX label file: at least one image, as many labels
/// as images, each label in [0, classes) (10 for MNIST and Fashion-MNIST). Else an IoError naming the file.
ImageDataset load_mnist_idx(const std::string& images_path, const std::string& labels_path, int classes = 10);

/// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) from `dir`: `split` is "train" (60000 images) or "test"
/// (10000), 28x28 grayscale, labels 0..9. Files are `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
ImageDataset load_fashion_mnist(const std::string& dir = fashion_mnist_dir, const std::string& split = "train");

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/idx-inl.hpp"
#endif
