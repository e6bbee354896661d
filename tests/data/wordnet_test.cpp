#include "simile/data/wordnet.hpp"

#include <filesystem>
#include <set>

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::TempDir;
using testing::throws_with;

constexpr const char* license =
    "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    "  2 Princeton University under the following license.  \n";

/// A data file: the license lines, then one line per body ("lex_filenum ss_type ... | gloss"), each
/// prefixed with its 8-digit byte offset as WordNet does.
std::string data_file(const std::vector<std::string>& bodies) {
  std::string text = license;
  for (const std::string& b : bodies) {
    char offset[16];
    std::snprintf(offset, sizeof offset, "%08zu", text.size());
    text += std::string(offset) + " " + b + "  \n";
  }
  return text;
}

const std::vector<std::string> noun_bodies = {
    "03 n 01 entity 0 002 ~ 00001930 n 0000 ~ 00002137 n 0000 | that which is perceived or known or inferred "
    "to have its own distinct existence (living or nonliving)",
    "05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 002 @ 02083346 n 0000 #m 02083863 n 0000 | a member of the "
    "genus Canis; occurs in many breeds; \"the dog barked all night\"",
    "18 n 02 smith 1 metalworker 0 000 | someone who works metal; \"the smith hammered\"; \"a smith's forge\"",
};

TEST(Wordnet, Lexnames) {
  const auto& names = wordnet_lexnames();
  EXPECT_EQ(names[0], "adj.all");
  EXPECT_EQ(names[1], "adj.pert");
  EXPECT_EQ(names[2], "adv.all");
  EXPECT_EQ(names[3], "noun.Tops");
  EXPECT_EQ(names[5], "noun.animal");
  EXPECT_EQ(names[10], "noun.communication");
  EXPECT_EQ(names[18], "noun.person");
  EXPECT_EQ(names[28], "noun.time");
  EXPECT_EQ(names[29], "verb.body");
  EXPECT_EQ(names[32], "verb.communication");
  EXPECT_EQ(names[43], "verb.weather");
  EXPECT_EQ(names[44], "adj.ppl");
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string_view prefix = i <= 1 || i == 44 ? "adj." : i == 2 ? "adv." : i <= 28 ? "noun." : "verb.";
    EXPECT_TRUE(names[i].starts_with(prefix)) << i << " " << names[i];
  }
  EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()).size(), 45u);
}

TEST(Wordnet, ParsesNounsByHand) {
  TempDir dir;
  std::string text = data_file(noun_bodies);
  testing::write_text(dir.file("data.noun"), text);
  std::vector<Synset> s = read_wordnet_data(dir.file("data.noun"));
  ASSERT_EQ(s.size(), 3u);
  const std::size_t first = std::string(license).size();
  char id[16];
  std::snprintf(id, sizeof id, "n%08zu", first);
  EXPECT_EQ(s[0].id, id);
  EXPECT_EQ(s[0].pos, 'n');
  EXPECT_EQ(s[0].lex_file, 3);
  EXPECT_EQ(s[0].lemmas, (std::vector<std::string>{"entity"}));
  EXPECT_EQ(s[0].gloss,
            "that which is perceived or known or inferred to have its own distinct existence (living or nonliving)");
  EXPECT_TRUE(s[0].examples.empty());
  EXPECT_EQ(s[1].lex_file, 5);
  EXPECT_EQ(wordnet_lexnames()[std::size_t(s[1].lex_file)], "noun.animal");
  EXPECT_EQ(s[1].lemmas, (std::vector<std::string>{"dog", "domestic dog", "Canis familiaris"}));
  EXPECT_EQ(s[1].gloss, "a member of the genus Canis; occurs in many breeds");
  EXPECT_EQ(s[1].examples, (std::vector<std::string>{"the dog barked all night"}));
  EXPECT_EQ(s[1].hypernyms, (std::vector<std::string>{"n02083346"}));  // '@' only, not '#m'
  EXPECT_TRUE(s[0].hypernyms.empty());
  EXPECT_EQ(s[2].lemmas, (std::vector<std::string>{"smith", "metalworker"}));
  EXPECT_EQ(s[2].examples, (std::vector<std::string>{"the smith hammered", "a smith's forge"}));
  // The id's offset is where the line starts.
  EXPECT_EQ(text.substr(std::stoul(s[2].id.substr(1)), 8), s[2].id.substr(1));

  // A gzip file parses alike.
  testing::write_gzip(dir.file("data.noun.gz"), testing::Bytes(text.begin(), text.end()));
  EXPECT_EQ(read_wordnet_data(dir.file("data.noun.gz")).size(), 3u);
}

TEST(Wordnet, VerbsAdjectivesAdverbs) {
  TempDir dir;
  testing::write_text(dir.file("data.verb"),
                      data_file({"29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 002 * 00005041 v 0000 + "
                                 "00831191 n 0303 02 + 02 00 + 08 01 | draw air into, and expel out of, the lungs; "
                                 "\"I can breathe better when the air is clean\"; \"The patient is respiring\"",
                                 "32 v 01 drop 0 001 @ 00940402 v 0000 01 + 08 00 | utter with seeming casualness; "
                                 "\"drop a hint\"; drop names\"",
                                 "29 v 01 respire 2 000 | breathe easily again"}));
  std::vector<Synset> v = read_wordnet_data(dir.file("data.verb"));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].pos, 'v');
  EXPECT_EQ(v[0].lex_file, 29);
  EXPECT_EQ(v[0].lemmas, (std::vector<std::string>{"breathe", "take a breath", "respire", "suspire"}));
  EXPECT_EQ(v[0].gloss, "draw air into, and expel out of, the lungs");
  EXPECT_EQ(v[0].examples,
            (std::vector<std::string>{"I can breathe better when the air is clean", "The patient is respiring"}));
  // A missing opening quote (as in WordNet's own v00941464).
  EXPECT_EQ(v[1].examples, (std::vector<std::string>{"drop a hint", "drop names"}));
  EXPECT_TRUE(v[2].examples.empty());  // frames are optional

  testing::write_text(
      dir.file("data.adj"),
      data_file({"00 a 01 able 0 001 ! 00002098 a 0101 | (usually followed by `to') having the "
                 "necessary means or skill to do something; \"able to swim\"",
                 "00 s 02 abounding 0 galore(ip) 0 001 & 00013887 a 0000 | existing in abundance; "
                 "\"abounding confidence\"; \"whiskey galore\"",
                 "44 a 02 handy 0 ready_to_hand(p) 0 000 | easy to reach", "01 a 01 eldest(a) 0 000 | oldest"}));
  std::vector<Synset> a = read_wordnet_data(dir.file("data.adj"));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0].gloss, "(usually followed by `to') having the necessary means or skill to do something");
  EXPECT_EQ(a[1].pos, 's');
  EXPECT_EQ(a[1].id[0], 's');
  EXPECT_EQ(a[1].lemmas, (std::vector<std::string>{"abounding", "galore"}));
  EXPECT_EQ(a[1].examples, (std::vector<std::string>{"abounding confidence", "whiskey galore"}));
  EXPECT_EQ(a[2].lemmas, (std::vector<std::string>{"handy", "ready to hand"}));
  EXPECT_EQ(a[2].lex_file, 44);
  EXPECT_EQ(a[3].lemmas, (std::vector<std::string>{"eldest"}));

  testing::write_text(dir.file("data.adv"), data_file({"02 r 01 barely 0 000 | only a very short time before; "
                                                       "\"they could barely hear\""}));
  std::vector<Synset> r = read_wordnet_data(dir.file("data.adv"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].pos, 'r');
  EXPECT_EQ(r[0].gloss, "only a very short time before");
}

TEST(Wordnet, GlossSplitting) {
  auto split = [](std::string_view g) { return detail::split_wordnet_gloss(g); };
  auto p = split(" a; b ;  c  ");
  EXPECT_EQ(p.definition, "a; b; c");
  EXPECT_TRUE(p.examples.empty());
  p = split("def one; def two; \"ex one\"; \"ex two; with a semicolon\"  ");
  EXPECT_EQ(p.definition, "def one; def two");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"ex one", "ex two; with a semicolon"}));
  // Attributions and separators between examples are dropped; an inner "I"m" does not close the quote.
  p = split("revenge; \"Vengeance is mine; I will repay\"--Romans 12:19; \"a\" or \"b\"; \"I\"m here\"");
  EXPECT_EQ(p.definition, "revenge");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"Vengeance is mine; I will repay", "a", "b", "I\"m here"}));
  // A missing closing quote ends at "; \"" or at the end.
  p = split("toed; \"long-toed; \"five-toed\"");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"long-toed", "five-toed"}));
  p = split("assimilating; \"an assimilative substance  ");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"an assimilative substance"}));
  // Quoted phrases inside a definition stay; ': "..."' and ', "..."' introduce examples.
  p = split("progress (especially in the phrase \"make strides\"); \"they made strides\"");
  EXPECT_EQ(p.definition, "progress (especially in the phrase \"make strides\")");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"they made strides"}));
  p = split("connect to a vehicle: \"hitch the trailer to the car\"");
  EXPECT_EQ(p.definition, "connect to a vehicle");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"hitch the trailer to the car"}));
  p = split("render verbally, \"recite a poem\"; \"retell a story\"");
  EXPECT_EQ(p.definition, "render verbally");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"recite a poem", "retell a story"}));
  p = split("a local branch\"");
  EXPECT_EQ(p.definition, "a local branch");
  EXPECT_TRUE(p.examples.empty());
  p = split("\"only an example\"");
  EXPECT_EQ(p.definition, "");
  EXPECT_EQ(p.examples, (std::vector<std::string>{"only an example"}));
  p = split("");
  EXPECT_EQ(p.definition, "");
  EXPECT_TRUE(p.examples.empty());
  p = split("\"\"; ;\"");
  EXPECT_TRUE(p.examples.empty());
}

TEST(Wordnet, RealDatabase) {
  const std::string folder = "/usr/share/wordnet";
  if (!std::filesystem::exists(folder + "/data.noun")) GTEST_SKIP() << "WordNet is not installed in " << folder;
  EXPECT_EQ(read_wordnet_data(folder + "/data.noun").size(), 82115u);
  EXPECT_EQ(read_wordnet_data(folder + "/data.verb").size(), 13767u);
  EXPECT_EQ(read_wordnet_data(folder + "/data.adj").size(), 18156u);
  EXPECT_EQ(read_wordnet_data(folder + "/data.adv").size(), 3621u);
  std::vector<Synset> all = read_wordnet(folder);
  ASSERT_EQ(all.size(), 117659u);
  EXPECT_EQ(all.front().id, "n00001740");
  EXPECT_EQ(all.front().lemmas, (std::vector<std::string>{"entity"}));
  EXPECT_EQ(all[82115].pos, 'v');
  EXPECT_EQ(all.back().pos, 'r');
  std::set<std::string> ids;
  std::size_t examples = 0;
  for (const Synset& s : all) {
    ids.insert(s.id);
    examples += s.examples.size();
    EXPECT_FALSE(s.lemmas.empty());
    ASSERT_FALSE(s.gloss.empty() && s.examples.empty()) << s.id;
    std::string_view lex = wordnet_lexnames()[std::size_t(s.lex_file)];
    EXPECT_EQ(lex[0], s.pos == 's' ? 'a' : s.pos == 'r' ? 'a' : s.pos) << s.id << " " << lex;
  }
  EXPECT_EQ(ids.size(), all.size());
  EXPECT_GT(examples, 45000u);
  auto dog = std::find_if(all.begin(), all.end(), [](const Synset& s) { return s.id == "n02084071"; });
  ASSERT_NE(dog, all.end());
  EXPECT_EQ(dog->lex_file, 5);
  EXPECT_EQ(dog->lemmas, (std::vector<std::string>{"dog", "domestic dog", "Canis familiaris"}));
  EXPECT_EQ(dog->gloss,
            "a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man "
            "since prehistoric times; occurs in many breeds");
  EXPECT_EQ(dog->examples, (std::vector<std::string>{"the dog barked all night"}));
  EXPECT_EQ(dog->hypernyms, (std::vector<std::string>{"n02083346", "n01317541"}));  // canine, domestic animal
  auto galore = std::find_if(all.begin(), all.end(), [](const Synset& s) { return s.id == "s00014358"; });
  ASSERT_NE(galore, all.end());
  EXPECT_EQ(galore->lemmas, (std::vector<std::string>{"abounding", "galore"}));
  EXPECT_EQ(galore->examples, (std::vector<std::string>{"abounding confidence", "whiskey galore"}));
}

TEST(Wordnet, FolderErrors) {
  TempDir dir;
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet(dir.file("nowhere")); },
                                   {"read_wordnet", dir.file("nowhere"), "not a folder", "does not exist"}));
  testing::write_text(dir.file("data.noun"), data_file(noun_bodies));
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet(dir.file("")); }, {"read_wordnet", "data.verb", "missing"}));
  // data.verb holding nouns.
  testing::write_text(dir.file("data.verb"), data_file(noun_bodies));
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet(dir.file("")); },
                                   {"read_wordnet", "data.verb", "line 3", "ss_type 'n' in a file of verb synsets"}));
  EXPECT_TRUE(
      throws_with<IoError>([&] { read_wordnet_data(dir.file("data.none")); }, {"read_wordnet_data", "cannot open"}));
}

TEST(Wordnet, MalformedLinesNameFileAndLine) {
  TempDir dir;
  const std::string path = dir.file("data.noun");
  const std::string good = noun_bodies[0];
  // The bad body is the second synset: line 4 after two license lines.
  auto expect_error = [&](const std::string& bad, const std::string& what) {
    testing::write_text(path, data_file({good, bad}));
    EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {"read_wordnet_data", path, "line 4: ", what}))
        << bad;
  };
  expect_error("3 n 01 entity 0 000 | g", "lex_filenum '3' is not 2 decimal digits");
  expect_error("45 n 01 entity 0 000 | g", "lex_filenum 45 is outside 0..44");
  expect_error("03 x 01 entity 0 000 | g", "ss_type 'x' is not one of n v a s r");
  expect_error("29 n 01 entity 0 000 | g", "lex_filenum 29 (verb.body) does not fit ss_type 'n'");
  expect_error("29 v 01 run 0 000 | g", "ss_type 'v' in a file of noun synsets");
  expect_error("03 n 0g entity 0 000 | g", "w_cnt '0g' is not 2 hex digits");
  expect_error("03 n 00 000 | g", "w_cnt is 00");
  expect_error("03 n ff entity 0 000 | g", "w_cnt's words and lex_ids needs 510 more field(s) but only 3 remain");
  expect_error("03 n 01 entity x 000 | g", "lex_id 'x' of word 1 is not 1 hex digit");
  expect_error("03 n 01 entity 0 01 | g", "p_cnt '01' is not 3 decimal digits");
  expect_error("03 n 01 entity 0 999 @ 00001740 n 0000 | g",
               "p_cnt's pointers (4 fields each) needs 3996 more field(s)");
  expect_error("03 n 01 entity 0 001 ? 00001740 n 0000 | g", "pointer 1: '?' is not a pointer symbol");
  expect_error("03 n 01 entity 0 001 @ 0001740 n 0000 | g", "pointer 1: target offset '0001740' is not 8 decimal");
  expect_error("03 n 01 entity 0 001 @ 00001740 q 0000 | g", "pointer 1: part of speech 'q'");
  expect_error("03 n 01 entity 0 001 @ 00001740 n 00z0 | g", "pointer 1: source/target '00z0' is not 4 hex digits");
  expect_error("03 n 01 entity 0 001 @ 00001740 n 0200 | g", "pointer 1: source word 2 but the synset has 1 word(s)");
  expect_error("03 n 01 entity 0 000 01 + 02 00 | g", "4 field(s) left over before '|' (from '01'); only verb");
  expect_error("03 n 01 entity 0 000 the gloss without a bar", "no field '|' separates");
  expect_error("03 n", "no field '|'");
  expect_error("03 n | g", "the synset header (offset, lex_filenum, ss_type, w_cnt) needs 4 more field(s)");
  expect_error("03 n 01 entity 0 | g", "p_cnt needs 1 more field(s) but only 0 remain");
  expect_error("03 n 01 entity \x01\xff 000 | g", "lex_id '\\x01\\xff' of word 1");

  // Offsets: not 8 digits, or not the line's byte offset.
  std::string text = data_file({good});
  testing::write_text(path, text + "0000x000 03 n 01 entity 0 000 | g\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {path, "line 4", "offset '0000x000' is not 8"}));
  testing::write_text(path, text + "00000001 03 n 01 entity 0 000 | g\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); },
                                   {path, "line 4", "offset 00000001 differs from the line's byte offset"}));
  testing::write_text(path, text + "\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {path, "line 4", "empty line"}));
  // A line inserted before others shifts every offset after it.
  std::string shifted = data_file(noun_bodies);
  shifted.insert(std::string(license).size(), "  3 an added license line\n");
  testing::write_text(path, shifted);
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {path, "line 4", "differs from the line's byte"}));

  // Adjective markers only, and verb frames.
  testing::write_text(path, data_file({"00 a 01 (p) 0 000 | g"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {"line 3", "word 1 '(p)' is empty"}));
  auto verb_error = [&](const std::string& bad, const std::string& what) {
    testing::write_text(path, data_file({bad}));
    EXPECT_TRUE(throws_with<IoError>([&] { read_wordnet_data(path); }, {path, "line 3: ", what})) << bad;
  };
  verb_error("29 v 01 run 0 000 1 + 02 00 | g", "f_cnt '1' is not 2 decimal digits");
  verb_error("29 v 01 run 0 000 02 + 02 00 | g", "f_cnt's frames ('+ f_num w_num' each) needs 6 more field(s)");
  verb_error("29 v 01 run 0 000 01 - 02 00 | g", "frame 1 starts with '-', expected '+'");
  verb_error("29 v 01 run 0 000 01 + 2 00 | g", "frame 1: f_num '2' is not 2 decimal digits");
  verb_error("29 v 01 run 0 000 01 + 02 0x | g", "frame 1: w_num '0x' is not 2 hex digits");
  verb_error("29 v 01 run 0 000 01 + 02 02 | g", "frame 1: w_num 2 but the synset has 1 word(s)");
  verb_error("29 v 01 run 0 000 01 + 02 00 + | g", "1 field(s) left over before '|' (from '+')");
}

TEST(Wordnet, RandomCorruptionsParseOrThrow) {
  TempDir dir;
  const std::string path = dir.file("data.verb");
  const std::string valid =
      data_file({"29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 002 * 00005041 v 0000 + 00831191 n 0303 "
                 "02 + 02 00 + 08 01 | draw air into, and expel out of, the lungs; \"I can breathe better\"",
                 "32 v 01 drop 0 001 @ 00940402 v 0000 01 + 08 00 | utter with seeming casualness; \"drop a hint\"",
                 "29 v 01 respire 2 000 | breathe easily again", "30 v 02 grow 0 wax 1 000 | increase in size"});
  testing::write_text(path, valid);
  ASSERT_EQ(read_wordnet_data(path).size(), 4u);
  const std::uint64_t seed = 20240607;
  Rng rng(seed);
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string t = valid;
    int edits = 1 + static_cast<int>(rng.below(3));
    for (int e = 0; e < edits && !t.empty(); ++e) {
      std::size_t at = rng.below(t.size());
      switch (rng.below(6)) {
        case 0: t.resize(at); break;                                // truncation
        case 1: t[at] = static_cast<char>(rng.below(256)); break;   // junk byte
        case 2: t[at] = "0123456789 |+\"\n"[rng.below(15)]; break;  // plausible byte
        case 3: t.erase(at, 1 + rng.below(8)); break;               // deletion
        case 4: t.insert(at, std::string(1 + rng.below(4), static_cast<char>(rng.below(256)))); break;
        default: t.insert(at, t.substr(rng.below(t.size()), rng.below(40))); break;  // duplication
      }
    }
    testing::write_text(path, t);
    try {
      std::vector<Synset> s = read_wordnet_data(path);
      ++parsed;
      for (const Synset& x : s) EXPECT_FALSE(x.lemmas.empty());
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << " trial " << trial << ": not a simile::Error: " << e.what();
    }
  }
  EXPECT_GT(rejected, 200) << "seed " << seed;
  EXPECT_GT(parsed, 0) << "seed " << seed;  // a change inside a gloss still parses
  // Pure junk and a header with nothing after it.
  std::string junk;
  for (int i = 0; i < 5000; ++i) junk.push_back(static_cast<char>(rng.below(256)));
  testing::write_text(path, junk);
  EXPECT_THROW(read_wordnet_data(path), IoError);
  testing::write_text(path, license);
  EXPECT_TRUE(read_wordnet_data(path).empty());
}

TEST(Wordnet, SplitSynsets) {
  SynsetSplit s = split_synsets(1000, 0.1, 7);
  EXPECT_EQ(s.test.size(), 100u);
  EXPECT_EQ(s.train.size(), 900u);
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  std::vector<Index> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  for (Index i = 0; i < 1000; ++i) ASSERT_EQ(all[std::size_t(i)], i);
  SynsetSplit again = split_synsets(1000, 0.1, 7);
  EXPECT_EQ(again.test, s.test);
  EXPECT_NE(split_synsets(1000, 0.1, 8).test, s.test);
  EXPECT_EQ(split_synsets(10, 0.25, 1).test.size(), 3u);  // round(2.5) = 3
  EXPECT_TRUE(split_synsets(0, 0.5, 1).test.empty());
  EXPECT_EQ(split_synsets(5, 1.0, 1).test.size(), 5u);
  EXPECT_TRUE(throws_with<ValueError>([] { split_synsets(10, 1.5, 1); }, {"split_synsets", "test_fraction 1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([] { split_synsets(-1, 0.5, 1); }, {"split_synsets", "n -1"}));
  // A small run's split: the first synsets of each part, a quarter as many test ones (at least 8).
  SynsetSplit small = first_synsets(s, 100);
  EXPECT_EQ(small.train, std::vector<Index>(s.train.begin(), s.train.begin() + 100));
  EXPECT_EQ(small.test, std::vector<Index>(s.test.begin(), s.test.begin() + 25));
  EXPECT_EQ(first_synsets(s, 3).test.size(), 8u);
  EXPECT_EQ(first_synsets(s, 5000).train, s.train);  // fewer than asked: all of them
  EXPECT_EQ(first_synsets(s, 5000).test, s.test);
  EXPECT_TRUE(throws_with<ValueError>([&] { first_synsets(s, 0); }, {"first_synsets", "train 0"}));
}

}  // namespace
}  // namespace simile

namespace simile {
namespace {

TEST(Wordnet, TrainingTextAndPairs) {
  std::vector<Synset> s(3);
  s[0].id = "n1", s[0].gloss = "an animal", s[0].lemmas = {"animal", "beast"};
  s[1].id = "n2", s[1].gloss = "a canine", s[1].lemmas = {"dog"}, s[1].examples = {"the dog ran"}, s[1].hypernyms = {"n1"};
  s[2].id = "n3", s[2].gloss = "a feline", s[2].lemmas = {"cat"}, s[2].hypernyms = {"n1", "n9"};
  EXPECT_EQ(lemma_text(s[0]), "animal, beast");
  std::vector<Index> all{0, 1, 2};
  WordnetText t = wordnet_text(s, all);
  EXPECT_EQ(t.sentences, (std::vector<std::string>{"an animal", "a canine", "the dog ran", "a feline"}));
  EXPECT_EQ(t.anchors, (std::vector<std::string>{"animal, beast", "the dog ran", "dog", "a canine", "cat", "a feline"}));
  EXPECT_EQ(t.positives, (std::vector<std::string>{"an animal", "a canine", "a canine", "an animal", "a feline", "an animal"}));
  // Synset 0 held out: no hypernym pair may reach its gloss.
  std::vector<Index> train{1, 2};
  WordnetText u = wordnet_text(s, train, {.example = false, .lemma = false, .hypernym = true});
  EXPECT_TRUE(u.anchors.empty());
  EXPECT_EQ(u.sentences, (std::vector<std::string>{"a canine", "the dog ran", "a feline"}));
  std::vector<Index> bad{3};
  EXPECT_TRUE(testing::throws_with<ValueError>([&] { wordnet_text(s, bad); }, {"wordnet_text", "3"}));
}

}  // namespace
}  // namespace simile
