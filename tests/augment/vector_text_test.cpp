#include "simile/augment.hpp"
#include "simile/data/loader.hpp"

#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

TEST(VectorTransforms, MaskingRateAndNoiseScale) {
  std::vector<float> x(10000, 1.0f);
  Rng rng(3);
  FeatureMasking(0.3, -5.0f).apply(x, rng);
  auto masked = std::count(x.begin(), x.end(), -5.0f);
  EXPECT_NEAR(masked / 10000.0, 0.3, 0.02);
  std::vector<float> y(20000, 0.0f);
  FeatureNoise(0.5f).apply(y, rng);
  double m = 0, v = 0;
  for (float a : y) m += a;
  m /= 20000;
  for (float a : y) v += (a - m) * (a - m);
  EXPECT_NEAR(std::sqrt(v / 20000), 0.5, 0.01);
  EXPECT_NEAR(m, 0.0, 0.015);
  EXPECT_TRUE(throws_with<ValueError>([] { FeatureMasking(2.0); }, {"FeatureMasking", "2"}));
}

TEST(VectorTransforms, ScarfReplacesAFixedFractionFromTheSameColumn) {
  // Column j of the table holds values 1000 * j + row, so a replaced value reveals its column.
  Index N = 50, D = 10;
  Tensor<float> table = Tensor<float>::empty({N, D});
  for (Index r = 0; r < N; ++r)
    for (Index j = 0; j < D; ++j) table.at(r, j) = float(1000 * j + r);
  ScarfCorruption scarf(table, 0.6);
  std::vector<int> hits(static_cast<std::size_t>(D));
  for (std::uint64_t s = 0; s < 2000; ++s) {
    std::vector<float> x(static_cast<std::size_t>(D), -1.0f);
    Rng rng(s);
    scarf.apply(x, rng);
    int changed = 0;
    for (Index j = 0; j < D; ++j) {
      float v = x[std::size_t(j)];
      if (v == -1.0f) continue;
      ++changed;
      ++hits[std::size_t(j)];
      ASSERT_GE(v, 1000.0f * j);
      ASSERT_LT(v, 1000.0f * j + N);
    }
    ASSERT_EQ(changed, 6);
  }
  for (int h : hits) EXPECT_NEAR(h / 2000.0, 0.6, 0.05);  // every column equally likely
  std::vector<float> wrong(3);
  Rng rng(0);
  EXPECT_TRUE(throws_with<ShapeError>([&] { scarf.apply(wrong, rng); }, {"ScarfCorruption", "3 features", "10"}));
}

TEST(VectorTransforms, LoaderViewsAreThreadIndependent) {
  VectorDataset d(testing::random_tensor<float>({41, 6}, 4));
  VectorPipeline p;
  p.add(ScarfCorruption(d.features(), 0.5)).add(FeatureNoise(0.1f));
  VectorMultiView mv = VectorMultiView::same(p, 2);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    return VectorViewSource(Loader<VectorDataset>(d, {.batch_size = 41, .seed = 8}), mv).batch(0).views;
  };
  Views<float> a = run(1), b = run(2);
  ASSERT_EQ(a.count, 2);
  EXPECT_EQ(a.data.shape(), (Shape{82, 6}));
  EXPECT_TRUE(testing::tensors_near(a.data, b.data, 0, 0));
  EXPECT_FALSE(testing::tensors_near(a.view(0), a.view(1), 1e-3, 0));
}

TEST(TextTransforms, EachEditDoesWhatItSays) {
  std::vector<Token> base;
  for (Token t = 10; t < 30; ++t) base.push_back(t);
  Rng rng(1);
  auto s = base;
  TokenMasking(1.0).apply(s, rng);
  EXPECT_TRUE(std::all_of(s.begin(), s.end(), [](Token t) { return t == Vocabulary::mask; }));
  s = base;
  TokenDropout(1.0).apply(s, rng);
  ASSERT_EQ(s.size(), 1u);  // never empty
  EXPECT_TRUE(s[0] >= 10 && s[0] < 30);
  s = base;
  RandomSwap(3).apply(s, rng);
  auto sorted = s;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, base);
  for (std::uint64_t k = 0; k < 200; ++k) {
    s = base;
    Rng r(k);
    SpanDeletion(0.25).apply(s, r);
    ASSERT_GE(s.size(), 15u);
    ASSERT_LE(s.size(), 19u);
    // What is left is the original minus one contiguous span.
    std::size_t cut = 0;
    while (cut < s.size() && s[cut] == base[cut]) ++cut;
    std::size_t gap = base.size() - s.size();
    for (std::size_t i = cut; i < s.size(); ++i) ASSERT_EQ(s[i], base[i + gap]);
  }
  std::vector<int> kept(1);
  for (std::uint64_t k = 0; k < 500; ++k) {
    s = base;
    Rng r(k);
    TokenDropout(0.25).apply(s, r);
    kept[0] += static_cast<int>(s.size());
  }
  EXPECT_NEAR(kept[0] / (500.0 * 20), 0.75, 0.02);
}

TEST(TextTransforms, TokenViewsComposeWhatTheyAreAskedFor) {
  EXPECT_EQ(token_views({}).size(), 0u);  // SimCSE: no token-level noise
  EXPECT_EQ(token_views({.drop = 0.1}).size(), 1u);
  EXPECT_EQ(token_views({.crop = 0.5, .swaps = 2}).size(), 2u);
  EXPECT_EQ(token_views({.drop = 0.1, .crop = 0.5, .swaps = 2}).size(), 3u);
  std::vector<Token> base;
  for (Token t = 100; t < 140; ++t) base.push_back(t);
  for (std::uint64_t k = 0; k < 100; ++k) {
    // A crop alone: one contiguous window of at least ceil(0.5 * 40) tokens.
    auto s = base;
    Rng r(k);
    token_views({.crop = 0.5}).apply(s, r);
    ASSERT_GE(s.size(), 20u);
    const auto at = std::find(base.begin(), base.end(), s[0]) - base.begin();
    ASSERT_TRUE(std::equal(s.begin(), s.end(), base.begin() + at));
    // Swaps alone: a permutation. Drop then crop then swap: distinct tokens of the original, at least one.
    s = base;
    token_views({.swaps = 5}).apply(s, r);
    auto sorted = s;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, base);
    s = base;
    token_views({.drop = 0.5, .crop = 0.3, .swaps = 3}).apply(s, r);
    ASSERT_GE(s.size(), 1u);
    ASSERT_LE(s.size(), 40u);
    sorted = s;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_TRUE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    ASSERT_TRUE(std::includes(base.begin(), base.end(), sorted.begin(), sorted.end()));
  }
  std::vector<Token> empty;
  Rng r(0);
  token_views({.drop = 1, .crop = 0.001, .swaps = 9}).apply(empty, r);  // nothing to edit: stays empty
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(throws_with<ValueError>([] { token_views({.drop = 1.5}); }, {"token_views", "drop 1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([] { token_views({.crop = 0}); }, {"token_views", "crop 0"}));
  EXPECT_TRUE(throws_with<ValueError>([] { token_views({.crop = 1.01}); }, {"token_views", "crop 1.01"}));
  EXPECT_TRUE(throws_with<ValueError>([] { token_views({.swaps = -1}); }, {"token_views", "swaps -1"}));
  EXPECT_TRUE(throws_with<ValueError>([] { token_views({.drop = std::nan("")}); }, {"token_views", "drop nan"}));
}

TEST(TextTransforms, LoaderViewsArePaddedAndDeterministic) {
  TextDataset d({{5, 6, 7, 8}, {9}, {10, 11, 12, 13, 14, 15}}, {0, 1, 0});
  TextPipeline p;
  p.add(TokenDropout(0.3)).add(TokenMasking(0.2));
  TextMultiView mv = TextMultiView::same(p, 2);
  auto run = [&](int threads) {
    ThreadScope scope(threads);
    Loader<TextDataset> l(d, {.batch_size = 3, .seed = 2});
    return mv.make_stacked(l.dataset(), l.indices(0), l.options().seed, l.epoch());
  };
  TokenBatch a = run(1), b = run(2);
  EXPECT_TRUE(testing::tensors_near(a.ids, b.ids, 0, 0));
  ASSERT_EQ(a.ids.dim(0), 6);  // 2 views x 3 sequences, padded to the longest of all
  Index L = a.ids.dim(1);
  EXPECT_EQ(L, *std::max_element(a.lengths.begin(), a.lengths.end()));
  for (Index r = 0; r < 6; ++r)
    for (Index j = a.lengths[std::size_t(r)]; j < L; ++j) EXPECT_EQ(a.ids.at(r, j), Vocabulary::pad);
  // The text view source gives the same ids, as floats, with the labels.
  ViewBatch vb = TextViewSource(Loader<TextDataset>(d, {.batch_size = 3, .seed = 2}), mv).batch(0);
  EXPECT_TRUE(testing::tensors_near(vb.views.data, a.ids.to<float>(), 0, 0));
  EXPECT_EQ(vb.labels.size(), 3u);
  Loader<TextDataset> plain(d, {.batch_size = 3, .shuffle = false});
  TokenBatch t = plain.tokens(0);
  EXPECT_EQ(t.ids.shape(), (Shape{3, 6}));
  EXPECT_EQ(t.lengths, (std::vector<Index>{4, 1, 6}));
  EXPECT_EQ(t.ids.at(1, 0), 9);
  EXPECT_EQ(t.ids.at(1, 1), Vocabulary::pad);
}

}  // namespace
}  // namespace simile
