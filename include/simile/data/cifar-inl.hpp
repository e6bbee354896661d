#pragma once
/// \file
/// The definitions behind `simile/data/cifar.hpp`: compiled once in `src/data/cifar.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/cifar.hpp"

namespace simile {

SIMILE_INLINE ImageDataset read_cifar(const std::vector<std::string>& paths, CifarFormat format) {
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

SIMILE_INLINE ImageDataset load_cifar10(const std::string& dir, const std::string& split) {
  check<ValueError>(split == "train" || split == "test", "load_cifar10: split '", split,
                    "' must be \"train\" or \"test\"");
  std::vector<std::string> paths;
  if (split == "train")
    for (int i = 1; i <= 5; ++i) paths.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  else
    paths.push_back(dir + "/test_batch.bin");
  return read_cifar(paths, CifarFormat::cifar10);
}

SIMILE_INLINE ImageDataset load_cifar100(const std::string& dir, const std::string& split, bool fine) {
  check<ValueError>(split == "train" || split == "test", "load_cifar100: split '", split,
                    "' must be \"train\" or \"test\"");
  return read_cifar({dir + "/" + split + ".bin"}, fine ? CifarFormat::cifar100_fine : CifarFormat::cifar100_coarse);
}

}  // namespace simile
