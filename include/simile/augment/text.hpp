#pragma once
/// \file
/// Transforms of token sequences for contrastive sentence embeddings (the EDA family of Wei and Zou
/// 2019 and the span deletion of CLEAR, Wu et al. 2020): `TokenDropout`, `TokenMasking`,
/// `SpanDeletion`, `RandomSwap`, `TokenCrop`. A `TextPipeline` composes them (`token_views` builds the usual
/// one) and `TextMultiView` makes k views of a
/// batch as one padded id tensor.

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
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
  double p = 0.1;  ///< drop probability per token, in [0, 1]
  /// Throws ValueError unless `probability` is in [0, 1].
  explicit TokenDropout(double probability) : p(probability) {
    check<ValueError>(p >= 0 && p <= 1, "TokenDropout: probability ", p, " outside [0, 1]");
  }
  /// Drops tokens of `s` in place (order kept), drawing from `rng`.
  void apply(std::vector<Token>& s, Rng& rng) const;
};

/// Replaces each token with `mask` with probability p.
struct TokenMasking {
  double p = 0.15;                ///< masking probability per token, in [0, 1]
  Token mask = Vocabulary::mask;  ///< the id written in place of a masked token
  /// Throws ValueError unless `probability` is in [0, 1].
  explicit TokenMasking(double probability, Token mask_id = Vocabulary::mask) : p(probability), mask(mask_id) {
    check<ValueError>(p >= 0 && p <= 1, "TokenMasking: probability ", p, " outside [0, 1]");
  }
  /// Masks tokens of `s` in place (the length is kept), drawing from `rng`.
  void apply(std::vector<Token>& s, Rng& rng) const;
};

/// Deletes one contiguous span whose length is uniform in [1, max(1, round(max_fraction * L))], never
/// the whole sequence (a sequence of one token is left as it is).
struct SpanDeletion {
  double max_fraction = 0.3;  ///< the longest span as a fraction of the length L, in (0, 1]
  /// Throws ValueError unless `fraction` is in (0, 1].
  explicit SpanDeletion(double fraction) : max_fraction(fraction) {
    check<ValueError>(fraction > 0 && fraction <= 1, "SpanDeletion: max_fraction ", fraction, " outside (0, 1]");
  }
  /// Deletes one span of `s` in place, drawing from `rng`.
  void apply(std::vector<Token>& s, Rng& rng) const;
};

/// Swaps `swaps` random pairs of positions.
struct RandomSwap {
  Index swaps = 1;  ///< pairs swapped per sequence, >= 0
  /// Throws ValueError when `n` < 0.
  explicit RandomSwap(Index n) : swaps(n) { check<ValueError>(n >= 0, "RandomSwap: swaps ", n, " must be >= 0"); }
  /// Swaps pairs of positions of `s` in place (a sequence shorter than 2 is left as it is).
  void apply(std::vector<Token>& s, Rng& rng) const;
};

/// Keeps one contiguous window of the sequence, of length ceil(f L) with f ~ U(min_fraction, 1) and a
/// uniform start: the text analogue of a random crop (the span sampling of DeCLUTR, Giorgi et al. 2021).
struct TokenCrop {
  double min_fraction = 0.5;  ///< the shortest window as a fraction of the length, in (0, 1]
  /// Throws ValueError unless `fraction` is in (0, 1].
  explicit TokenCrop(double fraction) : min_fraction(fraction) {
    check<ValueError>(fraction > 0 && fraction <= 1, "TokenCrop: min_fraction ", fraction, " outside (0, 1]");
  }
  /// Replaces `s` by the window, drawing from `rng`.
  void apply(std::vector<Token>& s, Rng& rng) const;
};

/// A sequence of text transforms; step k draws from `rng.split(k)`.
class TextPipeline {
 public:
  /// Appends `t` as the next step; returns `*this` for chaining.
  template <TextTransform T>
  TextPipeline& add(T t) {
    steps_.push_back([t = std::move(t)](std::vector<Token>& s, Rng& rng) { t.apply(s, rng); });
    return *this;
  }
  /// Runs the steps on `s` in place, step k with `rng.split(k)` (`rng` itself is not advanced).
  void apply(std::vector<Token>& s, Rng& rng) const;
  /// Number of steps.
  std::size_t size() const { return steps_.size(); }

 private:
  std::vector<std::function<void(std::vector<Token>&, Rng&)>> steps_;
};

/// Token-level views for contrastive sentence embeddings (the ablations of SimCSE, Gao, Yao, Chen 2021; EDA):
/// each view drops every token with probability `drop`, keeps a random window of at least `crop` of what is
/// left, then swaps `swaps` random pairs. All off by default, when the encoder's dropout is the only noise.
struct TokenViewOptions {
  double drop = 0;  ///< `TokenDropout` probability, in [0, 1]
  double crop = 1;  ///< `TokenCrop` min_fraction, in (0, 1] (1: no crop)
  Index swaps = 0;  ///< `RandomSwap` pairs, >= 0
};

/// The pipeline of `options`: `TokenDropout`, `TokenCrop`, `RandomSwap`, each only when it changes something
/// (an empty pipeline by default). ValueError naming the option and its value when one is out of range.
TextPipeline token_views(const TokenViewOptions& options);

/// k views of each sequence, one pipeline per view; view v of sample i in epoch e draws from
/// `Rng::stream(seed, e, i, v)` only.
class TextMultiView {
 public:
  /// View v through `views[v]`. Throws ValueError when `views` is empty.
  explicit TextMultiView(std::vector<TextPipeline> views) : views_(std::move(views)) {
    check<ValueError>(!views_.empty(), "TextMultiView: needs at least one view");
  }
  /// `k` views through the same pipeline `p` (SimCSE's two dropout views of one sentence).
  static TextMultiView same(const TextPipeline& p, int k = 2);
  /// V, the number of views.
  int count() const { return static_cast<int>(views_.size()); }

  /// The views of the samples `indices` of `data`, stacked: ids [V * B, L] (rows v * B .. (v + 1) * B - 1
  /// are view v) padded with `Vocabulary::pad` to the longest sequence of all views, and the V * B
  /// lengths. Samples are transformed in parallel (`parallel_for`).
  TokenBatch make_stacked(const TextDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch) const;
  /// The same with view v taken from `per_view[v]` (one dataset per view, all indexed alike): the two sides
  /// of a dataset of pairs, view 0 the anchors and view 1 their positives. Requires count() datasets,
  /// none shorter than the largest index.
  TokenBatch make_stacked(std::span<const TextDataset* const> per_view, std::span<const Index> indices,
                          std::uint64_t seed, std::uint64_t epoch) const;

 private:
  std::vector<TextPipeline> views_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/text-inl.hpp"
#endif
