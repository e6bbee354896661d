#pragma once
/// \file
/// Transforms of token sequences for contrastive sentence embeddings (the EDA family of Wei and Zou
/// 2019 and the span deletion of CLEAR, Wu et al. 2020): `TokenDropout`, `TokenMasking`,
/// `SpanDeletion`, `RandomSwap`. A `TextPipeline` composes them and `TextMultiView` makes k views of a
/// batch as one padded id tensor.

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/text.hpp"

namespace simile {

/// A text transform: `t.apply(tokens, rng)` edits the sequence in place (its length may change).
template <class T>
concept TextTransform = std::copy_constructible<T> && requires(const T& t, std::vector<Token>& s, Rng& rng) {
  t.apply(s, rng);
};

/// Drops each token with probability p; a non-empty sequence keeps at least one (a random one).
struct TokenDropout {
  double p = 0.1;
  explicit TokenDropout(double probability) : p(probability) {
    check<ValueError>(p >= 0 && p <= 1, "TokenDropout: probability ", p, " outside [0, 1]");
  }
  void apply(std::vector<Token>& s, Rng& rng) const {
    if (s.empty()) return;
    Token fallback = s[rng.below(s.size())];
    std::size_t kept = 0;
    for (Token t : s)
      if (!rng.bernoulli(p)) s[kept++] = t;
    if (kept == 0) s[kept++] = fallback;
    s.resize(kept);
  }
};

/// Replaces each token with `mask` with probability p.
struct TokenMasking {
  double p = 0.15;
  Token mask = Vocabulary::mask;
  explicit TokenMasking(double probability, Token mask_id = Vocabulary::mask) : p(probability), mask(mask_id) {
    check<ValueError>(p >= 0 && p <= 1, "TokenMasking: probability ", p, " outside [0, 1]");
  }
  void apply(std::vector<Token>& s, Rng& rng) const {
    for (Token& t : s)
      if (rng.bernoulli(p)) t = mask;
  }
};

/// Deletes one contiguous span whose length is uniform in [1, max(1, round(max_fraction * L))], never
/// the whole sequence (a sequence of one token is left as it is).
struct SpanDeletion {
  double max_fraction = 0.3;
  explicit SpanDeletion(double fraction) : max_fraction(fraction) {
    check<ValueError>(fraction > 0 && fraction <= 1, "SpanDeletion: max_fraction ", fraction, " outside (0, 1]");
  }
  void apply(std::vector<Token>& s, Rng& rng) const {
    auto L = static_cast<Index>(s.size());
    if (L <= 1) return;
    Index longest = std::clamp<Index>(std::llround(max_fraction * static_cast<double>(L)), 1, L - 1);
    Index len = 1 + static_cast<Index>(rng.below(std::uint64_t(longest)));
    Index start = static_cast<Index>(rng.below(std::uint64_t(L - len + 1)));
    s.erase(s.begin() + start, s.begin() + start + len);
  }
};

/// Swaps `swaps` random pairs of positions.
struct RandomSwap {
  Index swaps = 1;
  explicit RandomSwap(Index n) : swaps(n) { check<ValueError>(n >= 0, "RandomSwap: swaps ", n, " must be >= 0"); }
  void apply(std::vector<Token>& s, Rng& rng) const {
    if (s.size() < 2) return;
    for (Index k = 0; k < swaps; ++k) std::swap(s[rng.below(s.size())], s[rng.below(s.size())]);
  }
};

/// A sequence of text transforms; step k draws from `rng.split(k)`.
class TextPipeline {
 public:
  template <TextTransform T>
  TextPipeline& add(T t) {
    steps_.push_back([t = std::move(t)](std::vector<Token>& s, Rng& rng) { t.apply(s, rng); });
    return *this;
  }
  void apply(std::vector<Token>& s, Rng& rng) const {
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      Rng step = rng.split(k);
      steps_[k](s, step);
    }
  }

 private:
  std::vector<std::function<void(std::vector<Token>&, Rng&)>> steps_;
};

/// k views of each sequence, one pipeline per view; view v of sample i in epoch e draws from
/// `Rng::stream(seed, e, i, v)` only.
class TextMultiView {
 public:
  explicit TextMultiView(std::vector<TextPipeline> views) : views_(std::move(views)) {
    check<ValueError>(!views_.empty(), "TextMultiView: needs at least one view");
  }
  static TextMultiView same(const TextPipeline& p, int k = 2) {
    check<ValueError>(k >= 1, "TextMultiView::same: view count ", k, " must be at least 1");
    return TextMultiView(std::vector<TextPipeline>(static_cast<std::size_t>(k), p));
  }
  int count() const { return static_cast<int>(views_.size()); }

  /// The views of the samples `indices` of `data`, stacked: ids [V * B, L] (rows v * B .. (v + 1) * B - 1
  /// are view v) padded with `Vocabulary::pad` to the longest sequence of all views, and the V * B
  /// lengths. Samples are transformed in parallel (`parallel_for`).
  TokenBatch make_stacked(const TextDataset& data, std::span<const Index> indices, std::uint64_t seed,
                          std::uint64_t epoch) const {
    auto B = static_cast<Index>(indices.size());
    std::vector<std::vector<Token>> seqs(std::size_t(count()) * std::size_t(B));
    parallel_for(0, B, 8, [&](Index begin, Index end) {
      for (Index b = begin; b < end; ++b) {
        Index i = indices[std::size_t(b)];
        TextSample s = data.get(i);
        for (int v = 0; v < count(); ++v) {
          std::vector<Token>& out = seqs[std::size_t(v) * std::size_t(B) + std::size_t(b)];
          out.assign(s.tokens.begin(), s.tokens.end());
          Rng rng = Rng::stream(seed, epoch, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(v));
          views_[std::size_t(v)].apply(out, rng);
        }
      }
    });
    return pad_sequences(seqs);
  }

 private:
  std::vector<TextPipeline> views_;
};

}  // namespace simile
