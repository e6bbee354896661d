// libFuzzer target: CIFAR binary batches. The first byte picks the format (CIFAR-10, CIFAR-100 fine or
// coarse) and whether the file is read once or twice (two batches); the rest is the file.
#include "fuzz_support.hpp"
#include "simile/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const simile::CifarFormat formats[] = {simile::CifarFormat::cifar10, simile::CifarFormat::cifar100_fine,
                                         simile::CifarFormat::cifar100_coarse};
  simile::CifarFormat format = formats[data[0] % 3];
  bool twice = (data[0] >> 2) & 1;
  std::string path = simile::fuzz::write_input(data + 1, size - 1);
  std::vector<std::string> paths(twice ? 2 : 1, path);
  return simile::fuzz::run([&] { simile::read_cifar(paths, format); });
}
