// libFuzzer target: IDX image, label and any-rank files, plain or gzip (FileReader detects gzip by its
// magic, so one target covers both). Each input is also read gzip-compressed, as a valid stream.
#include "fuzz_support.hpp"
#include "simile/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = simile::fuzz::write_input(data, size);
  simile::fuzz::run([&] { simile::read_idx_images(path); });
  simile::fuzz::run([&] { simile::read_idx_labels(path); });
  simile::fuzz::run([&] { simile::read_idx(path); });
  std::string gz = simile::fuzz::write_gzip_input(data, size);
  return simile::fuzz::run([&] { simile::read_idx_images(gz); });
}
