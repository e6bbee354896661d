#pragma once
/// \file
/// WordNet 3.0 (Miller 1995; Fellbaum 1998): the synsets of the database files `data.noun`, `data.verb`,
/// `data.adj` and `data.adv` (format wndb(5WN)), with their lemmas, gloss (definition) and example
/// sentences: text pairs for contrastive sentence embeddings (definition <-> lemmas, definition <->
/// examples) and a retrieval benchmark. Every line is validated; a corrupted file throws IoError naming
/// the file, the line and what is wrong, and no input (truncated, binary, huge counts) crashes or hangs.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/shape.hpp"
#include "simile/data/csv.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"

namespace simile {

/// One WordNet synset: a set of synonymous lemmas with one meaning.
struct Synset {
  /// The synset's part of speech (its `ss_type`) followed by its 8-digit byte offset in its data file,
  /// "n00001740": unique across the four files.
  std::string id;
  /// `ss_type`: 'n' noun, 'v' verb, 'a' adjective, 's' adjective satellite, 'r' adverb.
  char pos = 'n';
  /// Lexicographer file number, 0..44: `wordnet_lexnames()[lex_file]` is its name ("noun.animal").
  int lex_file = 0;
  /// The words of the synset in file order, underscores turned into spaces, case kept ("Canis
  /// familiaris"), adjective syntactic markers "(p)", "(a)", "(ip)" removed.
  std::vector<std::string> lemmas;
  /// The definition part of the gloss: the unquoted parts separated by ';', trimmed, joined with "; "
  /// (empty when the gloss holds only examples). See `detail::split_wordnet_gloss`.
  std::string gloss;
  /// The example sentences of the gloss (its double-quoted parts), quotes removed, in order.
  std::vector<std::string> examples;
  /// The ids (as `id`) of the synset's hypernyms: the targets of its `@` (hypernym) and `@i` (instance
  /// hypernym) pointers, in file order. Empty for roots, adjectives and adverbs.
  std::vector<std::string> hypernyms;
};

/// The 45 lexicographer file names in WordNet's numbering (lexnames(5WN)): 0 "adj.all", 1 "adj.pert",
/// 2 "adv.all", 3 "noun.Tops", 4 "noun.act", ..., 28 "noun.time", 29 "verb.body", ..., 43
/// "verb.weather", 44 "adj.ppl". Nouns use 3..28, verbs 29..43, adjectives 0, 1 and 44, adverbs 2.
const std::array<std::string_view, 45>& wordnet_lexnames();

/// Reads one WordNet data file (`data.noun`, `data.verb`, `data.adj` or `data.adv`; gzip accepted).
///
/// Lines that start with two spaces are the license header and are skipped. Every other line is one
/// synset (wndb(5WN)), fields separated by spaces:
///
///     offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [ptr ...] [frames] | gloss
///
/// - `offset`: 8 decimal digits, the byte offset of the line in the file (checked: a file edited or
///   corrupted anywhere before a line breaks it);
/// - `lex_filenum`: 2 decimal digits, 0..44, in the range of the synset's part of speech;
/// - `ss_type`: one of n v a s r; all synsets of a file share one part of speech ('a' and 's' go
///   together);
/// - `w_cnt`: 2 hex digits >= 1, then that many (word, `lex_id` = 1 hex digit) pairs;
/// - `p_cnt`: 3 decimal digits, then that many pointers of 4 fields: a pointer symbol of wninput(5WN)
///   (`@`, `~`, `+`, `#m`, `;c`, ...), the target's 8-digit offset, its part of speech (n v a s r) and
///   `source/target` (4 hex digits, the source word number at most `w_cnt`);
/// - verbs only, optional: `f_cnt` (2 decimal digits) then `f_cnt` frames `+ f_num w_num` (2 decimal
///   digits, 2 hex digits at most `w_cnt`);
/// - a field `|`, then the gloss to the end of the line.
///
/// A count that announces more fields than the line holds before `|`, or fields left over, is an error.
/// Pointers and frames are validated but not returned. Throws IoError "read_wordnet_data: '<path>' line
/// <n>: <what is wrong>".
std::vector<Synset> read_wordnet_data(const std::string& path);

/// Reads `data.noun`, `data.verb`, `data.adj` and `data.adv` from `folder` (e.g. "/usr/share/wordnet"),
/// in that order, into one list (WordNet 3.0: 82,115 + 13,767 + 18,156 + 3,621 = 117,659 synsets).
/// Throws IoError when the folder or one of the files is missing, or a file holds another part of
/// speech than its name says.
std::vector<Synset> read_wordnet(const std::string& folder);

/// A split of synset indices: both lists sorted, disjoint, together 0..n-1.
struct SynsetSplit {
  /// @{
  /// The synsets of each part, as indices into the list split.
  std::vector<Index> train, test;
  /// @}
};

/// Splits 0..n-1 at random: round(test_fraction * n) indices go to `test`, the rest to `train`, chosen
/// by a Fisher-Yates shuffle from `Rng::stream(seed, 0x574E)`. The same (n, test_fraction, seed) give
/// the same split on every machine. Requires n >= 0 and 0 <= test_fraction <= 1 (ValueError).
SynsetSplit split_synsets(Index n, double test_fraction, std::uint64_t seed);

/// A small run's split: the first `train` training synsets of `split` and the first max(train / 4, 8) of its
/// test synsets (all of a part when it has fewer). Requires train >= 1 (ValueError).
SynsetSplit first_synsets(const SynsetSplit& split, Index train);

/// The lemmas of a synset as one text: "dog, domestic dog, Canis familiaris".
std::string lemma_text(const Synset& s);

/// Which positive pairs `wordnet_pairs` makes.
struct WordnetPairKinds {
  bool example = true;   ///< each example sentence -> its synset's gloss
  bool lemma = true;     ///< the lemmas (`lemma_text`) -> the gloss
  bool hypernym = true;  ///< a gloss -> the gloss of each of its hypernyms that is among the synsets used
};

/// The training text of a set of synsets: the sentences (each gloss, then its examples, synset by synset)
/// and the positive pairs among them (anchors[i] -> positives[i]), in synset order, each synset's pairs in
/// the order of `WordnetPairKinds`. Only `use` (indices into `synsets`, e.g. a split's training part) is
/// read: a hypernym outside it gives no pair, so no test text reaches training.
struct WordnetText {
  /// @{
  /// The sentences, and the pairs as two aligned lists (anchors[i] -> positives[i]).
  std::vector<std::string> sentences, anchors, positives;
  /// @}
};
/// The training text of the synsets `use` of `synsets`, with the pairs of `kinds` (see `WordnetText`).
WordnetText wordnet_text(const std::vector<Synset>& synsets, std::span<const Index> use, const WordnetPairKinds& kinds = {});

namespace detail {

/// A WordNet gloss split into its definition and its examples.
struct WordnetGlossParts {
  std::string definition;
  std::vector<std::string> examples;
};

/// Splits the text after `| ` into definition and examples. The gloss is a ';'-separated list of
/// definitions followed by double-quoted examples (`def; def; "example"; "example"`); WordNet 3.0 has
/// a few hundred glosses that bend this form, handled as follows:
/// - a segment that starts with '"' holds examples: each quoted part is one (a quote closes at a '"'
///   not followed by a letter or digit, or, when the closing quote is missing, before a `; "`), the
///   text around them (attributions like `--Shakespeare`, "or", ",") is dropped, and ';' inside
///   quotes does not end the example;
/// - a segment whose only quote closes it (`; drop names"`) is an example whose opening quote is
///   missing, or, as the first segment, a definition with a stray quote (dropped);
/// - a definition ending in `: "example"` or `, "example"` gives the definition before the ':' or ','
///   and the example;
/// - every other segment is definition text, quotes inside kept (`as in "on the job"`).
/// Definition segments are trimmed and joined with "; "; empty examples are dropped.
WordnetGlossParts split_wordnet_gloss(std::string_view gloss);

/// Parses the content of a data file (see `read_wordnet_data`); errors start with "who: 'path' line n:".
/// `category` is the part of speech the file must hold ('n', 'v', 'a' for a and s, 'r'), or 0 to take
/// it from the first synset.
std::vector<Synset> parse_wordnet_data(std::string_view text, const std::string& path, const char* who, char category);

}  // namespace detail

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/wordnet-inl.hpp"
#endif
