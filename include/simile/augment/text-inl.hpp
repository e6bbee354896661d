#pragma once
/// \file
/// The definitions behind `simile/augment/text.hpp`: compiled once in `src/augment/text.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/text.hpp"

namespace simile {

SIMILE_INLINE void TokenDropout::apply(std::vector<Token>& s, Rng& rng) const {
  if (s.empty()) return;
  Token fallback = s[rng.below(s.size())];
  std::size_t kept = 0;
  for (Token t : s)
    if (!rng.bernoulli(p)) s[kept++] = t;
  if (kept == 0) s[kept++] = fallback;
  s.resize(kept);
}

SIMILE_INLINE void TokenMasking::apply(std::vector<Token>& s, Rng& rng) const {
  for (Token& t : s)
    if (rng.bernoulli(p)) t = mask;
}

SIMILE_INLINE void SpanDeletion::apply(std::vector<Token>& s, Rng& rng) const {
  auto L = static_cast<Index>(s.size());
  if (L <= 1) return;
  Index longest = std::clamp<Index>(std::llround(max_fraction * static_cast<double>(L)), 1, L - 1);
  Index len = 1 + static_cast<Index>(rng.below(std::uint64_t(longest)));
  Index start = static_cast<Index>(rng.below(std::uint64_t(L - len + 1)));
  s.erase(s.begin() + start, s.begin() + start + len);
}

SIMILE_INLINE void RandomSwap::apply(std::vector<Token>& s, Rng& rng) const {
  if (s.size() < 2) return;
  for (Index k = 0; k < swaps; ++k) std::swap(s[rng.below(s.size())], s[rng.below(s.size())]);
}

SIMILE_INLINE void TokenCrop::apply(std::vector<Token>& s, Rng& rng) const {
  const auto L = static_cast<Index>(s.size());
  if (L <= 1) return;
  const double f = rng.uniform(min_fraction, 1.0);
  const Index keep = std::clamp<Index>(static_cast<Index>(std::ceil(f * double(L))), 1, L);
  const auto start = static_cast<Index>(rng.below(static_cast<std::uint64_t>(L - keep + 1)));
  s.erase(s.begin() + start + keep, s.end());
  s.erase(s.begin(), s.begin() + start);
}

SIMILE_INLINE void TextPipeline::apply(std::vector<Token>& s, Rng& rng) const {
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    Rng step = rng.split(k);
    steps_[k](s, step);
  }
}

SIMILE_INLINE TextPipeline token_views(const TokenViewOptions& o) {
  check<ValueError>(o.drop >= 0 && o.drop <= 1, "token_views: drop ", o.drop, " outside [0, 1]");
  check<ValueError>(o.crop > 0 && o.crop <= 1, "token_views: crop ", o.crop, " outside (0, 1]");
  check<ValueError>(o.swaps >= 0, "token_views: swaps ", o.swaps, " must be >= 0");
  TextPipeline p;
  if (o.drop > 0) p.add(TokenDropout(o.drop));
  if (o.crop < 1) p.add(TokenCrop(o.crop));
  if (o.swaps > 0) p.add(RandomSwap(o.swaps));
  return p;
}

SIMILE_INLINE TextMultiView TextMultiView::same(const TextPipeline& p, int k) {
  check<ValueError>(k >= 1, "TextMultiView::same: view count ", k, " must be at least 1");
  return TextMultiView(std::vector<TextPipeline>(static_cast<std::size_t>(k), p));
}

SIMILE_INLINE TokenBatch TextMultiView::make_stacked(const TextDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch) const {
  std::vector<const TextDataset*> same(views_.size(), &data);
  return make_stacked(same, indices, seed, epoch);
}

SIMILE_INLINE TokenBatch TextMultiView::make_stacked(std::span<const TextDataset* const> per_view, std::span<const Index> indices,
                                                     std::uint64_t seed, std::uint64_t epoch) const {
  check<ValueError>(per_view.size() == views_.size(), "TextMultiView::make_stacked: ", per_view.size(),
                    " datasets for ", views_.size(), " views");
  for (std::size_t v = 0; v < per_view.size(); ++v)
    for (Index i : indices) detail::check_index("TextMultiView::make_stacked", i, per_view[v]->size());
  auto B = static_cast<Index>(indices.size());
  std::vector<std::vector<Token>> seqs(std::size_t(count()) * std::size_t(B));
  parallel_for(0, B, 8, [&](Index begin, Index end) {
    for (Index b = begin; b < end; ++b) {
      Index i = indices[std::size_t(b)];
      for (int v = 0; v < count(); ++v) {
        TextSample s = per_view[std::size_t(v)]->get(i);
        std::vector<Token>& out = seqs[std::size_t(v) * std::size_t(B) + std::size_t(b)];
        out.assign(s.tokens.begin(), s.tokens.end());
        Rng rng = Rng::stream(seed, epoch, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(v));
        views_[std::size_t(v)].apply(out, rng);
      }
    }
  });
  return pad_sequences(seqs);
}

}  // namespace simile
