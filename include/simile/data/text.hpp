#pragma once
/// \file
/// Text: files of one document per line with an optional integer label before a delimiter
/// (`3<TAB>a short review`), a simple tokenizer (lowercase words) and a `Vocabulary` built from the data
/// with a minimum count. Ids 0, 1 and 2 are reserved for padding, unknown words and the mask used by
/// token masking.

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/data/csv.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// Options of `read_text_lines`.
struct TextFileOptions {
  bool labeled = false;   ///< each line starts with an integer label then `delimiter`
  char delimiter = '\t';  ///< what separates the label from the text
  bool skip_empty = true;  ///< drop lines with no text
};

/// The lines of a text file and their labels (empty when unlabeled).
struct TextLines {
  std::vector<std::string> lines;    ///< the texts, without line endings (and without labels)
  std::vector<std::int64_t> labels;  ///< one per line when labeled, else empty
};

/// Reads one document per line. With `labeled`, the text before the first delimiter must be an integer
/// >= 0; otherwise IoError names the file and the line.
TextLines read_text_lines(const std::string& path, const TextFileOptions& options = {});

namespace detail {
/// Calls f(character) for each character of `word`: an ASCII byte, or a UTF-8 lead byte with the
/// continuation bytes (10xxxxxx) that follow it, at most 4 bytes in all; any other byte is a character
/// of its own, so every byte string splits (invalid UTF-8 included).
template <class F>
void for_each_utf8_char(std::string_view word, F&& f) {
  std::size_t i = 0;
  while (i < word.size()) {
    const std::size_t start = i;
    const auto lead = static_cast<unsigned char>(word[i++]);
    if (lead >= 0xC0) {
      const std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      while (i < word.size() && i - start < len && (static_cast<unsigned char>(word[i]) & 0xC0) == 0x80) ++i;
    }
    f(word.substr(start, i - start));
  }
}
}  // namespace detail

/// Lowercase words: maximal runs of ASCII letters and digits, plus bytes >= 0x80 so that UTF-8 letters
/// stay inside their word; everything else separates words.
std::vector<std::string> tokenize(std::string_view text);

/// Options of `Vocabulary::build`.
struct VocabularyOptions {
  Index min_count = 1;  ///< words seen fewer times map to the unknown token
  Index max_size = 0;   ///< at most this many ids in all (0: no limit); the most frequent words win
};

/// Word <-> id map. Ids: 0 `<pad>`, 1 `<unk>`, 2 `<mask>`, then words by decreasing count, ties in
/// alphabetical order, so the same texts always give the same ids.
class Vocabulary {
 public:
  /// @{
  /// The reserved ids: padding, an unknown word, a masked token (`TokenMasking`).
  static constexpr Token pad = 0, unknown = 1, mask = 2;
  /// @}

  /// The three reserved words only.
  Vocabulary() : words_{"<pad>", "<unk>", "<mask>"} {}

  /// The vocabulary of the words of `texts` (`tokenize`), filtered and capped by `options`.
  static Vocabulary build(const std::vector<std::string>& texts, const VocabularyOptions& options = {});

  /// Number of ids, the three reserved ones included.
  Index size() const { return static_cast<Index>(words_.size()); }
  /// Id of `word` (already lowercase), `unknown` when absent.
  Token id(const std::string& word) const;
  /// The word of `id` ("<pad>" for 0 ...). Throws ValueError unless 0 <= id < size().
  const std::string& word(Token id) const;
  /// Token ids of a text.
  std::vector<Token> encode(std::string_view text) const;

 private:
  void add(const std::string& w);
  std::vector<std::string> words_;
  std::unordered_map<std::string, Token> ids_;
};

/// Encodes every line with `vocabulary` into a text dataset (labels carried over).
TextDataset make_text_dataset(const TextLines& text, const Vocabulary& vocabulary);

/// A batch of token sequences padded to the longest: ids [B, L] (pad = `Vocabulary::pad`) and lengths.
struct TokenBatch {
  Tensor<Token> ids;           ///< [B, L], L the longest length, padding after each sequence
  std::vector<Index> lengths;  ///< B lengths before padding
};

/// Pads sequences with `Vocabulary::pad` to the longest one: ids [B, L], L the longest length.
TokenBatch pad_sequences(const std::vector<std::vector<Token>>& seqs);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/text-inl.hpp"
#endif
