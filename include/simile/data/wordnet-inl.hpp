#pragma once
/// \file
/// The definitions behind `simile/data/wordnet.hpp`: compiled once in `src/data/wordnet.cpp`, or included by
/// that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <unordered_map>

#include "simile/data/wordnet.hpp"

namespace simile::detail {

namespace wordnet {

/// Value of `s` when it is exactly `width` digits of `base` (10 or 16), else -1.
inline long fixed_number(std::string_view s, std::size_t width, int base) {
  if (s.size() != width) return -1;
  long v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'                 ? c - '0'
            : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
            : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
    if (d < 0) return -1;
    v = v * base + d;
  }
  return v;
}

/// `s` quoted for an error message: at most 40 bytes, control and non-ASCII bytes as \xNN.
inline std::string shown(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (s.size() > 40) out += "...";
  return out + "'";
}

/// The pointer symbols of wninput(5WN).
inline bool pointer_symbol(std::string_view s) {
  static constexpr std::string_view symbols[] = {"!",  "@",  "@i", "~", "~i", "#m", "#s", "#p", "%m",
                                                 "%s", "%p", "=",  "+", ";c", "-c", ";r", "-r", ";u",
                                                 "-u", "*",  ">",  "^", "$",  "&",  "<",  "\\"};
  return std::find(std::begin(symbols), std::end(symbols), s) != std::end(symbols);
}

/// 'a' for adjectives and satellites, else the part of speech itself.
inline char category_of(char pos) { return pos == 's' ? 'a' : pos; }

inline const char* category_name(char category) {
  switch (category) {
    case 'n': return "noun";
    case 'v': return "verb";
    case 'a': return "adjective";
    default: return "adverb";
  }
}

/// Whether lexicographer file `lex` belongs to part of speech `pos`.
inline bool lex_file_fits(int lex, char pos) {
  switch (pos) {
    case 'n': return lex >= 3 && lex <= 28;
    case 'v': return lex >= 29 && lex <= 43;
    case 'a':
    case 's': return lex == 0 || lex == 1 || lex == 44;
    default: return lex == 2;
  }
}

inline bool space(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trimmed(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace wordnet

SIMILE_INLINE WordnetGlossParts split_wordnet_gloss(std::string_view g) {
  using wordnet::trimmed;
  WordnetGlossParts out;
  std::vector<std::string_view> definitions;
  auto example = [&](std::string_view e) {
    e = trimmed(e);
    if (!e.empty()) out.examples.emplace_back(e);
  };
  const std::size_t n = g.size();
  // The quote opened at `open` ends at a '"' not followed by a letter or digit ("I"m" stays inside),
  // or before "; \"" when its closing quote is missing. Returns {end of the text, where to go on}.
  auto close = [&](std::size_t open) -> std::pair<std::size_t, std::size_t> {
    for (std::size_t j = open + 1; j < n; ++j) {
      if (g[j] == '"' && (j + 1 == n || !std::isalnum(static_cast<unsigned char>(g[j + 1])))) return {j, j + 1};
      if (g[j] == ';') {
        std::size_t k = j + 1;
        while (k < n && wordnet::space(g[k])) ++k;
        if (k < n && g[k] == '"') return {j, j};
      }
    }
    return {n, n};
  };
  std::size_t i = 0;
  for (bool first = true;; first = false) {
    while (i < n && wordnet::space(g[i])) ++i;
    if (i >= n) break;
    if (g[i] == '"') {
      while (i < n && g[i] != ';') {
        if (g[i] == '"') {
          auto [end, next] = close(i);
          example(g.substr(i + 1, end - i - 1));
          i = next;
        } else {
          ++i;  // text between or after quotes: an attribution or a separator
        }
      }
      if (i < n) ++i;
      continue;
    }
    std::size_t j = std::min(g.find(';', i), n);
    std::string_view seg = trimmed(g.substr(i, j - i));
    i = std::min(j + 1, n);
    auto quotes = std::count(seg.begin(), seg.end(), '"');
    if (quotes == 1 && seg.back() == '"') {
      // A lone closing quote: an example whose opening quote is missing, or a stray one ending the
      // first definition ("a local branch where postal services are available\"").
      if (first) {
        std::string_view def = wordnet::trimmed(seg.substr(0, seg.size() - 1));
        if (!def.empty()) definitions.push_back(def);
      } else {
        example(seg.substr(0, seg.size() - 1));
      }
      continue;
    }
    if (quotes >= 1 && (seg.back() == '"' || quotes == 1)) {
      std::size_t q = seg.find('"');
      std::string_view before = trimmed(seg.substr(0, q));
      if (!before.empty() && (before.back() == ':' || before.back() == ',')) {
        std::string_view def = trimmed(before.substr(0, before.size() - 1));
        if (!def.empty()) definitions.push_back(def);
        std::string_view ex = seg.substr(q + 1);
        if (!ex.empty() && ex.back() == '"') ex.remove_suffix(1);
        example(ex);
        continue;
      }
    }
    if (!seg.empty()) definitions.push_back(seg);
  }
  for (std::string_view d : definitions) {
    if (!out.definition.empty()) out.definition += "; ";
    out.definition += d;
  }
  return out;
}

SIMILE_INLINE std::vector<Synset> parse_wordnet_data(std::string_view text, const std::string& path, const char* who,
                                                     char category) {
  using wordnet::fixed_number;
  using wordnet::shown;
  std::vector<Synset> out;
  std::vector<std::string_view> f;  // the fields before '|', reused line after line
  for_each_line(text, [&](Index line_no, std::string_view line) {
    auto fail = [&](auto&&... parts) {
      throw IoError(str(who, ": '", path, "' line ", line_no, ": ", std::forward<decltype(parts)>(parts)...));
    };
    if (line.starts_with("  ")) return;  // license header
    if (wordnet::trimmed(line).empty()) fail("empty line (expected a synset or a license line)");
    const auto at = static_cast<std::size_t>(line.data() - text.data());

    // Fields up to the one that is exactly "|"; the gloss is the rest of the line.
    f.clear();
    std::size_t p = 0;
    bool bar = false;
    while (p < line.size()) {
      while (p < line.size() && line[p] == ' ') ++p;
      if (p >= line.size()) break;
      std::size_t e = std::min(line.find(' ', p), line.size());
      std::string_view field = line.substr(p, e - p);
      p = e;
      if (field == "|") {
        bar = true;
        break;
      }
      f.push_back(field);
    }
    if (!bar) fail("no field '|' separates the synset's fields from its gloss (a truncated or corrupted line)");
    const std::size_t k = f.size();
    std::size_t pos = 0;
    auto need = [&](std::size_t count, const char* what) {
      if (k - pos < count) fail(what, " needs ", count, " more field(s) but only ", k - pos, " remain before '|'");
    };

    need(4, "the synset header (offset, lex_filenum, ss_type, w_cnt)");
    long offset = fixed_number(f[0], 8, 10);
    if (offset < 0) fail("synset offset ", shown(f[0]), " is not 8 decimal digits");
    if (static_cast<std::size_t>(offset) != at)
      fail("synset offset ", f[0], " differs from the line's byte offset ", at,
           " (the file was edited or is corrupted)");
    long lex = fixed_number(f[1], 2, 10);
    if (lex < 0) fail("lex_filenum ", shown(f[1]), " is not 2 decimal digits");
    if (lex > 44) fail("lex_filenum ", lex, " is outside 0..44 (see lexnames(5WN))");
    if (f[2].size() != 1 || std::string_view("nvasr").find(f[2][0]) == std::string_view::npos)
      fail("ss_type ", shown(f[2]), " is not one of n v a s r");
    const char ss = f[2][0];
    if (!wordnet::lex_file_fits(static_cast<int>(lex), ss))
      fail("lex_filenum ", lex, " (", wordnet_lexnames()[std::size_t(lex)], ") does not fit ss_type '", ss, "'");
    if (category == 0) category = wordnet::category_of(ss);
    if (wordnet::category_of(ss) != category)
      fail("ss_type '", ss, "' in a file of ", wordnet::category_name(category), " synsets");
    long words = fixed_number(f[3], 2, 16);
    if (words < 0) fail("w_cnt ", shown(f[3]), " is not 2 hex digits");
    if (words == 0) fail("w_cnt is 00: a synset has at least one word");
    pos = 4;
    need(2 * std::size_t(words), "w_cnt's words and lex_ids");

    Synset s;
    s.id.reserve(1 + f[0].size());
    s.id.push_back(ss);
    s.id.append(f[0]);
    s.pos = ss;
    s.lex_file = static_cast<int>(lex);
    for (long w = 1; w <= words; ++w, pos += 2) {
      std::string_view word = f[pos];
      if (fixed_number(f[pos + 1], 1, 16) < 0)
        fail("lex_id ", shown(f[pos + 1]), " of word ", w, " is not 1 hex digit");
      if (ss == 'a' || ss == 's') {
        for (std::string_view marker : {"(p)", "(a)", "(ip)"})
          if (word.ends_with(marker)) {
            word.remove_suffix(marker.size());
            break;
          }
      }
      if (word.empty()) fail("word ", w, " ", shown(f[pos]), " is empty once its syntactic marker is removed");
      std::string lemma(word);
      std::replace(lemma.begin(), lemma.end(), '_', ' ');
      s.lemmas.push_back(std::move(lemma));
    }

    need(1, "p_cnt");
    long pointers = fixed_number(f[pos], 3, 10);
    if (pointers < 0) fail("p_cnt ", shown(f[pos]), " is not 3 decimal digits");
    ++pos;
    need(4 * std::size_t(pointers), "p_cnt's pointers (4 fields each)");
    for (long q = 1; q <= pointers; ++q, pos += 4) {
      if (!wordnet::pointer_symbol(f[pos])) fail("pointer ", q, ": ", shown(f[pos]), " is not a pointer symbol");
      if (fixed_number(f[pos + 1], 8, 10) < 0)
        fail("pointer ", q, ": target offset ", shown(f[pos + 1]), " is not 8 decimal digits");
      if (f[pos + 2].size() != 1 || std::string_view("nvasr").find(f[pos + 2][0]) == std::string_view::npos)
        fail("pointer ", q, ": part of speech ", shown(f[pos + 2]), " is not one of n v a s r");
      long st = fixed_number(f[pos + 3], 4, 16);
      if (st < 0) fail("pointer ", q, ": source/target ", shown(f[pos + 3]), " is not 4 hex digits");
      if (st / 256 > words) fail("pointer ", q, ": source word ", st / 256, " but the synset has ", words, " word(s)");
      if (f[pos] == "@" || f[pos] == "@i") s.hypernyms.push_back(simile::detail::str(f[pos + 2][0], f[pos + 1]));
    }

    if (ss == 'v' && pos < k) {
      long frames = fixed_number(f[pos], 2, 10);
      if (frames < 0) fail("f_cnt ", shown(f[pos]), " is not 2 decimal digits");
      ++pos;
      need(3 * std::size_t(frames), "f_cnt's frames ('+ f_num w_num' each)");
      for (long q = 1; q <= frames; ++q, pos += 3) {
        if (f[pos] != "+") fail("frame ", q, " starts with ", shown(f[pos]), ", expected '+'");
        if (fixed_number(f[pos + 1], 2, 10) < 0)
          fail("frame ", q, ": f_num ", shown(f[pos + 1]), " is not 2 decimal digits");
        long w = fixed_number(f[pos + 2], 2, 16);
        if (w < 0) fail("frame ", q, ": w_num ", shown(f[pos + 2]), " is not 2 hex digits");
        if (w > words) fail("frame ", q, ": w_num ", w, " but the synset has ", words, " word(s)");
      }
    }
    if (pos < k)
      fail(k - pos, " field(s) left over before '|' (from ", shown(f[pos]), ")",
           ss == 'v' ? "" : "; only verb synsets have frames");

    WordnetGlossParts parts = split_wordnet_gloss(line.substr(p));
    s.gloss = std::move(parts.definition);
    s.examples = std::move(parts.examples);
    out.push_back(std::move(s));
  });
  return out;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE std::string lemma_text(const Synset& s) {
  std::string t;
  for (const std::string& l : s.lemmas) t += (t.empty() ? "" : ", ") + l;
  return t;
}

SIMILE_INLINE WordnetText wordnet_text(const std::vector<Synset>& synsets, std::span<const Index> use,
                                       const WordnetPairKinds& kinds) {
  const auto n = static_cast<Index>(synsets.size());
  std::unordered_map<std::string_view, Index> used;
  for (Index i : use) {
    check<ValueError>(i >= 0 && i < n, "wordnet_text: synset index ", i, " out of range for ", n, " synsets");
    used.emplace(synsets[std::size_t(i)].id, i);
  }
  WordnetText t;
  for (Index i : use) {
    const Synset& s = synsets[std::size_t(i)];
    t.sentences.push_back(s.gloss);
    for (const std::string& e : s.examples) {
      t.sentences.push_back(e);
      if (kinds.example) t.anchors.push_back(e), t.positives.push_back(s.gloss);
    }
    if (kinds.lemma) t.anchors.push_back(lemma_text(s)), t.positives.push_back(s.gloss);
    if (kinds.hypernym)
      for (const std::string& h : s.hypernyms)
        if (auto it = used.find(h); it != used.end())
          t.anchors.push_back(s.gloss), t.positives.push_back(synsets[std::size_t(it->second)].gloss);
  }
  return t;
}

SIMILE_INLINE const std::array<std::string_view, 45>& wordnet_lexnames() {
  static constexpr std::array<std::string_view, 45> names = {
      "adj.all",          "adj.pert",           "adv.all",
      "noun.Tops",        "noun.act",           "noun.animal",
      "noun.artifact",    "noun.attribute",     "noun.body",
      "noun.cognition",   "noun.communication", "noun.event",
      "noun.feeling",     "noun.food",          "noun.group",
      "noun.location",    "noun.motive",        "noun.object",
      "noun.person",      "noun.phenomenon",    "noun.plant",
      "noun.possession",  "noun.process",       "noun.quantity",
      "noun.relation",    "noun.shape",         "noun.state",
      "noun.substance",   "noun.time",          "verb.body",
      "verb.change",      "verb.cognition",     "verb.communication",
      "verb.competition", "verb.consumption",   "verb.contact",
      "verb.creation",    "verb.emotion",       "verb.motion",
      "verb.perception",  "verb.possession",    "verb.social",
      "verb.stative",     "verb.weather",       "adj.ppl"};
  return names;
}

SIMILE_INLINE std::vector<Synset> read_wordnet_data(const std::string& path) {
  FileReader in(path, "read_wordnet_data");
  std::vector<unsigned char> bytes = in.read_rest();
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return detail::parse_wordnet_data(text, path, "read_wordnet_data", 0);
}

SIMILE_INLINE std::vector<Synset> read_wordnet(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  check<IoError>(fs::is_directory(folder, ec), "read_wordnet: '", folder, "' is not a folder",
                 fs::exists(folder, ec) ? "" : " (it does not exist)");
  std::vector<Synset> all;
  static constexpr std::pair<const char*, char> files[] = {
      {"data.noun", 'n'}, {"data.verb", 'v'}, {"data.adj", 'a'}, {"data.adv", 'r'}};
  for (auto [name, category] : files) {
    std::string path = (fs::path(folder) / name).string();
    check<IoError>(fs::exists(path, ec), "read_wordnet: '", path,
                   "' is missing (a WordNet folder holds data.noun, data.verb, data.adj and data.adv)");
    FileReader in(path, "read_wordnet");
    std::vector<unsigned char> bytes = in.read_rest();
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::vector<Synset> part = detail::parse_wordnet_data(text, path, "read_wordnet", category);
    if (all.empty()) all.reserve(part.size() * 2);  // the noun file holds 70 % of the synsets
    std::move(part.begin(), part.end(), std::back_inserter(all));
  }
  return all;
}

SIMILE_INLINE SynsetSplit split_synsets(Index n, double test_fraction, std::uint64_t seed) {
  check<ValueError>(n >= 0, "split_synsets: n ", n, " is negative");
  check<ValueError>(test_fraction >= 0.0 && test_fraction <= 1.0, "split_synsets: test_fraction ", test_fraction,
                    " outside [0, 1]");
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index(0));
  Rng rng = Rng::stream(seed, 0x574E);
  shuffle(idx, rng);
  auto test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  SynsetSplit s;
  s.test.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(test));
  s.train.assign(idx.begin() + static_cast<std::ptrdiff_t>(test), idx.end());
  std::sort(s.test.begin(), s.test.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

SIMILE_INLINE SynsetSplit first_synsets(const SynsetSplit& split, Index train) {
  check<ValueError>(train >= 1, "first_synsets: train ", train, " must be at least 1");
  auto first = [](const std::vector<Index>& v, Index k) {
    const auto n = std::min<std::size_t>(v.size(), static_cast<std::size_t>(k));
    return std::vector<Index>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
  };
  return {.train = first(split.train, train), .test = first(split.test, std::max<Index>(train / 4, 8))};
}

}  // namespace simile
