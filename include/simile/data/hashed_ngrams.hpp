#pragma once
/// \file
/// fastText-style hashed tokens (Bojanowski, Grave, Joulin, Mikolov 2017, "Enriching Word Vectors with
/// Subword Information"; the hashing trick of Weinberger et al. 2009): a word is its own token plus the
/// tokens of its character n-grams, each id a hash of the string into a fixed number of buckets. Nothing
/// is learned, so there is no unknown word and nothing to save but the options; the cost is collisions
/// and longer sequences (a 6-letter word with n-grams of 3 to 5 characters gives 16 tokens).
///
/// Words come from `tokenize()` (data/text.hpp). For a word w the tokens are, in order:
/// - w itself (`words`), hashed as the string "<w>";
/// - its character n-grams (UTF-8 characters counted whole) of "<w>" for min_n <= n <= max_n, by n then by
///   position, without "<w>" itself (fastText's subwords: "where", n = 3: "<wh", "whe", "her", "ere", "re>");
/// - with `word_bigrams`, the pair of the previous word and w, hashed as "previous w" (one space).
///
/// Ids: 0 `<pad>`, 1 `<unk>`, 2 `<mask>`, 3 `<cls>` (as `BpeTokenizer`), then 4 + FNV-1a-32(string) mod
/// buckets. The same options give the same ids on every machine.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/data/dataset.hpp"

namespace simile {

/// Options of `HashedNgramTokenizer`.
struct HashedNgramOptions {
  Index buckets = 1 << 16;     ///< hash buckets: ids 4 .. 4 + buckets - 1
  /// @{
  Index min_n = 3, max_n = 5;  ///< character n-gram lengths (max_n = 0: no n-grams)
  /// @}
  bool words = true;           ///< a token for each whole word
  bool word_bigrams = false;   ///< a token for each pair of adjacent words
};

/// Hashed words and character n-grams (see the file comment). Immutable; `encode` is const and thread-safe.
class HashedNgramTokenizer {
 public:
  /// @{
  /// Reserved ids: padding, unknown (unused: every string hashes), the mask of token masking, the
  /// sequence-summary token.
  static constexpr Token pad = 0, unknown = 1, mask = 2, cls = 3;
  /// @}
  static constexpr Token reserved = 4;  ///< ids below this are the special tokens

  /// Requires 1 <= buckets <= 2^31 - 5, max_n = 0 or 1 <= min_n <= max_n <= 32, and at least one kind of
  /// token (`words`, n-grams or `word_bigrams`); ValueError naming the option and its value otherwise.
  explicit HashedNgramTokenizer(const HashedNgramOptions& options = {});

  /// Token ids of `text`, in the order of the file comment (empty when the text has no words).
  std::vector<Token> encode(std::string_view text) const;
  /// The id of one string (a word as "<w>", an n-gram, a bigram "a b"): 4 + FNV-1a-32(s) mod buckets.
  Token id(std::string_view s) const;
  /// Number of ids (the embedding table's size): 4 + buckets.
  Index size() const { return reserved + options_.buckets; }
  /// The options the tokenizer was built with (saved with a checkpoint to rebuild it).
  const HashedNgramOptions& options() const { return options_; }

 private:
  HashedNgramOptions options_;
};

/// FNV-1a, 32 bits (offset basis 2166136261, prime 16777619), over the bytes of `s`: fastText's hash.
std::uint32_t fnv1a_32(std::string_view s);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/hashed_ngrams-inl.hpp"
#endif
