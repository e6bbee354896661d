// libFuzzer target: NPY files read as each element type read_npy supports, and the header alone; each
// input is also read gzip-compressed, as a valid stream.
#include "fuzz_support.hpp"
#include "simile/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = simile::fuzz::write_input(data, size);
  simile::fuzz::run([&] { simile::read_npy_header(path); });
  simile::fuzz::run([&] { simile::read_npy<float>(path); });
  simile::fuzz::run([&] { simile::read_npy<double>(path); });
  simile::fuzz::run([&] { simile::read_npy<std::uint8_t>(path); });
  std::string gz = simile::fuzz::write_gzip_input(data, size);
  return simile::fuzz::run([&] { simile::read_npy<float>(gz); });
}
