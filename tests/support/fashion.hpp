#pragma once
/// \file
/// The first images of Debian's Fashion-MNIST, for tests that train on real data (an empty dataset when
/// the package is not installed: such tests skip).

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "simile/data.hpp"

namespace simile::testing {

inline ImageDataset fashion_head(Index n) {
  if (!std::filesystem::exists(std::string(fashion_mnist_dir) + "/train-images-idx3-ubyte.gz")) return {};
  ImageDataset all = load_fashion_mnist(fashion_mnist_dir, "train");
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index{0});
  return subset(all, idx);
}

}  // namespace simile::testing
