#pragma once
/// \file
/// The definitions behind `simile/data/bpe.hpp`: compiled once in `src/data/bpe.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include <algorithm>
#include <charconv>
#include <map>
#include <queue>

#include "simile/data/bpe.hpp"

namespace simile {

namespace detail::bpe {
constexpr std::size_t max_cached_words = std::size_t{1} << 18;
/// Words of more symbols than this are merged with a heap (`merge_long_word`), shorter ones by scans.
constexpr std::size_t long_word = 48;

/// A byte `tokenize` can put in a word: lowercase ASCII letters, digits, bytes >= 0x80.
inline bool word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

/// Whether `s` is exactly one character (see `for_each_utf8_char`) made of word bytes.
inline bool one_character(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!word_byte(static_cast<unsigned char>(c))) return false;
  int n = 0;
  for_each_utf8_char(s, [&](std::string_view) { ++n; });
  return n == 1;
}

/// A pair of symbols in the training heap.
struct Candidate {
  Index count;
  Token a, b;
};
}  // namespace detail::bpe

SIMILE_INLINE BpeTokenizer::BpeTokenizer() {
  for (const char* s : {"<pad>", "<unk>", "<mask>", "<cls>"}) add_token(s);
}

SIMILE_INLINE Token BpeTokenizer::add_token(std::string s) {
  auto [it, inserted] = ids_.emplace(s, static_cast<Token>(tokens_.size()));
  if (inserted) tokens_.push_back(std::move(s));
  return it->second;
}

SIMILE_INLINE void BpeTokenizer::add_character(std::string_view c) {
  add_token(std::string(c));
  add_token(std::string(c) + std::string(end_of_word));
  ++alphabet_;
}

SIMILE_INLINE Token BpeTokenizer::add_merge(Token a, Token b) {
  Token r = add_token(tokens_[std::size_t(a)] + tokens_[std::size_t(b)]);
  merge_of_.emplace(pair_key(a, b), std::pair{static_cast<std::int32_t>(merges_.size()), r});
  merges_.emplace_back(a, b);
  return r;
}

SIMILE_INLINE const std::string& BpeTokenizer::token(Token id) const {
  check<ValueError>(id >= 0 && id < size(), "BpeTokenizer::token: id ", id, " out of range for ", size(), " tokens");
  return tokens_[std::size_t(id)];
}

SIMILE_INLINE Token BpeTokenizer::id(std::string_view s) const {
  auto it = ids_.find(s);
  return it == ids_.end() ? unknown : it->second;
}

SIMILE_INLINE BpeTokenizer BpeTokenizer::train(const std::vector<std::string>& texts, Index vocab_size,
                                               Index min_frequency) {
  using detail::bpe::Candidate;
  check<ValueError>(vocab_size >= reserved, "BpeTokenizer::train: vocab_size ", vocab_size, " is smaller than the ",
                    reserved, " reserved tokens");
  check<ValueError>(min_frequency >= 1, "BpeTokenizer::train: min_frequency ", min_frequency, " must be >= 1");

  // Word counts, then the words in byte order (the order of `texts` and of the hash map cannot matter).
  std::unordered_map<std::string, Index, detail::StringViewHash, std::equal_to<>> counts;
  for (const std::string& t : texts)
    for (std::string& w : tokenize(t)) ++counts[std::move(w)];
  std::vector<std::pair<std::string, Index>> words(counts.begin(), counts.end());
  counts = {};
  std::sort(words.begin(), words.end());

  // Alphabet: characters by decreasing count, ties in byte order; as many as fit.
  std::map<std::string, Index, std::less<>> char_counts;
  for (const auto& [w, c] : words)
    detail::for_each_utf8_char(w, [&, c = c](std::string_view ch) {
      auto it = char_counts.find(ch);
      if (it == char_counts.end()) it = char_counts.emplace(std::string(ch), 0).first;
      it->second += c;
    });
  std::vector<std::pair<std::string, Index>> chars(char_counts.begin(), char_counts.end());
  std::stable_sort(chars.begin(), chars.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  chars.resize(std::min(chars.size(), static_cast<std::size_t>((vocab_size - reserved) / 2)));
  BpeTokenizer t;
  for (const auto& [ch, c] : chars) t.add_character(ch);

  // Each word as symbols (`unknown` for a character left out: it never pairs), and pair statistics:
  // the count of each adjacent pair and the words where it occurs (a word stays listed after it lost
  // the pair; merging checks).
  std::vector<std::vector<Token>> seq(words.size());
  std::vector<Index> weight(words.size());
  struct PairStat {
    Index count = 0;
    std::vector<std::int32_t> words;
  };
  std::unordered_map<std::uint64_t, PairStat> pairs;
  std::vector<Token> scratch;
  for (std::size_t w = 0; w < words.size(); ++w) {
    weight[w] = words[w].second;
    t.encode_word(words[w].first, seq[w], scratch);  // no merges yet: the characters
    const auto& s = seq[w];
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] == unknown || s[i + 1] == unknown) continue;
      PairStat& p = pairs[pair_key(s[i], s[i + 1])];
      p.count += weight[w];
      if (p.words.empty() || p.words.back() != static_cast<std::int32_t>(w))
        p.words.push_back(static_cast<std::int32_t>(w));
    }
  }
  words = {};

  const std::vector<std::string>& str = t.tokens_;
  auto lower = [&str](const Candidate& x, const Candidate& y) {  // x pops after y
    if (x.count != y.count) return x.count < y.count;
    if (int c = str[std::size_t(x.a)].compare(str[std::size_t(y.a)]); c != 0) return c > 0;
    return str[std::size_t(x.b)].compare(str[std::size_t(y.b)]) > 0;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> heap(lower);
  for (const auto& [key, p] : pairs)
    heap.push({p.count, static_cast<Token>(key >> 32), static_cast<Token>(key & 0xFFFFFFFFu)});

  std::vector<std::pair<std::uint64_t, Index>> deltas;
  std::vector<std::uint64_t> touched;
  std::vector<Token> merged;
  while (t.size() < vocab_size && !heap.empty()) {
    const Candidate best = heap.top();
    heap.pop();
    const std::uint64_t key = pair_key(best.a, best.b);
    auto it = pairs.find(key);
    if (it == pairs.end() || it->second.count != best.count) continue;  // stale entry
    if (best.count < min_frequency) break;
    // A pair merged before can reappear when a later merge rebuilds one of its tokens' strings; it is
    // merged again (as `encode` would) without a second rule.
    auto known = t.merge_of_.find(key);
    const Token r = known != t.merge_of_.end() ? known->second.second : t.add_merge(best.a, best.b);

    std::vector<std::int32_t> affected = std::move(it->second.words);
    pairs.erase(it);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    touched.clear();
    for (std::int32_t w : affected) {
      std::vector<Token>& s = seq[std::size_t(w)];
      const Index c = weight[std::size_t(w)];
      // Rewrite the word and, around each occurrence only, note the pairs it loses and gains (x its
      // count): (left, a) and (b, right) go, (left', r) and (r, right) come, where left' is r itself
      // when the previous occurrence ends just before. The pair (a, b) itself is gone everywhere.
      merged.clear();
      deltas.clear();
      auto note = [&](Token x, Token y, Index d) {
        if (x != unknown && y != unknown) deltas.emplace_back(pair_key(x, y), d);
      };
      const std::size_t n = s.size();
      std::size_t after = 0;  // 1 + the old index where the last occurrence ended (0: none yet)
      for (std::size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == best.a && s[i + 1] == best.b) {
          if (i > 0 && after != i) note(s[i - 1], s[i], -c);
          if (i + 2 < n) note(s[i + 1], s[i + 2], -c);
          if (!merged.empty()) note(merged.back(), r, c);
          merged.push_back(r);
          i += 2;
          after = i;
        } else {
          if (after != 0 && after == i) note(r, s[i], c);
          merged.push_back(s[i++]);
        }
      }
      if (after == 0) continue;  // a stale entry of the index: the word no longer holds the pair
      std::sort(deltas.begin(), deltas.end());
      for (std::size_t i = 0; i < deltas.size();) {
        std::size_t j = i;
        Index d = 0;
        for (; j < deltas.size() && deltas[j].first == deltas[i].first; ++j) d += deltas[j].second;
        if (d != 0 && deltas[i].first != key) {
          PairStat& p = pairs[deltas[i].first];
          p.count += d;
          if (d > 0) p.words.push_back(w);
          touched.push_back(deltas[i].first);
        }
        i = j;
      }
      s.swap(merged);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (std::uint64_t k : touched) {
      auto p = pairs.find(k);
      SIMILE_ASSERT(p != pairs.end() && p->second.count >= 0);
      if (p->second.count <= 0) {
        pairs.erase(p);
      } else {
        heap.push({p->second.count, static_cast<Token>(k >> 32), static_cast<Token>(k & 0xFFFFFFFFu)});
      }
    }
  }
  return t;
}

SIMILE_INLINE void BpeTokenizer::encode_word(std::string_view word, std::vector<Token>& out,
                                             std::vector<Token>& scratch) const {
  out.clear();
  std::string buf;
  detail::for_each_utf8_char(word, [&](std::string_view ch) {
    if (ch.data() + ch.size() == word.data() + word.size()) {
      buf.assign(ch);
      buf += end_of_word;
      out.push_back(id(buf));
    } else {
      out.push_back(id(ch));
    }
  });
  if (out.size() > detail::bpe::long_word) return merge_long_word(out);
  // Apply the earliest-learned merge present, at all its occurrences, until none is left.
  while (out.size() >= 2) {
    std::int32_t best = -1;
    Token a = 0, b = 0, r = 0;
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
      auto it = merge_of_.find(pair_key(out[i], out[i + 1]));
      if (it != merge_of_.end() && (best < 0 || it->second.first < best)) {
        best = it->second.first;
        a = out[i], b = out[i + 1], r = it->second.second;
      }
    }
    if (best < 0) break;
    scratch.clear();
    for (std::size_t i = 0; i < out.size();) {
      if (i + 1 < out.size() && out[i] == a && out[i + 1] == b) {
        scratch.push_back(r);
        i += 2;
      } else {
        scratch.push_back(out[i++]);
      }
    }
    out.swap(scratch);
  }
}

SIMILE_INLINE void BpeTokenizer::merge_long_word(std::vector<Token>& syms) const {
  // The same merges as the loop of `encode_word`, in O(n log n) rather than O(n) per merge: the symbols
  // form a linked list, and a heap holds (rank, position) for each adjacent pair that has a merge. The
  // entries of one rank are taken in position order (the left-to-right pass over all occurrences), and
  // the pairs the pass creates enter the heap only after it, as the next pass would find them.
  const auto n = static_cast<std::int32_t>(syms.size());
  constexpr Token dead = -1;
  std::vector<std::int32_t> prev(static_cast<std::size_t>(n)), next(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) prev[std::size_t(i)] = i - 1, next[std::size_t(i)] = i + 1 < n ? i + 1 : -1;
  using Entry = std::pair<std::int32_t, std::int32_t>;  // (rank, position)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto push = [&](std::int32_t pos) {
    const std::int32_t q = pos < 0 ? -1 : next[std::size_t(pos)];
    if (q < 0) return;
    auto it = merge_of_.find(pair_key(syms[std::size_t(pos)], syms[std::size_t(q)]));
    if (it != merge_of_.end()) heap.emplace(it->second.first, pos);
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<std::int32_t> made;
  while (!heap.empty()) {
    const std::int32_t rank = heap.top().first;
    const auto [a, b] = merges_[std::size_t(rank)];
    const Token r = merge_of_.find(pair_key(a, b))->second.second;
    made.clear();
    while (!heap.empty() && heap.top().first == rank) {
      const std::int32_t pos = heap.top().second;
      heap.pop();
      const std::int32_t q = next[std::size_t(pos)];
      if (syms[std::size_t(pos)] != a || q < 0 || syms[std::size_t(q)] != b) continue;  // gone since
      syms[std::size_t(pos)] = r;
      syms[std::size_t(q)] = dead;
      next[std::size_t(pos)] = next[std::size_t(q)];
      if (next[std::size_t(q)] >= 0) prev[std::size_t(next[std::size_t(q)])] = pos;
      made.push_back(pos);
    }
    for (std::int32_t pos : made) {
      push(prev[std::size_t(pos)]);
      push(pos);
    }
  }
  // Position 0 never dies (a merge removes the right symbol), so the list starts there.
  std::size_t kept = 0;
  for (std::int32_t i = 0; i >= 0; i = next[std::size_t(i)]) syms[kept++] = syms[std::size_t(i)];
  syms.resize(kept);
}

SIMILE_INLINE void BpeTokenizer::encode_into(std::string_view text, std::vector<Token>& out, WordCache* cache) const {
  out.clear();
  std::vector<Token> word, scratch;
  for (const std::string& w : tokenize(text)) {
    if (cache) {
      auto it = cache->find(w);
      if (it != cache->end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    encode_word(w, word, scratch);
    out.insert(out.end(), word.begin(), word.end());
    if (cache && cache->size() < detail::bpe::max_cached_words) cache->emplace(w, word);
  }
}

SIMILE_INLINE std::vector<Token> BpeTokenizer::encode(std::string_view text) const {
  std::vector<Token> out;
  encode_into(text, out, nullptr);
  return out;
}

SIMILE_INLINE std::vector<Token> BpeTokenizer::encode(std::string_view text, WordCache& cache) const {
  std::vector<Token> out;
  encode_into(text, out, &cache);
  return out;
}

SIMILE_INLINE std::string BpeTokenizer::decode(std::span<const Token> tokens) const {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token t = tokens[i];
    check<ValueError>(t >= 0 && t < size(), "BpeTokenizer::decode: token ", t, " at position ", i, " out of range for ",
                      size(), " tokens");
    if (t == pad) continue;
    const std::string& s = tokens_[std::size_t(t)];
    if (t == mask || t == cls) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      out += s;
      out += ' ';
    } else if (std::string_view(s).ends_with(end_of_word)) {
      out.append(s, 0, s.size() - end_of_word.size());
      out += ' ';
    } else {
      out += s;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

SIMILE_INLINE std::string BpeTokenizer::serialize() const {
  std::string out = "simile-bpe 1\nalphabet " + std::to_string(alphabet_) + "\n";
  for (Index c = 0; c < alphabet_; ++c) out += tokens_[std::size_t(reserved + 2 * c)] + "\n";
  out += "merges " + std::to_string(merges_.size()) + "\n";
  for (const auto& [a, b] : merges_) out += tokens_[std::size_t(a)] + " " + tokens_[std::size_t(b)] + "\n";
  out += "end\n";
  return out;
}

SIMILE_INLINE BpeTokenizer BpeTokenizer::deserialize(std::string_view text) {
  std::size_t at = 0;
  Index line_no = 0;
  auto fail = [&](auto&&... parts) {
    throw ValueError(
        detail::str("BpeTokenizer::deserialize: line ", line_no, ": ", std::forward<decltype(parts)>(parts)...));
  };
  auto next_line = [&](std::string_view what) {
    ++line_no;
    if (at >= text.size()) fail("the text ends before ", what, " (truncated)");
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) fail("no newline after ", what, " (truncated)");
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    return line;
  };
  auto count_line = [&](std::string_view name) {
    std::string_view line = next_line(name);
    if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ' ')
      fail("expected '", name, " <count>', got '", line.substr(0, 40), "'");
    std::string_view digits = line.substr(name.size() + 1);
    std::int64_t n = -1;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || p != digits.data() + digits.size() || n < 0 || digits.size() > 12)
      fail("the ", name, " count '", digits.substr(0, 40), "' is not an integer >= 0");
    return n;
  };

  if (next_line("the header") != "simile-bpe 1") fail("expected the header 'simile-bpe 1' (version 1)");
  BpeTokenizer t;
  const std::int64_t chars = count_line("alphabet");
  for (std::int64_t c = 0; c < chars; ++c) {
    std::string_view ch = next_line("an alphabet character");
    if (!detail::bpe::one_character(ch))
      fail("alphabet character ", c, " is not one character of a-z, 0-9 or a UTF-8 sequence");
    if (t.ids_.contains(ch)) fail("alphabet character '", ch, "' appears twice");
    t.add_character(ch);
  }
  const std::int64_t merges = count_line("merges");
  for (std::int64_t m = 0; m < merges; ++m) {
    std::string_view line = next_line("a merge");
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
      fail("merge ", m, " is not two tokens separated by one space");
    std::string_view left = line.substr(0, space), right = line.substr(space + 1);
    auto a = t.ids_.find(left), b = t.ids_.find(right);
    if (a == t.ids_.end() || b == t.ids_.end())
      fail("merge ", m, " uses a token that is neither in the alphabet nor made by an earlier merge");
    if (a->second < reserved || b->second < reserved) fail("merge ", m, " uses a reserved token");
    if (left.ends_with(end_of_word)) fail("merge ", m, ": its left token '", left, "' ends a word");
    if (t.merge_of_.contains(pair_key(a->second, b->second))) fail("merge ", m, " appears twice");
    t.add_merge(a->second, b->second);
  }
  if (next_line("the end marker") != "end") fail("expected 'end' after the ", merges, " merges");
  if (at != text.size()) fail(text.size() - at, " bytes after the end marker");
  return t;
}

SIMILE_INLINE TextDataset make_text_dataset(const std::vector<std::string>& texts, const BpeTokenizer& tokenizer,
                                            std::vector<std::int64_t> labels, Index max_length) {
  return detail::encode_texts(texts, std::move(labels), max_length, [&] {
    return [&tokenizer, cache = BpeTokenizer::WordCache{}](std::string_view s) mutable {
      return tokenizer.encode(s, cache);
    };
  });
}

}  // namespace simile
