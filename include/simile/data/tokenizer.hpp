#pragma once
/// \file
/// What a tokenizer is to the rest of simile: the `Tokenizer` concept (text in, token ids out, a vocabulary
/// size for the embedding table) and `make_text_dataset`, which encodes a list of texts with any of them in
/// parallel. The tokenizers: `Vocabulary` (whole words, data/text.hpp), `BpeTokenizer` (learned subwords,
/// data/bpe.hpp) and `HashedNgramTokenizer` (hashed words and character n-grams, data/hashed_ngrams.hpp).

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/dataset.hpp"

namespace simile {

/// A tokenizer: `t.encode(text)` gives the token ids of a text, each in [0, t.size()), with 0 the padding
/// id (never produced for a real token). `encode` must be const and safe to call from several threads.
template <class T>
concept Tokenizer = requires(const T& t, std::string_view text) {
  { t.encode(text) } -> std::same_as<std::vector<Token>>;
  { t.size() } -> std::convertible_to<Index>;
};

namespace detail {
/// The body of every `make_text_dataset`: `make_encoder()` is called once per parallel chunk and returns a
/// callable `std::vector<Token>(std::string_view)` (a chunk may keep a cache in it); each text is encoded,
/// then cut to its first `max_length` tokens (0: no limit).
template <class MakeEncoder>
TextDataset encode_texts(const std::vector<std::string>& texts, std::vector<std::int64_t> labels, Index max_length,
                         MakeEncoder&& make_encoder) {
  check<ValueError>(max_length >= 0, "make_text_dataset: max_length ", max_length, " is negative (0: no limit)");
  check<ShapeError>(labels.empty() || labels.size() == texts.size(), "make_text_dataset: ", labels.size(),
                    " labels for ", texts.size(), " texts (give none or one per text)");
  std::vector<std::vector<Token>> seqs(texts.size());
  parallel_for(0, static_cast<Index>(texts.size()), 256, [&](Index b, Index e) {
    auto encode = make_encoder();
    for (Index i = b; i < e; ++i) {
      std::vector<Token>& s = seqs[std::size_t(i)];
      s = encode(std::string_view(texts[std::size_t(i)]));
      if (max_length > 0 && static_cast<Index>(s.size()) > max_length) {
        s.resize(std::size_t(max_length));
        s.shrink_to_fit();
      }
    }
  });
  return TextDataset(std::move(seqs), std::move(labels));
}
}  // namespace detail

/// Encodes `texts` with `tokenizer` into a text dataset, in parallel (`parallel_for`). `labels`: none, or
/// one per text (ShapeError otherwise). `max_length` > 0 keeps the first `max_length` tokens of each text (0:
/// no truncation; negative: ValueError). A text without words gives an empty sequence.
template <Tokenizer T>
TextDataset make_text_dataset(const std::vector<std::string>& texts, const T& tokenizer,
                              std::vector<std::int64_t> labels = {}, Index max_length = 0) {
  return detail::encode_texts(texts, std::move(labels), max_length,
                              [&] { return [&](std::string_view s) { return tokenizer.encode(s); }; });
}

}  // namespace simile
