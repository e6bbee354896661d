#pragma once
/// \file
/// CIFAR-10 and CIFAR-100 binary batches (Krizhevsky 2009, "the binary version"): fixed-size records of
/// 1 label byte (CIFAR-10) or 2 (CIFAR-100: coarse then fine) followed by 3072 pixel bytes, the 1024
/// red values of a 32x32 image row by row, then green, then blue, which is already [C, H, W] order.
/// A file's size must be a whole number of records; labels must be in range for the format.

#include <cstdint>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// Which CIFAR binary layout a file has, and which label to keep.
enum class CifarFormat {
  cifar10,          ///< 1 label byte (0..9)
  cifar100_fine,    ///< 2 label bytes, keep the fine label (0..99)
  cifar100_coarse,  ///< 2 label bytes, keep the coarse superclass (0..19)
};

namespace detail {
inline constexpr Index cifar_pixels = 3 * 32 * 32;
}

/// Reads CIFAR binary batch files into one image dataset uint8 [N, 3, 32, 32] with labels, records in
/// file order. Throws IoError naming the file when its size is not a multiple of the record length
/// (1 + 3072 or 2 + 3072 bytes) or a label is out of range (a CIFAR-100 file read as CIFAR-10, say).
ImageDataset read_cifar(const std::vector<std::string>& paths, CifarFormat format = CifarFormat::cifar10);

/// CIFAR-10 from the folder of the binary distribution (`cifar-10-batches-bin`): split "train" reads
/// data_batch_1.bin to data_batch_5.bin (50000 images), "test" reads test_batch.bin (10000).
ImageDataset load_cifar10(const std::string& dir, const std::string& split = "train");

/// CIFAR-100 from the folder of the binary distribution (`cifar-100-binary`): train.bin or test.bin,
/// fine (100 classes) or coarse (20 superclasses) labels.
ImageDataset load_cifar100(const std::string& dir, const std::string& split = "train", bool fine = true);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/cifar-inl.hpp"
#endif
