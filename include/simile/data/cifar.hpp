#pragma once
/// \file
/// CIFAR-10 and CIFAR-100 binary batches (Krizhevsky 2009, "the binary version"): fixed-size records of
/// 1 label byte (CIFAR-10) or 2 (CIFAR-100: coarse then fine) followed by 3072 pixel bytes, the 1024
/// red values of a 32x32 image row by row, then green, then blue, which is already [C, H, W] order.
/// A file's size must be a whole number of records; labels must be in range for the format.

#include <cstdint>
#include <string>
#include <vector>

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
inline ImageDataset read_cifar(const std::vector<std::string>& paths, CifarFormat format = CifarFormat::cifar10) {
  check<ValueError>(!paths.empty(), "read_cifar: no files given");
  const Index label_bytes = format == CifarFormat::cifar10 ? 1 : 2;
  const Index record = label_bytes + detail::cifar_pixels;
  const int classes = format == CifarFormat::cifar10 ? 10 : format == CifarFormat::cifar100_fine ? 100 : 20;
  const Index keep = format == CifarFormat::cifar100_coarse ? 0 : label_bytes - 1;
  std::vector<std::vector<unsigned char>> contents;
  Index total = 0;
  for (const std::string& path : paths) {
    FileReader in(path, "read_cifar");
    contents.push_back(in.read_rest());
    auto size = static_cast<Index>(contents.back().size());
    if (size == 0 || size % record != 0)
      in.fail("has ", size, " bytes, not a positive multiple of the ", record, "-byte ",
              format == CifarFormat::cifar10 ? "CIFAR-10" : "CIFAR-100", " record (", label_bytes,
              " label byte(s) + 3072 pixels)");
    total += size / record;
  }
  Tensor<std::uint8_t> images = Tensor<std::uint8_t>::empty({total, 3, 32, 32});
  std::vector<std::int64_t> labels;
  labels.reserve(std::size_t(total));
  Index n = 0;
  for (std::size_t f = 0; f < contents.size(); ++f) {
    const auto& bytes = contents[f];
    for (Index r = 0, records = static_cast<Index>(bytes.size()) / record; r < records; ++r, ++n) {
      const unsigned char* rec = bytes.data() + r * record;
      int label = rec[keep];
      check<IoError>(label < classes, "read_cifar: '", paths[f], "' record ", r, " has label ", label,
                     ", expected 0..", classes - 1, format == CifarFormat::cifar10 ? " (is it a CIFAR-100 file?)" : "");
      labels.push_back(label);
      std::copy(rec + label_bytes, rec + record, images.data() + n * detail::cifar_pixels);
    }
  }
  return ImageDataset(images, std::move(labels));
}

/// CIFAR-10 from the folder of the binary distribution (`cifar-10-batches-bin`): split "train" reads
/// data_batch_1.bin to data_batch_5.bin (50000 images), "test" reads test_batch.bin (10000).
inline ImageDataset load_cifar10(const std::string& dir, const std::string& split = "train") {
  check<ValueError>(split == "train" || split == "test", "load_cifar10: split '", split,
                    "' must be \"train\" or \"test\"");
  std::vector<std::string> paths;
  if (split == "train")
    for (int i = 1; i <= 5; ++i) paths.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  else
    paths.push_back(dir + "/test_batch.bin");
  return read_cifar(paths, CifarFormat::cifar10);
}

/// CIFAR-100 from the folder of the binary distribution (`cifar-100-binary`): train.bin or test.bin,
/// fine (100 classes) or coarse (20 superclasses) labels.
inline ImageDataset load_cifar100(const std::string& dir, const std::string& split = "train", bool fine = true) {
  check<ValueError>(split == "train" || split == "test", "load_cifar100: split '", split,
                    "' must be \"train\" or \"test\"");
  return read_cifar({dir + "/" + split + ".bin"}, fine ? CifarFormat::cifar100_fine : CifarFormat::cifar100_coarse);
}

}  // namespace simile
