#pragma once
/// \file
/// Byte-pair-encoding subword tokenizer (Sennrich, Haddow, Birch 2016, "Neural Machine Translation of
/// Rare Words with Subword Units"): learned from training text, saved in checkpoints as text.
///
/// Words come from `tokenize()` (lowercase runs of letters and digits, see data/text.hpp). Each word is
/// split into characters (UTF-8 sequences kept whole), the last one marked as word-final with `</w>`
/// ("low" -> `l o w</w>`), and merges of adjacent symbols are learned greedily over the word counts.
/// The vocabulary, in id order:
/// - 0 `<pad>`, 1 `<unk>`, 2 `<mask>` (the same ids as `Vocabulary` in data/text.hpp, so `pad_sequences`
///   and token masking work unchanged) and 3 `<cls>` (a sequence-summary token an encoder may prepend);
/// - the alphabet: the characters of the training words by decreasing count (ties in byte order), each
///   as two tokens, `c` then `c</w>`, so that every word made of known characters can be encoded;
/// - one token per learned merge, in merge order (a merge whose result string already exists reuses
///   that token).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/text.hpp"
#include "simile/data/tokenizer.hpp"

namespace simile {

namespace detail {
/// Hash for heterogeneous lookup of std::string keys by std::string_view.
struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

/// A byte-pair-encoding tokenizer: `train` it on texts, `encode` texts into token ids, `serialize` it
/// into a checkpoint. Immutable once built: `encode` and `decode` are const and thread-safe.
class BpeTokenizer {
 public:
  /// Reserved ids: padding, unknown character, the mask of token masking, the sequence-summary token.
  /// @{
  static constexpr Token pad = 0, unknown = 1, mask = 2, cls = 3;
  /// @}
  /// Number of reserved ids (0..3) before the alphabet.
  static constexpr Index reserved = 4;
  /// Suffix of word-final tokens.
  static constexpr std::string_view end_of_word = "</w>";

  /// Encoded words, reused across `encode` calls; one per thread (not shared). See `encode`.
  using WordCache = std::unordered_map<std::string, std::vector<Token>, detail::StringViewHash, std::equal_to<>>;

  /// The reserved tokens alone: an empty alphabet, every character encodes to `<unk>`.
  BpeTokenizer();

  /// Learns a tokenizer of at most `vocab_size` tokens from `texts`:
  /// 1. counts the words of every text (`tokenize`);
  /// 2. alphabet: their characters by decreasing count (ties in byte order); when 2 x characters does
  ///    not fit in `vocab_size` - 4, the rarest characters are left out (they encode to `<unk>`);
  /// 3. repeats until the vocabulary holds `vocab_size` tokens or no pair of adjacent symbols occurs
  ///    `min_frequency` times: the pair (a, b) with the highest count (occurrences weighted by word
  ///    counts) is merged into the token ab in every word; ties go to the pair whose strings
  ///    (a, b) compare smallest, first by a then by b, so training is deterministic and does not depend
  ///    on the order of `texts`.
  /// Pair counts are updated incrementally: an index lists the words that hold each pair, and a merge
  /// rewrites only those words and changes only the counts of the pairs next to each occurrence (no
  /// recount). WordNet's 117,659 glosses (1.2 M words) to 8,000 tokens: about 0.4 s. Requires
  /// vocab_size >= 4 and min_frequency >= 1 (ValueError).
  static BpeTokenizer train(const std::vector<std::string>& texts, Index vocab_size, Index min_frequency = 2);

  /// Token ids of `text`: each word of `tokenize(text)` is split into characters (unknown ones become
  /// `<unk>`), then the learned merges are applied in the order they were learned (at each step, all
  /// occurrences of the earliest-learned adjacent pair, left to right) until none applies; a word of more
  /// than 48 characters goes through a heap of its pairs instead, with the same result in O(n log n).
  /// Thread-safe.
  std::vector<Token> encode(std::string_view text) const;
  /// `encode` that looks words up in `cache` first and stores the words it encodes there (at most
  /// 2^18 words; beyond that it stops adding). Same output as `encode`; `cache` must not be shared
  /// between threads.
  std::vector<Token> encode(std::string_view text, WordCache& cache) const;

  /// The text of `tokens`: token strings concatenated, `</w>` turned into a space between words,
  /// `<pad>` skipped, `<unk>` written as "<unk>" inside its word, `<mask>` and `<cls>` as words of their
  /// own. decode(encode(t)) equals the words of `tokenize(t)` joined by single spaces when every
  /// character of t is in the alphabet. Throws ValueError for an id outside 0..size()-1.
  std::string decode(std::span<const Token> tokens) const;

  /// Number of tokens (the embedding table's size).
  Index size() const { return static_cast<Index>(tokens_.size()); }
  /// Number of alphabet characters (each gives 2 tokens).
  Index alphabet_size() const { return alphabet_; }
  /// The string of token `id` ("<pad>", "e", "s</w>", "low"). Throws ValueError when out of range.
  const std::string& token(Token id) const;
  /// The id of the token string `s`, `unknown` when there is none.
  Token id(std::string_view s) const;
  /// The learned merges (left, right) in the order they are applied.
  const std::vector<std::pair<Token, Token>>& merges() const { return merges_; }

  /// Text form, version 1 (lines end with '\n'):
  ///
  ///     simile-bpe 1
  ///     alphabet <A>
  ///     <character>          (A lines, in id order; the reserved tokens are implicit)
  ///     merges <M>
  ///     <left> <right>       (M lines: the token strings of each merge, in order)
  ///     end
  ///
  /// The ids follow from it: reserved, then `c` and `c</w>` for each character, then each merge's result
  /// when it is a new string.
  std::string serialize() const;
  /// Reads `serialize`'s output. Validates everything: the header and version, the counts against the
  /// lines present, each character (one UTF-8 character of bytes `tokenize` can produce: a-z, 0-9,
  /// bytes >= 0x80; no duplicates), each merge (two known non-reserved tokens, the left one not
  /// word-final, not seen before) and the `end` line with nothing after it. Throws ValueError naming
  /// the line on any corruption; never crashes on junk.
  static BpeTokenizer deserialize(std::string_view text);

 private:
  Token add_token(std::string s);
  void add_character(std::string_view c);
  /// Records the merge (a, b) and returns the id of its result.
  Token add_merge(Token a, Token b);
  static std::uint64_t pair_key(Token a, Token b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  void encode_word(std::string_view word, std::vector<Token>& out, std::vector<Token>& scratch) const;
  void merge_long_word(std::vector<Token>& syms) const;
  void encode_into(std::string_view text, std::vector<Token>& out, WordCache* cache) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, Token, detail::StringViewHash, std::equal_to<>> ids_;
  Index alphabet_ = 0;
  std::vector<std::pair<Token, Token>> merges_;
  /// (left, right) -> (rank, result id).
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, Token>> merge_of_;
};

/// `make_text_dataset` of data/tokenizer.hpp for BPE, with one word cache per parallel chunk (same result).
TextDataset make_text_dataset(const std::vector<std::string>& texts, const BpeTokenizer& tokenizer,
                              std::vector<std::int64_t> labels = {}, Index max_length = 0);

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/bpe-inl.hpp"
#endif
