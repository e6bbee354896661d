#include "simile/data/text.hpp"

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::TempDir;
using testing::throws_with;

TEST(Text, TokenizerLowercasesWords) {
  EXPECT_EQ(tokenize("Hello, World! It's 2024."),
            (std::vector<std::string>{"hello", "world", "it", "s", "2024"}));
  EXPECT_EQ(tokenize("café au lait"), (std::vector<std::string>{"café", "au", "lait"}));
  EXPECT_TRUE(tokenize(" ,. ").empty());
}

TEST(Text, LabeledLinesAndVocabulary) {
  TempDir dir;
  testing::write_text(dir.file("t.tsv"), "1\tThe cat sat\n\n0\tthe dog sat down\r\n2\tA cat!\n");
  TextLines t = read_text_lines(dir.file("t.tsv"), {.labeled = true});
  ASSERT_EQ(t.lines.size(), 3u);
  EXPECT_EQ(t.labels, (std::vector<std::int64_t>{1, 0, 2}));
  EXPECT_EQ(t.lines[1], "the dog sat down");
  Vocabulary v = Vocabulary::build(t.lines, {.min_count = 2});
  // the (2), cat (2), sat (2): counts tie, so alphabetical after the three reserved ids.
  EXPECT_EQ(v.size(), 6);
  EXPECT_EQ(v.word(3), "cat");
  EXPECT_EQ(v.word(4), "sat");
  EXPECT_EQ(v.word(5), "the");
  EXPECT_EQ(v.encode("The DOG sat"), (std::vector<Token>{5, Vocabulary::unknown, 4}));
  TextDataset d = make_text_dataset(t, v);
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.get(2).label, 2);
  EXPECT_EQ(d.get(2).tokens.size(), 2u);  // "a" unknown, "cat"
  Vocabulary small = Vocabulary::build(t.lines, {.max_size = 4});
  EXPECT_EQ(small.size(), 4);
  EXPECT_TRUE(throws_with<ValueError>([&] { v.word(6); }, {"Vocabulary::word", "id 6"}));
  TextLines raw = read_text_lines(dir.file("t.tsv"));
  EXPECT_EQ(raw.lines.size(), 3u);
  EXPECT_TRUE(raw.labels.empty());
}

TEST(Text, BadLabelsNameTheLine) {
  TempDir dir;
  testing::write_text(dir.file("t.tsv"), "1\tok\nx\tbad\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_text_lines(dir.file("t.tsv"), {.labeled = true}); },
                                   {"read_text_lines", dir.file("t.tsv"), "line 2", "label 'x'"}));
  testing::write_text(dir.file("u.tsv"), "1\tok\nno tab here\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_text_lines(dir.file("u.tsv"), {.labeled = true}); }, {"line 2", "delimiter"}));
}

}  // namespace
}  // namespace simile
