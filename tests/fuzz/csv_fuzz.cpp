// libFuzzer target: CSV files. The first byte picks the options (delimiter, header line, label column);
// the rest is the file.
#include "fuzz_support.hpp"
#include "simile/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char delimiters[] = {',', ';', '\t', ' '};
  const std::optional<simile::Index> label_columns[] = {std::nullopt, 0, -1, 2};
  simile::CsvOptions options{.delimiter = delimiters[data[0] & 3],
                             .header = ((data[0] >> 2) & 1) != 0,
                             .label_column = label_columns[(data[0] >> 3) & 3]};
  std::string path = simile::fuzz::write_input(data + 1, size - 1);
  return simile::fuzz::run([&] { simile::read_csv(path, options); });
}
