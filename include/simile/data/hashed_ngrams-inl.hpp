#pragma once
/// \file
/// The definitions behind `simile/data/hashed_ngrams.hpp`: compiled once in `src/data/hashed_ngrams.cpp`, or
/// included by that header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/hashed_ngrams.hpp"
#include "simile/data/text.hpp"

namespace simile {

SIMILE_INLINE std::uint32_t fnv1a_32(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

SIMILE_INLINE HashedNgramTokenizer::HashedNgramTokenizer(const HashedNgramOptions& options) : options_(options) {
  const HashedNgramOptions& o = options_;
  check<ValueError>(o.buckets >= 1 && o.buckets <= (Index{1} << 31) - reserved - 1, "HashedNgramTokenizer: buckets ",
                    o.buckets, " outside [1, 2^31 - 5]");
  check<ValueError>(o.max_n == 0 || (o.min_n >= 1 && o.min_n <= o.max_n && o.max_n <= 32),
                    "HashedNgramTokenizer: n-gram lengths min_n ", o.min_n, ", max_n ", o.max_n,
                    " (need max_n = 0 for none, or 1 <= min_n <= max_n <= 32)");
  check<ValueError>(o.words || o.max_n > 0 || o.word_bigrams,
                    "HashedNgramTokenizer: no tokens at all (words off, max_n 0, word_bigrams off)");
}

SIMILE_INLINE Token HashedNgramTokenizer::id(std::string_view s) const {
  return reserved + static_cast<Token>(fnv1a_32(s) % static_cast<std::uint32_t>(options_.buckets));
}

SIMILE_INLINE std::vector<Token> HashedNgramTokenizer::encode(std::string_view text) const {
  const HashedNgramOptions& o = options_;
  std::vector<Token> out;
  std::string marked, bigram;
  std::vector<std::size_t> starts;  // byte offset of each character of `marked`, and its end
  const std::vector<std::string> words = tokenize(text);
  for (std::size_t w = 0; w < words.size(); ++w) {
    marked.assign(1, '<').append(words[w]).push_back('>');
    if (o.words) out.push_back(id(marked));
    if (o.max_n > 0) {
      starts.clear();
      std::size_t at = 0;
      detail::for_each_utf8_char(marked, [&](std::string_view c) {
        starts.push_back(at);
        at += c.size();
      });
      starts.push_back(at);
      const std::size_t chars = starts.size() - 1;
      for (std::size_t n = std::size_t(o.min_n); n <= std::size_t(o.max_n) && n < chars; ++n)  // n = chars: "<w>"
        for (std::size_t i = 0; i + n <= chars; ++i)
          out.push_back(id(std::string_view(marked).substr(starts[i], starts[i + n] - starts[i])));
    }
    if (o.word_bigrams && w > 0) {
      bigram.assign(words[w - 1]).append(1, ' ').append(words[w]);
      out.push_back(id(bigram));
    }
  }
  return out;
}

}  // namespace simile
