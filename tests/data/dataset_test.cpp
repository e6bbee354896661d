#include "simile/data/dataset.hpp"

#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

static_assert(Dataset<ImageDataset> && Dataset<VectorDataset> && Dataset<TextDataset>);

TEST(Dataset, ImageViewsThreeDimsAsOneChannel) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({3, 2, 2});
  for (Index i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<std::uint8_t>(i);
  ImageDataset d(t, {7, 8, 9});
  EXPECT_EQ(d.images().shape(), (Shape{3, 1, 2, 2}));
  ImageSample s = d.get(2);
  EXPECT_EQ(s.pixels[0], 8);
  EXPECT_EQ(s.label, 9);
  EXPECT_EQ(ImageDataset(t).get(0).label, no_label);
  EXPECT_TRUE(throws_with<ValueError>([&] { d.get(3); }, {"ImageDataset::get", "index 3", "3 samples"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ImageDataset(t, {1, 2}); }, {"ImageDataset", "2 labels", "3 samples"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ImageDataset(Tensor<std::uint8_t>::zeros({4, 4})); }, {"[4, 4]"}));
}

TEST(Dataset, VectorAndText) {
  VectorDataset v(Tensor<float>::from({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(v.size(), 3);
  EXPECT_EQ(v.get(1).features[1], 4.f);
  TextDataset t({{1, 2, 3}, {}, {4}}, {0, 1, 0});
  EXPECT_EQ(t.get(0).tokens.size(), 3u);
  EXPECT_EQ(t.get(1).tokens.size(), 0u);
  EXPECT_EQ(t.get(2).label, 0);
  std::vector<Index> pick{2, 0};
  TextDataset ts = subset(t, pick);
  EXPECT_EQ(ts.get(0).tokens[0], 4);
  EXPECT_EQ(ts.labels(), (std::vector<std::int64_t>{0, 0}));
  VectorDataset vs = subset(v, pick);
  EXPECT_EQ(vs.get(1).features[0], 1.f);
}

TEST(Dataset, StratifiedSplitKeepsFractionPerClassAndIsSeeded) {
  // Classes of sizes 100, 50 and 7.
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 157; ++i) labels.push_back(i < 100 ? 0 : i < 150 ? 1 : 2);
  Rng rng(5);
  shuffle(labels, rng);
  Split s = stratified_split(labels, 0.1, 42);
  std::vector<int> count(3);
  for (Index i : s.kept) ++count[std::size_t(labels[std::size_t(i)])];
  EXPECT_EQ(count, (std::vector<int>{10, 5, 1}));
  EXPECT_EQ(s.kept.size() + s.rest.size(), labels.size());
  std::vector<Index> all = s.kept;
  all.insert(all.end(), s.rest.begin(), s.rest.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<Index>(i));
  EXPECT_EQ(stratified_split(labels, 0.1, 42).kept, s.kept);
  EXPECT_NE(stratified_split(labels, 0.1, 43).kept, s.kept);
  EXPECT_TRUE(throws_with<ValueError>([&] { stratified_split(labels, 1.5, 1); }, {"stratified_split", "1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { stratified_split({0, -1}, 0.5, 1); }, {"sample 1", "label -1"}));
}

TEST(Dataset, StratifiedSubsetOfImages) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({20, 1, 2, 2});
  std::vector<std::int64_t> labels;
  for (Index i = 0; i < 20; ++i) {
    std::fill(t.data() + i * 4, t.data() + i * 4 + 4, static_cast<std::uint8_t>(i));
    labels.push_back(i % 2);
  }
  ImageDataset d(t, labels);
  ImageDataset half = stratified_subset(d, 0.5, 3);
  ASSERT_EQ(half.size(), 10);
  for (Index i = 0; i < half.size(); ++i) {
    ImageSample s = half.get(i);
    EXPECT_EQ(s.label, s.pixels[3] % 2);  // each pixel block stays with its label
  }
  EXPECT_TRUE(throws_with<ValueError>([&] { stratified_subset(ImageDataset(t), 0.5, 3); }, {"no labels"}));
}

}  // namespace
TEST(Dataset, FirstSamplesKeepsTheHeadInOrder) {
  Tensor<std::uint8_t> images = Tensor<std::uint8_t>::empty({5, 1, 2, 2});
  for (Index i = 0; i < images.numel(); ++i) images.data()[i] = static_cast<std::uint8_t>(i);
  ImageDataset d(images, {4, 3, 2, 1, 0});
  ImageDataset head = first_samples(d, 2);
  ASSERT_EQ(head.size(), 2);
  EXPECT_EQ(head.labels(), (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(head.get(1).pixels[0], 4);  // image 1 starts at element 4
  EXPECT_EQ(first_samples(d, 9).size(), 5);  // more than there are: all of them
  EXPECT_EQ(first_samples(d, 0).size(), 0);
  VectorDataset v(Tensor<float>::from({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(first_samples(v, 1).features().numel(), 2);
  EXPECT_TRUE(throws_with<ValueError>([&] { first_samples(d, -1); }, {"first_samples", "-1"}));
}

}  // namespace simile
