// libFuzzer target: PNG and JPEG files (decode_image tells them by their signature), decoded to gray and to
// RGB, then fitted to 7x5 both ways (resize and crop), as an image folder does with each of its files.
#include "fuzz_support.hpp"
#include "simile/data/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  simile::fuzz::run([&] {
    simile::Tensor<std::uint8_t> gray = simile::decode_image(bytes, 1, "input");
    simile::fit_image(gray, 7, 5, simile::ImageFit::crop);
  });
  std::string path = simile::fuzz::write_input(data, size, "input.png");
  return simile::fuzz::run([&] {
    simile::Tensor<std::uint8_t> rgb = simile::read_image(path, 3);
    simile::fit_image(rgb, 7, 5, simile::ImageFit::resize);
  });
}
