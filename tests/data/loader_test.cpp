#include "simile/data/loader.hpp"

#include <set>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {

/// The views of batch `b` of `l` through `mv`, one tensor per view: views are made in augment/ over the
/// loader's indices.
std::vector<Tensor<float>> views_of(const Loader<ImageDataset>& l, Index b, const MultiView& mv) {
  ViewWorkspace ws;
  return mv.make_batch(l.dataset(), l.indices(b), l.options().seed, l.epoch(), ws);
}
using testing::throws_with;

/// n random grayscale h x w images (fixed seed) with labels i % 10.
ImageDataset random_images(Index n, Index c, Index h, Index w, std::uint64_t seed = 1) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({n, c, h, w});
  Rng rng(seed);
  for (auto& v : t.span()) v = static_cast<std::uint8_t>(rng.below(256));
  std::vector<std::int64_t> labels;
  for (Index i = 0; i < n; ++i) labels.push_back(i % 10);
  return ImageDataset(t, labels);
}

Pipeline simclr_pipeline(Index size) {
  Pipeline p;
  p.add(RandomResizedCrop({.height = size, .width = size, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  return p;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * sizeof(float)) == 0;
}

TEST(Loader, ShuffleIsAPermutationPerEpochAndSeeded) {
  ImageDataset d = random_images(103, 1, 4, 4);
  Loader<ImageDataset> a(d, {.batch_size = 10, .seed = 5});
  EXPECT_EQ(a.num_batches(), 11);
  EXPECT_EQ(a.indices(10).size(), 3u);
  std::vector<Index> seen;
  for (Index b = 0; b < a.num_batches(); ++b) seen.insert(seen.end(), a.indices(b).begin(), a.indices(b).end());
  std::vector<Index> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  for (Index i = 0; i < 103; ++i) ASSERT_EQ(sorted[std::size_t(i)], i);
  std::vector<Index> epoch0 = a.order();
  a.set_epoch(1);
  EXPECT_NE(a.order(), epoch0);
  Loader<ImageDataset> again(d, {.batch_size = 10, .seed = 5});
  EXPECT_EQ(again.order(), epoch0);
  Loader<ImageDataset> other(d, {.batch_size = 10, .seed = 6});
  EXPECT_NE(other.order(), epoch0);
  Loader<ImageDataset> plain(d, {.batch_size = 10, .shuffle = false, .drop_last = true});
  EXPECT_EQ(plain.num_batches(), 10);
  EXPECT_EQ(plain.indices(9)[9], 99);
  EXPECT_TRUE(throws_with<ValueError>([&] { plain.indices(10); }, {"Loader", "batch 10", "10 batches"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { Loader<ImageDataset>(d, {.batch_size = 0}); }, {"batch_size 0"}));
}

TEST(Loader, ShuffleIsUniform) {
  // Where sample 0 lands over 6000 epochs of a 6-sample dataset: each position about 1000 times.
  ImageDataset d = random_images(6, 1, 2, 2);
  Loader<ImageDataset> l(d, {.batch_size = 6, .seed = 77});
  std::vector<int> where(6);
  for (std::uint64_t e = 0; e < 6000; ++e) {
    l.set_epoch(e);
    auto it = std::find(l.order().begin(), l.order().end(), 0);
    ++where[std::size_t(it - l.order().begin())];
  }
  for (int c : where) EXPECT_NEAR(c, 1000, 120);  // about 4 standard deviations (sqrt(833) = 29)
}

TEST(Loader, CustomSamplerAndPlainBatch) {
  ImageDataset d = random_images(20, 1, 3, 3);
  Sampler evens = [](Index n, std::uint64_t) {
    std::vector<Index> o;
    for (Index i = 0; i < n; i += 2) o.push_back(i);
    return o;
  };
  Loader<ImageDataset> l(d, {.batch_size = 4}, evens);
  EXPECT_EQ(l.num_batches(), 3);
  Batch b = l.batch(1);
  EXPECT_EQ(b.data.shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(b.indices, (std::vector<Index>{8, 10, 12, 14}));
  EXPECT_EQ(b.labels, (std::vector<std::int64_t>{8, 0, 2, 4}));
  for (Index j = 0; j < 9; ++j) EXPECT_FLOAT_EQ(b.data.data()[9 + j], d.get(10).pixels[j] / 255.0f);
  Sampler bad = [](Index, std::uint64_t) { return std::vector<Index>{0, 25}; };
  EXPECT_TRUE(throws_with<ValueError>([&] { Loader<ImageDataset>(d, {}, bad); }, {"sampler", "25", "20 samples"}));

  VectorDataset v(Tensor<float>::from({1, 2, 3, 4, 5, 6}, {3, 2}));
  Loader<VectorDataset> lv(v, {.batch_size = 2, .shuffle = false});
  Batch bv = lv.batch(1);
  EXPECT_EQ(bv.data.shape(), (Shape{1, 2}));
  EXPECT_EQ(bv.data.data()[1], 6.0f);
  EXPECT_TRUE(bv.labels.empty());
}

TEST(Loader, ViewsSameBitsAtOneAndTwoThreadsAndDifferAcrossEpochs) {
  ImageDataset d = random_images(37, 1, 28, 28);
  MultiView mv = MultiView::same(simclr_pipeline(28), 2);
  auto run = [&](int threads, std::uint64_t epoch) {
    ThreadScope scope(threads);
    Loader<ImageDataset> l(d, {.batch_size = 16, .seed = 3});
    l.set_epoch(epoch);
    std::vector<Tensor<float>> all;
    for (Index b = 0; b < l.num_batches(); ++b)
      for (auto& t : views_of(l, b, mv)) all.push_back(t);
    return all;
  };
  auto one = run(1, 0), two = run(2, 0), next = run(2, 1);
  ASSERT_EQ(one.size(), 6u);
  for (std::size_t k = 0; k < one.size(); ++k) EXPECT_TRUE(same_bits(one[k], two[k])) << "tensor " << k;
  EXPECT_EQ(one[0].shape(), (Shape{16, 1, 28, 28}));
  EXPECT_EQ(one[4].shape(), (Shape{5, 1, 28, 28}));
  EXPECT_FALSE(same_bits(one[0], next[0]));
  // The two views of a sample differ, and lie in [0, 1].
  EXPECT_FALSE(same_bits(one[0], one[1]));
  for (float v : one[0].span()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

TEST(Loader, ViewsDoNotDependOnBatchComposition) {
  // A sample's views in an epoch are the same whichever batch (and position) it lands in.
  ImageDataset d = random_images(12, 3, 10, 10);
  Pipeline p;
  p.add(RandomResizedCrop({.height = 8, .width = 8})).add(ColorJitter({.brightness = 0.8, .saturation = 0.8, .hue = 0.2}));
  MultiView mv = MultiView::same(p, 2);
  Loader<ImageDataset> a(d, {.batch_size = 12, .shuffle = false, .seed = 9});
  Loader<ImageDataset> b(d, {.batch_size = 5, .shuffle = true, .seed = 9});
  std::vector<Tensor<float>> all = views_of(a, 0, mv), part = views_of(b, 1, mv);
  std::span<const Index> part_indices = b.indices(1);
  Index per = 3 * 8 * 8;
  for (std::size_t k = 0; k < part_indices.size(); ++k) {
    Index i = part_indices[k];
    for (int v = 0; v < 2; ++v)
      EXPECT_EQ(std::memcmp(all[std::size_t(v)].data() + i * per, part[std::size_t(v)].data() + Index(k) * per,
                            std::size_t(per) * 4), 0)
          << "sample " << i << " view " << v;
  }
}

TEST(Loader, AsymmetricAndMultiCropViews) {
  ImageDataset d = random_images(9, 3, 32, 32);
  Pipeline global, local, byol2;
  global.add(RandomResizedCrop({.height = 24, .width = 24, .scale = {0.4, 1.0}}));
  local.add(RandomResizedCrop({.height = 12, .width = 12, .scale = {0.05, 0.4}}));
  byol2 = global;
  byol2.add(Solarize(0.5f), 0.2).add(GaussianBlur({.sigma = {0.1, 2.0}}), 0.1);
  Loader<ImageDataset> l(d, {.batch_size = 4, .seed = 1});
  std::vector<Tensor<float>> mc = views_of(l, 0, MultiView::multi_crop(global, 2, local, 4));
  ASSERT_EQ(mc.size(), 6u);
  EXPECT_EQ(mc[1].shape(), (Shape{4, 3, 24, 24}));
  EXPECT_EQ(mc[5].shape(), (Shape{4, 3, 12, 12}));
  std::vector<Tensor<float>> as = views_of(l, 0, MultiView({global, byol2}));
  EXPECT_EQ(as[1].shape(), (Shape{4, 3, 24, 24}));
  // Views 0 and 1 draw from different streams, so even their shared crop step differs.
  EXPECT_FALSE(same_bits(as[0], as[1]));
  // Stacked, the same views are the row blocks of one tensor.
  ImageViewSource source(l, MultiView({global, byol2}));
  ViewBatch stacked = source.batch(0);
  EXPECT_EQ(stacked.views.data.shape(), (Shape{8, 3, 24, 24}));
  EXPECT_TRUE(same_bits(stacked.views.view(1), as[1]));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ImageViewSource(l, MultiView::multi_crop(global, 1, local, 1)).batch(0); },
                                      {"make_stacked", "view 1", "multi-crop"}));
  // A pipeline without a resizing step keeps the input size.
  Pipeline rotate_only;
  rotate_only.add(RandomRotation({.degrees = 5}));
  EXPECT_EQ(views_of(l, 0, MultiView::same(rotate_only, 1))[0].shape(), (Shape{4, 3, 32, 32}));
}

TEST(Loader, MismatchedViewSizesNameTheSample) {
  // A custom transform whose output size depends on the draw.
  struct RandomSize {
    void apply(Image& im, Rng& rng) const {
      Index s = 4 + static_cast<Index>(rng.below(3));
      Rng none(0);
      Resize(s, s).apply(im, none);
    }
  };
  static_assert(Transform<RandomSize>);
  ImageDataset d = random_images(30, 1, 8, 8);
  Pipeline p;
  p.add(RandomSize{});
  Loader<ImageDataset> l(d, {.batch_size = 30});
  EXPECT_TRUE(throws_with<ShapeError>([&] { views_of(l, 0, MultiView::same(p, 1)); }, {"make_batch", "view 0", "sample"}));
}

}  // namespace
}  // namespace simile
