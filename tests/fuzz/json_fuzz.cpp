// libFuzzer target: the JSON reader behind safetensors headers, on its own (no file, no length prefix,
// so the fuzzer reaches the grammar faster than through load_safetensors).
#include "fuzz_support.hpp"
#include "simile/io/detail/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  return simile::fuzz::run([&] { simile::detail::JsonReader(text, "json_fuzz").parse(); });
}
