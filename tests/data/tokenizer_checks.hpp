#pragma once
/// \file
/// What every tokenizer's `make_text_dataset` must do, checked once for all of them (data-layer tests).

#include <algorithm>
#include <string>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/data/tokenizer.hpp"
#include "support/testing.hpp"

namespace simile::testing {

/// `make_text_dataset(texts, tokenizer, ...)`: each sequence is `tokenizer.encode(text)`; from two threads,
/// with labels (i % 4) and `max_length` 3, each is the first min(3, length) tokens of that and carries its
/// label; a label count that differs from the text count is a ShapeError and a negative `max_length` a
/// ValueError, both naming `make_text_dataset` and the values; no texts give an empty dataset.
template <Tokenizer T>
void check_make_text_dataset(const std::vector<std::string>& texts, const T& tokenizer) {
  ASSERT_GE(texts.size(), 6u);
  TextDataset serial = make_text_dataset(texts, tokenizer);
  ASSERT_EQ(serial.size(), static_cast<Index>(texts.size()));
  for (Index i = 0; i < serial.size(); ++i) {
    auto s = serial.get(i).tokens;
    ASSERT_EQ(std::vector<Token>(s.begin(), s.end()), tokenizer.encode(texts[std::size_t(i)])) << "text " << i;
  }
  {
    ThreadScope threads(2);
    std::vector<std::int64_t> labels(texts.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int64_t(i % 4);
    TextDataset parallel = make_text_dataset(texts, tokenizer, labels, 3);
    EXPECT_EQ(parallel.get(5).label, 1);
    for (Index i = 0; i < parallel.size(); ++i) {
      auto full = serial.get(i).tokens;
      auto cut = parallel.get(i).tokens;
      ASSERT_EQ(cut.size(), std::min<std::size_t>(3, full.size())) << "text " << i;
      ASSERT_TRUE(std::equal(cut.begin(), cut.end(), full.begin())) << "text " << i;
    }
  }
  const std::string count = std::to_string(texts.size());
  EXPECT_TRUE(throws_with<ShapeError>([&] { make_text_dataset(texts, tokenizer, {1, 2}); },
                                      {"make_text_dataset", "2 labels for " + count + " texts"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { make_text_dataset(texts, tokenizer, {}, -1); },
                                      {"make_text_dataset", "max_length -1"}));
  EXPECT_EQ(make_text_dataset({}, tokenizer).size(), 0);
}

}  // namespace simile::testing
