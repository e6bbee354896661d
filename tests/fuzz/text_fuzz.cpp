// libFuzzer target: text files of one document per line, labeled or not. The first byte picks the
// options (labeled, delimiter, skip_empty); the rest is the file. What was read is tokenized and encoded,
// as a text dataset would be.
#include "fuzz_support.hpp"
#include "simile/data/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  simile::TextFileOptions options{
      .labeled = (data[0] & 1) != 0, .delimiter = (data[0] & 2) ? ',' : '\t', .skip_empty = (data[0] & 4) == 0};
  std::string path = simile::fuzz::write_input(data + 1, size - 1);
  return simile::fuzz::run([&] {
    simile::TextLines text = simile::read_text_lines(path, options);
    simile::Vocabulary vocabulary = simile::Vocabulary::build(text.lines);
    simile::make_text_dataset(text, vocabulary);
  });
}
