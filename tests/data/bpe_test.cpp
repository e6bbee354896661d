#include "simile/data/bpe.hpp"

#include <filesystem>

#include "simile/data.hpp"
#include "simile/data/wordnet.hpp"
#include "support/testing.hpp"
#include "tokenizer_checks.hpp"

namespace simile {
namespace {
using testing::throws_with;

/// Sennrich et al.'s example: low x5, lower x2, newest x6, widest x3.
const std::vector<std::string> corpus = {"low low low low LOW", "lower, lower",
                                         "newest newest newest newest newest newest", "widest widest widest"};

std::vector<std::string> merge_strings(const BpeTokenizer& t) {
  std::vector<std::string> out;
  for (auto [a, b] : t.merges()) out.push_back(t.token(a) + "+" + t.token(b));
  return out;
}

TEST(Bpe, MergesByHand) {
  BpeTokenizer t = BpeTokenizer::train(corpus, 100);
  // Alphabet by count: e 17, w 16, s 9, t 9, l 7, o 7, n 6, d 3, i 3, r 2 (ties in byte order).
  EXPECT_EQ(t.alphabet_size(), 10);
  EXPECT_EQ(t.token(0), "<pad>");
  EXPECT_EQ(t.token(1), "<unk>");
  EXPECT_EQ(t.token(2), "<mask>");
  EXPECT_EQ(t.token(3), "<cls>");
  EXPECT_EQ(t.token(4), "e");
  EXPECT_EQ(t.token(5), "e</w>");
  EXPECT_EQ(t.token(6), "w");
  EXPECT_EQ(t.token(8), "s");
  EXPECT_EQ(t.token(10), "t");
  EXPECT_EQ(t.token(16), "n");
  EXPECT_EQ(t.token(22), "r");
  EXPECT_EQ(t.token(23), "r</w>");
  // Pair counts at the start: e+s 9 and s+t</w> 9 tie, e < s; then es+t</w> 9, l+o 7; three pairs of 6
  // (e+w, n+e, w+est</w>) go in the order of their first token; and so on down to the pairs of 2.
  EXPECT_EQ(merge_strings(t),
            (std::vector<std::string>{"e+s", "es+t</w>", "l+o", "e+w", "ew+est</w>", "n+ewest</w>", "lo+w</w>",
                                      "d+est</w>", "i+dest</w>", "w+idest</w>", "e+r</w>", "lo+w", "low+er</w>"}));
  EXPECT_EQ(t.size(), 4 + 20 + 13);
  EXPECT_EQ(t.token(24), "es");
  EXPECT_EQ(t.token(36), "lower</w>");
  EXPECT_EQ(t.id("newest</w>"), 29);
  EXPECT_EQ(t.id("nothing"), BpeTokenizer::unknown);

  // Encoding applies the merges in learned order.
  EXPECT_EQ(t.encode("lowest"), (std::vector<Token>{t.id("low"), t.id("est</w>")}));
  EXPECT_EQ(t.encode("Newer!"), (std::vector<Token>{t.id("n"), t.id("ew"), t.id("er</w>")}));
  EXPECT_EQ(t.encode("low lower widest"), (std::vector<Token>{30, 36, 33}));
  EXPECT_TRUE(t.encode(" ,;").empty());
  // Unknown characters become <unk>.
  EXPECT_EQ(t.encode("lowz"), (std::vector<Token>{t.id("low"), BpeTokenizer::unknown}));
  EXPECT_EQ(t.decode(t.encode("lowz")), "low<unk>");

  // The vocabulary size and the minimum frequency stop training.
  EXPECT_EQ(BpeTokenizer::train(corpus, 29).merges().size(), 5u);
  EXPECT_EQ(BpeTokenizer::train(corpus, 29).size(), 29);
  EXPECT_EQ(BpeTokenizer::train(corpus, 100, 3).merges().size(), 10u);  // the pairs of 2 are left out
  EXPECT_EQ(BpeTokenizer::train(corpus, 100, 7).merges().size(), 3u);
  // Room for three characters only: e, w, s.
  BpeTokenizer tiny = BpeTokenizer::train(corpus, 10);
  EXPECT_EQ(tiny.alphabet_size(), 3);
  EXPECT_TRUE(tiny.merges().empty());
  EXPECT_EQ(tiny.encode("low"), (std::vector<Token>{BpeTokenizer::unknown, BpeTokenizer::unknown, tiny.id("w</w>")}));
  EXPECT_EQ(BpeTokenizer::train(corpus, 4).size(), 4);
  EXPECT_EQ(BpeTokenizer().size(), 4);
  EXPECT_EQ(BpeTokenizer().encode("abc"), (std::vector<Token>{1, 1, 1}));
}

TEST(Bpe, RoundTripAndDecode) {
  std::vector<std::string> texts = corpus;
  texts.push_back("Café crème, naïve résumé: the 2nd café!");
  BpeTokenizer t = BpeTokenizer::train(texts, 200, 1);
  EXPECT_NE(t.id("é</w>"), BpeTokenizer::unknown);  // a two-byte character is one symbol
  for (const std::string& s : texts) {
    std::string joined;
    for (const std::string& w : tokenize(s)) joined += (joined.empty() ? "" : " ") + w;
    EXPECT_EQ(t.decode(t.encode(s)), joined);
  }
  std::vector<Token> ids = t.encode("lowest");
  std::vector<Token> with_specials{BpeTokenizer::cls};
  with_specials.insert(with_specials.end(), ids.begin(), ids.end());
  with_specials.push_back(BpeTokenizer::pad);
  with_specials.push_back(BpeTokenizer::mask);
  EXPECT_EQ(t.decode(with_specials), "<cls> lowest <mask>");
  EXPECT_EQ(t.decode(std::vector<Token>{}), "");
  EXPECT_TRUE(throws_with<ValueError>(
      [&] {
        t.decode(std::vector<Token>{4, Token(t.size())});
      },
      {"BpeTokenizer::decode", "at position 1", "out of range"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { t.decode(std::vector<Token>{-1}); }, {"token -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { t.token(-2); }, {"BpeTokenizer::token", "id -2"}));
  // Invalid UTF-8 still splits into characters and round-trips.
  BpeTokenizer junk = BpeTokenizer::train({"a\xff\xc3 b\x80\x80z", "a\xff\xc3"}, 100, 1);
  EXPECT_EQ(junk.decode(junk.encode("a\xff\xc3 b\x80\x80z")), "a\xff\xc3 b\x80\x80z");
}

TEST(Bpe, DeterministicAndOrderFree) {
  std::vector<std::string> texts;
  Rng rng(11);
  const std::string letters = "abcdefghij";
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int w = 0, n = 1 + int(rng.below(8)); w < n; ++w) {
      for (int c = 0, m = 1 + int(rng.below(7)); c < m; ++c) s.push_back(letters[rng.below(4 + rng.below(6))]);
      s.push_back(' ');
    }
    texts.push_back(s);
  }
  BpeTokenizer a = BpeTokenizer::train(texts, 120);
  BpeTokenizer b = BpeTokenizer::train(texts, 120);
  std::vector<std::string> reversed(texts.rbegin(), texts.rend());
  BpeTokenizer c = BpeTokenizer::train(reversed, 120);
  EXPECT_EQ(a.serialize(), b.serialize());
  EXPECT_EQ(a.serialize(), c.serialize());
  EXPECT_EQ(a.size(), 120);
  // Every training text round-trips.
  for (const std::string& s : texts) {
    std::string joined;
    for (const std::string& w : tokenize(s)) joined += (joined.empty() ? "" : " ") + w;
    ASSERT_EQ(a.decode(a.encode(s)), joined);
  }
  // Trained to exhaustion (min_frequency 1, no size limit), every training word is one token: encode
  // replays the merges exactly as training applied them.
  // Words of more than 48 characters take the heap path of encode: they are in the test too.
  std::vector<std::string> with_long = texts;
  for (int len : {49, 120, 400}) {
    std::string w;
    for (int c = 0; c < len; ++c) w.push_back(letters[rng.below(3)]);
    with_long.push_back(w + " " + w.substr(0, std::size_t(len) / 2));
  }
  BpeTokenizer all = BpeTokenizer::train(with_long, 1'000'000, 1);
  for (const std::string& s : with_long)
    for (const std::string& w : tokenize(s)) ASSERT_EQ(all.encode(w), std::vector<Token>{all.id(w + "</w>")}) << w;
  // Errors.
  EXPECT_TRUE(throws_with<ValueError>([&] { BpeTokenizer::train(texts, 3); }, {"BpeTokenizer::train", "vocab_size 3"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { BpeTokenizer::train(texts, 50, 0); }, {"min_frequency 0"}));
}

TEST(Bpe, SerializeRoundTrip) {
  BpeTokenizer t = BpeTokenizer::train(corpus, 100);
  std::string s = t.serialize();
  EXPECT_TRUE(s.starts_with("simile-bpe 1\nalphabet 10\ne\nw\ns\n"));
  EXPECT_NE(s.find("\nmerges 13\ne s\nes t</w>\n"), std::string::npos);
  EXPECT_TRUE(s.ends_with("low er</w>\nend\n"));
  BpeTokenizer u = BpeTokenizer::deserialize(s);
  EXPECT_EQ(u.serialize(), s);
  EXPECT_EQ(u.size(), t.size());
  for (Token i = 0; i < t.size(); ++i) EXPECT_EQ(u.token(i), t.token(i));
  for (const std::string& text : corpus) EXPECT_EQ(u.encode(text), t.encode(text));
  EXPECT_EQ(BpeTokenizer::deserialize(BpeTokenizer().serialize()).size(), 4);
}

TEST(Bpe, CorruptSerializationThrows) {
  const std::string good = BpeTokenizer::train(corpus, 100).serialize();
  auto bad = [](const std::string& text, std::vector<std::string> parts) {
    parts.insert(parts.begin(), "BpeTokenizer::deserialize");
    return throws_with<ValueError>([&] { BpeTokenizer::deserialize(text); }, parts);
  };
  EXPECT_TRUE(bad("", {"line 1", "truncated"}));
  EXPECT_TRUE(bad("simile-bpe 2\nalphabet 0\nmerges 0\nend\n", {"line 1", "version 1"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet\n", {"line 2", "expected 'alphabet <count>'"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet -1\n", {"line 2", "'-1' is not an integer >= 0"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 99999999999999999999\n", {"line 2", "not an integer"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 3\na\nb\n", {"line 5", "ends before an alphabet character"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 1\nE\nmerges 0\nend\n", {"line 3", "not one character"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 1\nab\nmerges 0\nend\n", {"line 3", "not one character"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 1\n\nmerges 0\nend\n", {"line 3", "not one character"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 1\n \nmerges 0\nend\n", {"line 3", "not one character"}));
  EXPECT_TRUE(bad("simile-bpe 1\nalphabet 2\na\na\nmerges 0\nend\n", {"line 4", "'a' appears twice"}));
  const std::string ab = "simile-bpe 1\nalphabet 2\na\nb\n";
  EXPECT_TRUE(bad(ab + "merges 2\na b\n", {"line 7", "ends before a merge"}));
  EXPECT_TRUE(bad(ab + "merges 1\na c\nend\n", {"line 6", "merge 0 uses a token that is neither"}));
  EXPECT_TRUE(bad(ab + "merges 1\nab b\nend\n", {"line 6", "neither in the alphabet nor made by an earlier merge"}));
  EXPECT_TRUE(bad(ab + "merges 1\n<unk> b\nend\n", {"line 6", "reserved token"}));
  EXPECT_TRUE(bad(ab + "merges 1\na</w> b\nend\n", {"line 6", "left token 'a</w>' ends a word"}));
  EXPECT_TRUE(bad(ab + "merges 1\na  b\nend\n", {"line 6", "two tokens separated by one space"}));
  EXPECT_TRUE(bad(ab + "merges 1\nab\nend\n", {"line 6", "two tokens"}));
  EXPECT_TRUE(bad(ab + "merges 2\na b\na b\nend\n", {"line 7", "merge 1 appears twice"}));
  EXPECT_TRUE(bad(ab + "merges 1\na b\nab b</w>\nend\n", {"line 7", "expected 'end'"}));
  EXPECT_TRUE(bad(ab + "merges 1\na b\nend\nmore", {"line 7", "4 bytes after the end marker"}));
  EXPECT_TRUE(bad(ab + "merges 1\na b\nend", {"line 7", "no newline"}));
  EXPECT_TRUE(bad(ab + "merges 0\r\nend\n", {"line 5", "count"}));
  EXPECT_EQ(BpeTokenizer::deserialize(ab + "merges 2\na b\nab b</w>\nend\n").size(), 4 + 4 + 2);

  // Random corruptions: a valid tokenizer or a ValueError, nothing else.
  const std::uint64_t seed = 77;
  Rng rng(seed);
  int rejected = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::string t = good;
    for (int e = 0, n = 1 + int(rng.below(3)); e < n && !t.empty(); ++e) {
      std::size_t at = rng.below(t.size());
      switch (rng.below(4)) {
        case 0: t.resize(at); break;
        case 1: t[at] = static_cast<char>(rng.below(256)); break;
        case 2: t.erase(at, 1 + rng.below(5)); break;
        default: t.insert(at, t.substr(rng.below(t.size()), rng.below(20))); break;
      }
    }
    try {
      BpeTokenizer u = BpeTokenizer::deserialize(t);
      u.encode("lower newest widest zebra");
    } catch (const ValueError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << " trial " << trial << ": " << e.what();
    }
  }
  EXPECT_GT(rejected, 400) << "seed " << seed;
}

TEST(Bpe, TextDataset) {
  BpeTokenizer t = BpeTokenizer::train(corpus, 100);
  std::vector<std::string> texts;
  for (int i = 0; i < 1000; ++i)
    texts.push_back(corpus[std::size_t(i) % corpus.size()] + " lowest" + std::string(i % 3, 'z'));
  testing::check_make_text_dataset(texts, t);
}

TEST(Bpe, WordnetGlosses) {
  const std::string folder = "/usr/share/wordnet";
  if (!std::filesystem::exists(folder + "/data.noun")) GTEST_SKIP() << "WordNet is not installed in " << folder;
  std::vector<std::string> glosses;
  for (const Synset& s : read_wordnet(folder)) glosses.push_back(s.gloss);
  BpeTokenizer t = BpeTokenizer::train(glosses, 8000);
  EXPECT_EQ(t.size(), 8000);
  EXPECT_EQ(t.token(t.merges()[0].first) + t.token(t.merges()[0].second), "in");
  TextDataset d = make_text_dataset(glosses, t);
  Index tokens = 0;
  for (const auto& s : d.sequences()) tokens += static_cast<Index>(s.size());
  EXPECT_LT(tokens, 2'000'000);  // ~1.2 M words in ~1.5 M subword tokens
  EXPECT_EQ(t.decode(t.encode("an act that has disastrous consequences")), "an act that has disastrous consequences");
  EXPECT_EQ(BpeTokenizer::deserialize(t.serialize()).serialize(), t.serialize());
}

}  // namespace
}  // namespace simile
