#include "simile/data/hashed_ngrams.hpp"

#include <set>

#include "simile/core/parallel.hpp"
#include "simile/data/bpe.hpp"
#include "simile/data/text.hpp"
#include "simile/data/tokenizer.hpp"
#include "support/testing.hpp"
#include "tokenizer_checks.hpp"

namespace simile {
namespace {
using testing::throws_with;

static_assert(Tokenizer<HashedNgramTokenizer>);
static_assert(Tokenizer<BpeTokenizer>);
static_assert(Tokenizer<Vocabulary>);

TEST(HashedNgrams, FnvTestVectors) {
  // The FNV-1a 32-bit test vectors of Fowler, Noll and Vo's reference (fnv_test.c).
  EXPECT_EQ(fnv1a_32(""), 0x811c9dc5u);
  EXPECT_EQ(fnv1a_32("a"), 0xe40c292cu);
  EXPECT_EQ(fnv1a_32("foobar"), 0xbf9cf968u);
  // Bytes >= 0x80 hash as unsigned bytes (fastText's signed-char quirk is not copied): "é" is C3 A9.
  std::uint32_t h = 2166136261u;
  for (unsigned b : {0xC3u, 0xA9u}) h = (h ^ b) * 16777619u;
  EXPECT_EQ(fnv1a_32("\xC3\xA9"), h);
}

TEST(HashedNgrams, WhereByHand) {
  // fastText's example: "where", n = 3, is <wh, whe, her, ere, re> and the word itself.
  HashedNgramTokenizer t({.buckets = 1000, .min_n = 3, .max_n = 3});
  auto id = [](std::string_view s) { return Token(4 + fnv1a_32(s) % 1000); };
  EXPECT_EQ(t.encode("Where?"),
            (std::vector<Token>{id("<where>"), id("<wh"), id("whe"), id("her"), id("ere"), id("re>")}));
  EXPECT_EQ(t.id("her"), id("her"));
  EXPECT_EQ(t.size(), 1004);
  // n from 3 to 7, by n then by position: 1 + 5 + 4 + 3 + 2 tokens; "<where>" (n = 7) never as an n-gram.
  HashedNgramTokenizer wide({.buckets = 1000, .min_n = 3, .max_n = 7});
  std::vector<Token> want{id("<where>"), id("<wh"),   id("whe"),   id("her"),    id("ere"),
                          id("re>"),     id("<whe"),  id("wher"),  id("here"),   id("ere>"),
                          id("<wher"),   id("where"), id("here>"), id("<where"), id("where>")};
  EXPECT_EQ(wide.encode("where"), want);
}

TEST(HashedNgrams, WordsBigramsAndCharacters) {
  auto id = [](std::string_view s) { return Token(4 + fnv1a_32(s) % 97); };
  // Word bigrams only, after each word from the second on.
  HashedNgramTokenizer bigrams({.buckets = 97, .max_n = 0, .words = false, .word_bigrams = true});
  EXPECT_EQ(bigrams.encode("a b, C"), (std::vector<Token>{id("a b"), id("b c")}));
  HashedNgramTokenizer all({.buckets = 97, .min_n = 2, .max_n = 2, .word_bigrams = true});
  EXPECT_EQ(all.encode("ab c"),
            (std::vector<Token>{id("<ab>"), id("<a"), id("ab"), id("b>"), id("<c>"), id("<c"), id("c>"), id("ab c")}));
  // A one-letter word under n = 3: "<a>" is the whole word, so only the word's own token.
  HashedNgramTokenizer three({.buckets = 97});
  EXPECT_EQ(three.encode("a"), std::vector<Token>{id("<a>")});
  // UTF-8 characters count whole: "<café>" is 6 characters, 4 trigrams, none splitting "é".
  EXPECT_EQ(three.encode("café"), (std::vector<Token>{id("<café>"), id("<ca"), id("caf"), id("afé"), id("fé>"),
                                                      id("<caf"), id("café"), id("afé>"), id("<café"), id("café>")}));
  EXPECT_TRUE(three.encode("").empty());
  EXPECT_TRUE(three.encode(" ... !!! ").empty());
}

TEST(HashedNgrams, IdsStayInTheirRangeAndAreStable) {
  HashedNgramTokenizer t({.buckets = 13, .min_n = 1, .max_n = 4, .word_bigrams = true});
  std::string text;
  for (int i = 0; i < 300; ++i) text += std::string(1, char('a' + i % 26)) + std::to_string(i * 7919) + " ";
  text += "\xff\xfe \xe2\x82 na\xc3\xafve";  // invalid UTF-8 splits into single bytes, never fails
  const std::vector<Token> ids = t.encode(text);
  std::set<Token> seen(ids.begin(), ids.end());
  EXPECT_EQ(*seen.begin(), HashedNgramTokenizer::reserved);
  EXPECT_EQ(*seen.rbegin(), HashedNgramTokenizer::reserved + 12);
  EXPECT_EQ(seen.size(), 13u);  // so many n-grams fill every bucket
  EXPECT_EQ(HashedNgramTokenizer({.buckets = 13, .min_n = 1, .max_n = 4, .word_bigrams = true}).encode(text), ids);
}

TEST(HashedNgrams, BadOptionsNameTheValue) {
  EXPECT_TRUE(
      throws_with<ValueError>([] { HashedNgramTokenizer({.buckets = 0}); }, {"HashedNgramTokenizer", "buckets 0"}));
  EXPECT_TRUE(
      throws_with<ValueError>([] { HashedNgramTokenizer({.buckets = Index{1} << 31}); }, {"buckets 2147483648"}));
  EXPECT_TRUE(throws_with<ValueError>([] { HashedNgramTokenizer({.min_n = 0}); }, {"min_n 0, max_n 5"}));
  EXPECT_TRUE(throws_with<ValueError>([] { HashedNgramTokenizer({.min_n = 4, .max_n = 3}); }, {"min_n 4, max_n 3"}));
  EXPECT_TRUE(throws_with<ValueError>([] { HashedNgramTokenizer({.min_n = 3, .max_n = 33}); }, {"max_n 33"}));
  EXPECT_TRUE(
      throws_with<ValueError>([] { HashedNgramTokenizer({.max_n = 0, .words = false}); }, {"no tokens at all"}));
  EXPECT_NO_THROW(HashedNgramTokenizer({.min_n = 0, .max_n = 0}));  // words only: min_n is not used
}

TEST(HashedNgrams, MakeTextDatasetWithAnyTokenizer) {
  std::vector<std::string> texts;
  for (int i = 0; i < 700; ++i) texts.push_back("sample " + std::to_string(i) + std::string(std::size_t(i % 5), 'x'));
  const HashedNgramTokenizer t({.buckets = 501});
  const Vocabulary words = Vocabulary::build(texts, {.max_size = 50});
  testing::check_make_text_dataset(texts, t);
  testing::check_make_text_dataset(texts, words);
  TextDataset by_words = make_text_dataset(texts, words, {}, 2);  // words beyond the 50 most frequent: unknown
  EXPECT_EQ(std::vector<Token>(by_words.get(699).tokens.begin(), by_words.get(699).tokens.end()),
            (std::vector<Token>{words.id("sample"), Vocabulary::unknown}));
}

}  // namespace
}  // namespace simile
