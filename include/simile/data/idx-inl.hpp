#pragma once
/// \file
/// The definitions behind `simile/data/idx.hpp`: compiled once in `src/data/idx.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/idx.hpp"

namespace simile::detail {

SIMILE_INLINE const char* idx_type_name(unsigned type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

SIMILE_INLINE Tensor<std::uint8_t> read_idx_file(const std::string& path, const char* who, int want_ndims, const char* kind) {
  FileReader in(path, who);
  std::uint32_t magic = in.read_be32("the IDX magic");
  unsigned zero = magic >> 16, type = (magic >> 8) & 0xFF, ndims = magic & 0xFF;
  if (zero != 0)
    in.fail("is not an IDX file: magic 0x", std::hex, magic, std::dec, " does not start with two zero bytes");
  if (type != 0x08)
    in.fail("has IDX data type 0x", std::hex, type, std::dec, " (", idx_type_name(type),
            "), expected 0x08 (unsigned byte)");
  if (want_ndims > 0 && static_cast<int>(ndims) != want_ndims)
    in.fail("has IDX magic 0x", std::hex, magic, std::dec, " (", ndims, " dimensions), expected 0x00000",
            std::hex, 0x800 + want_ndims, std::dec, " for ", kind,
            want_ndims == 1 ? " (is it an image file?)" : " (is it a label file?)");
  if (ndims < 1 || ndims > 5) in.fail("has ", ndims, " IDX dimensions, expected 1 to 5");
  Shape shape;
  std::uint64_t count = 1;
  for (unsigned d = 0; d < ndims; ++d) {
    std::uint32_t n = in.read_be32("the IDX dimensions");
    // Compared by division first so that a corrupted header cannot overflow the product.
    if (n != 0 && count > in.max_content_size() / n) count = in.max_content_size() + 1;
    else count *= n;
    if (count > in.max_content_size())
      in.fail("claims ", count, "+ elements in its header, more than the ", in.file_size(), "-byte file can hold");
    shape.push_back(static_cast<Index>(n));
  }
  if (!in.compressed() && in.file_size() != 4 + 4ull * ndims + count)
    in.fail("has ", in.file_size(), " bytes, but its header ", shape, " needs ", 4 + 4ull * ndims + count,
            " (", 4 + 4ull * ndims, " header + ", count, " data)");
  Tensor<std::uint8_t> t;
  in.read_into(count, "IDX data", [&] { return (t = Tensor<std::uint8_t>::empty(shape)).data(); });
  in.expect_end("the IDX data");
  return t;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE std::vector<std::int64_t> read_idx_labels(const std::string& path) {
  Tensor<std::uint8_t> t = detail::read_idx_file(path, "read_idx_labels", 1, "labels");
  return std::vector<std::int64_t>(t.begin(), t.end());
}

SIMILE_INLINE ImageDataset load_mnist_idx(const std::string& images_path, const std::string& labels_path,
                                          int classes) {
  check<ValueError>(classes >= 1, "load_mnist_idx: classes ", classes, " must be at least 1");
  Tensor<std::uint8_t> images = read_idx_images(images_path);
  check<IoError>(images.dim(0) > 0, "load_mnist_idx: '", images_path, "' holds no images");
  std::vector<std::int64_t> labels = read_idx_labels(labels_path);
  check<IoError>(static_cast<Index>(labels.size()) == images.dim(0), "load_mnist_idx: '", images_path, "' has ",
                 images.dim(0), " images but '", labels_path, "' has ", labels.size(), " labels");
  for (std::size_t i = 0; i < labels.size(); ++i)
    check<IoError>(labels[i] < classes, "load_mnist_idx: '", labels_path, "' label ", i, " is ", labels[i],
                   ", expected 0..", classes - 1);
  return ImageDataset(images, std::move(labels));
}

SIMILE_INLINE ImageDataset load_fashion_mnist(const std::string& dir, const std::string& split) {
  check<ValueError>(split == "train" || split == "test", "load_fashion_mnist: split '", split,
                    "' must be \"train\" or \"test\"");
  std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  auto pick = [](const std::string& base) {
    std::error_code ec;
    return std::filesystem::exists(base + ".gz", ec) ? base + ".gz" : base;
  };
  return load_mnist_idx(pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte"));
}

}  // namespace simile
