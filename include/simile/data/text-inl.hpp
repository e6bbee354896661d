#pragma once
/// \file
/// The definitions behind `simile/data/text.hpp`: compiled once in `src/data/text.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/text.hpp"

namespace simile {

SIMILE_INLINE TextLines read_text_lines(const std::string& path, const TextFileOptions& options) {
  FileReader in(path, "read_text_lines");
  std::vector<unsigned char> bytes = in.read_rest();
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  TextLines out;
  detail::for_each_line(text, [&](Index line_no, std::string_view line) {
    if (options.labeled) {
      if (options.skip_empty && detail::trim(line).empty()) return;
      std::size_t at = line.find(options.delimiter);
      if (at == std::string_view::npos)
        in.fail("line ", line_no, ": no delimiter separates a label from the text (labeled file)");
      std::string_view label = detail::trim(line.substr(0, at));
      std::int64_t v = 0;
      if (!detail::parse_label(label, v) || v < 0)
        in.fail("line ", line_no, ": label '", label, "' is not an integer >= 0");
      line = line.substr(at + 1);
      out.labels.push_back(v);
    } else if (options.skip_empty && detail::trim(line).empty()) {
      return;
    }
    out.lines.emplace_back(line);
  });
  return out;
}

SIMILE_INLINE std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      cur.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

SIMILE_INLINE Vocabulary Vocabulary::build(const std::vector<std::string>& texts, const VocabularyOptions& options) {
  check<ValueError>(options.min_count >= 1, "Vocabulary::build: min_count ", options.min_count, " must be >= 1");
  check<ValueError>(options.max_size == 0 || options.max_size > 3, "Vocabulary::build: max_size ",
                    options.max_size, " leaves no room beside the 3 reserved ids");
  std::map<std::string, Index> counts;
  for (const std::string& t : texts)
    for (std::string& w : tokenize(t)) ++counts[std::move(w)];
  std::vector<std::pair<std::string, Index>> kept;
  for (auto& [w, c] : counts)
    if (c >= options.min_count) kept.emplace_back(w, c);
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (options.max_size > 0 && static_cast<Index>(kept.size()) > options.max_size - 3)
    kept.resize(std::size_t(options.max_size - 3));
  Vocabulary v;
  for (auto& [w, c] : kept) v.add(w);
  return v;
}

SIMILE_INLINE Token Vocabulary::id(const std::string& word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? unknown : it->second;
}

SIMILE_INLINE const std::string& Vocabulary::word(Token id) const {
  check<ValueError>(id >= 0 && id < size(), "Vocabulary::word: id ", id, " out of range for ", size(), " words");
  return words_[std::size_t(id)];
}

SIMILE_INLINE std::vector<Token> Vocabulary::encode(std::string_view text) const {
  std::vector<Token> out;
  for (const std::string& w : tokenize(text)) out.push_back(id(w));
  return out;
}

SIMILE_INLINE void Vocabulary::add(const std::string& w) {
  ids_.emplace(w, static_cast<Token>(words_.size()));
  words_.push_back(w);
}

SIMILE_INLINE TextDataset make_text_dataset(const TextLines& text, const Vocabulary& vocabulary) {
  std::vector<std::vector<Token>> seqs;
  seqs.reserve(text.lines.size());
  for (const std::string& line : text.lines) seqs.push_back(vocabulary.encode(line));
  return TextDataset(std::move(seqs), text.labels);
}

SIMILE_INLINE TokenBatch pad_sequences(const std::vector<std::vector<Token>>& seqs) {
  Index L = 0;
  for (const auto& s : seqs) L = std::max(L, static_cast<Index>(s.size()));
  TokenBatch t{Tensor<Token>::full({static_cast<Index>(seqs.size()), L}, Vocabulary::pad), {}};
  for (std::size_t b = 0; b < seqs.size(); ++b) {
    std::copy(seqs[b].begin(), seqs[b].end(), t.ids.data() + Index(b) * L);
    t.lengths.push_back(static_cast<Index>(seqs[b].size()));
  }
  return t;
}

}  // namespace simile
