// libFuzzer target: safetensors files. Every tensor loaded is read through once, so that a size that
// disagrees with the bytes held shows up under AddressSanitizer.
#include "fuzz_support.hpp"
#include "simile/io/safetensors.hpp"

namespace {
volatile unsigned sink = 0;  // keeps the reads below from being optimized away
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = simile::fuzz::write_input(data, size);
  return simile::fuzz::run([&] {
    simile::TensorDict dict = simile::load_safetensors(path);
    unsigned sum = 0;
    for (const auto& item : dict.items())
      std::visit(
          [&](const auto& t) {
            const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
            for (std::size_t i = 0; i < static_cast<std::size_t>(t.numel()) * sizeof(*t.data()); ++i) sum += bytes[i];
          },
          item.second);
    sink = sum;
  });
}
