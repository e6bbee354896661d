#pragma once
/// \file
/// The definitions behind `simile/eval/tfidf.hpp`: compiled once in `src/eval/tfidf.cpp`, or included by
/// that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <algorithm>
#include <cmath>

#include "simile/eval/tfidf.hpp"

namespace simile {

SIMILE_INLINE TfIdf TfIdf::fit(const std::vector<std::string>& texts, Index max_features, Index min_df) {
  check<ValueError>(max_features >= 0, "TfIdf::fit: max_features ", max_features, " is negative (0: all words)");
  check<ValueError>(min_df >= 1, "TfIdf::fit: min_df ", min_df, " must be >= 1");
  std::unordered_map<std::string, Index> df;
  for (const std::string& t : texts) {
    std::vector<std::string> words = tokenize(t);
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    for (std::string& w : words) ++df[std::move(w)];
  }
  std::vector<std::pair<std::string, Index>> kept;
  for (auto& [w, c] : df)
    if (c >= min_df) kept.emplace_back(w, c);
  if (max_features > 0 && static_cast<Index>(kept.size()) > max_features) {
    auto by_df = [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    std::nth_element(kept.begin(), kept.begin() + max_features, kept.end(), by_df);
    kept.resize(static_cast<std::size_t>(max_features));
  }
  std::sort(kept.begin(), kept.end());
  TfIdf t;
  t.documents_ = static_cast<Index>(texts.size());
  const double n = static_cast<double>(texts.size());
  for (auto& [w, c] : kept) {
    t.column_.emplace(w, static_cast<Index>(t.words_.size()));
    t.idf_.push_back(std::log((1.0 + n) / (1.0 + static_cast<double>(c))) + 1.0);
    t.words_.push_back(std::move(w));
  }
  return t;
}

SIMILE_INLINE Tensor<float> TfIdf::transform(const std::vector<std::string>& texts) const {
  const Index n = static_cast<Index>(texts.size()), f = num_features();
  Tensor<float> out = Tensor<float>::zeros({n, f});
  parallel_for(0, n, 64, [&](Index b, Index e) {
    std::vector<std::pair<Index, double>> row;  // (column, count), then (column, weight)
    for (Index i = b; i < e; ++i) {
      row.clear();
      for (const std::string& w : tokenize(texts[std::size_t(i)])) {
        auto it = column_.find(w);
        if (it != column_.end()) row.emplace_back(it->second, 1.0);
      }
      std::sort(row.begin(), row.end());
      double norm2 = 0;
      std::size_t m = 0;
      for (std::size_t k = 0; k < row.size();) {  // merge repeated words into counts
        std::size_t j = k;
        while (j < row.size() && row[j].first == row[k].first) ++j;
        double x = static_cast<double>(j - k) * idf_[std::size_t(row[k].first)];
        row[m++] = {row[k].first, x};
        norm2 += x * x;
        k = j;
      }
      if (m == 0) continue;
      const double inv = 1.0 / std::sqrt(norm2);
      float* dst = out.data() + i * f;
      for (std::size_t k = 0; k < m; ++k) dst[row[k].first] = static_cast<float>(row[k].second * inv);
    }
  });
  return out;
}

}  // namespace simile
