// TextEncoder (bag and transformer) and TabularEncoder: names, shapes, what padding and truncation do,
// gradchecks in double, standardization, categorical codes, clone, errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "simile/encoders.hpp"
#include "simile/ops.hpp"
#include "support/names.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using namespace simile::testing;
using encoders::TextArchitecture;

Var<double> ids(const std::vector<double>& v, Index B, Index L) { return Var<double>(Tensor<double>::from(v, {B, L})); }

TEST(TextEncoder, TransformerNamesAndShapes) {
  Rng rng(1);
  encoders::TextEncoder<float> e({.vocab_size = 100, .width = 16, .layers = 2, .heads = 4, .max_length = 12}, rng);
  auto named = e.named_parameters();
  EXPECT_EQ(named[0].first, "embedding.weight");
  EXPECT_EQ(named[1].first, "position.weight");
  EXPECT_EQ(named[2].first, "encoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(named.back().first, "encoder.norm.bias");
  EXPECT_EQ(e.parameter("position.weight").shape(), (Shape{12, 16}));
  // BERT-style small embeddings; the padding row is zero.
  for (Index k = 0; k < 16; ++k) EXPECT_EQ(e.parameter("embedding.weight").value().at(0, k), 0.0f);
  Var<float> h = e.forward(Var<float>(Tensor<float>::from({5, 6, 7, 0, 9, 0, 0, 0}, {2, 4})));
  EXPECT_EQ(h.shape(), (Shape{2, 16}));
  EXPECT_EQ(e.output_dim(), 16);
}

TEST(TextEncoder, BagNamesAndFormula) {
  Rng rng(2);
  encoders::TextEncoder<double> e({.architecture = TextArchitecture::bag, .vocab_size = 20, .width = 4, .dropout = 0.0}, rng);
  EXPECT_TRUE(names_are(e.named_parameters(), {{"embedding.weight", Shape{20, 4}}, {"mlp.0.weight", Shape{8, 4}},
                                               {"mlp.0.bias", Shape{8}}, {"mlp.2.weight", Shape{4, 8}}, {"mlp.2.bias", Shape{4}}}));
  // h = mlp(mean of the rows of the real tokens).
  Var<double> h = e.forward(ids({3, 5, 0}, 1, 3));
  Tensor<double> mean = Tensor<double>::empty({1, 4});
  for (Index k = 0; k < 4; ++k)
    mean.data()[k] = (e.parameter("embedding.weight").value().at(3, k) + e.parameter("embedding.weight").value().at(5, k)) / 2;
  EXPECT_TRUE(tensors_near(h.value(), e.child("mlp")->forward(Var<double>(mean)).value(), 1e-14, 1e-13));
}

TEST(TextEncoder, PaddingAndBatchCompanionsChangeNothing) {
  for (TextArchitecture a : {TextArchitecture::bag, TextArchitecture::transformer}) {
    SCOPED_TRACE(encoders::to_string(a));
    Rng rng(3);
    encoders::TextEncoder<double> e({.architecture = a, .vocab_size = 30, .width = 8, .heads = 2, .dropout = 0.1}, rng);
    e.eval();
    Tensor<double> alone = e.forward(ids({4, 9, 11}, 1, 3)).value();
    Tensor<double> padded = e.forward(ids({4, 9, 11, 0, 0, 7, 7, 7, 7, 7}, 2, 5)).value();
    for (Index k = 0; k < 8; ++k) EXPECT_NEAR(padded.at(0, k), alone.at(0, k), 1e-12);
  }
}

TEST(TextEncoder, TruncatesToMaxLengthAndHandlesEmptyRows) {
  Rng rng(4);
  encoders::TextEncoder<double> e({.vocab_size = 30, .width = 8, .heads = 2, .max_length = 3}, rng);
  e.eval();
  Tensor<double> cut = e.forward(ids({4, 9, 11, 12, 13}, 1, 5)).value();
  Tensor<double> first = e.forward(ids({4, 9, 11}, 1, 3)).value();
  EXPECT_TRUE(tensors_near(cut, first, 0, 0));
  // A row of padding only: zeros, not NaN.
  Tensor<double> empty = e.forward(ids({0, 0, 0, 4, 5, 6}, 2, 3)).value();
  for (Index k = 0; k < 8; ++k) EXPECT_EQ(empty.at(0, k), 0.0);
}

TEST(TextEncoder, Gradcheck) {
  for (TextArchitecture a : {TextArchitecture::bag, TextArchitecture::transformer}) {
    SCOPED_TRACE(encoders::to_string(a));
    Rng rng(5);
    encoders::TextEncoder<double> e({.architecture = a, .vocab_size = 12, .width = 4, .layers = 1, .heads = 2,
                                     .feedforward = 6, .max_length = 4, .dropout = 0.0}, rng);
    Var<double> x = ids({3, 4, 5, 0, 6, 6, 0, 0}, 2, 4);
    std::vector<Var<double>> params = e.parameters();
    EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>&) { return sum(pow(e.forward(x), 2.0)); }, params));
  }
}

TEST(TextEncoder, DropoutMakesTwoViews) {
  // SimCSE's views: the same ids twice in one training batch give different h; in eval mode, the same.
  Rng rng(6);
  encoders::TextEncoder<float> e({.vocab_size = 40, .width = 16, .heads = 4, .dropout = 0.1}, rng);
  Tensor<float> h = e.forward(Var<float>(Tensor<float>::from({5, 6, 7, 5, 6, 7}, {2, 3}))).value();
  EXPECT_GT(std::abs(h.at(0, 0) - h.at(1, 0)) + std::abs(h.at(0, 1) - h.at(1, 1)), 1e-6f);
  e.eval();
  h = e.forward(Var<float>(Tensor<float>::from({5, 6, 7, 5, 6, 7}, {2, 3}))).value();
  for (Index k = 0; k < 16; ++k) EXPECT_NEAR(h.at(0, k), h.at(1, k), 1e-5f);  // rows of one GEMM may differ in the last bit
}

TEST(TextEncoder, Errors) {
  Rng rng(7);
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::TextEncoder<float>({.vocab_size = 3}, rng); }, {"vocab_size"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::TextEncoder<float>({.vocab_size = 10, .width = 10, .heads = 4}, rng); }, {"heads"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::TextEncoder<float>({.vocab_size = 10, .dropout = 1.0}, rng); }, {"dropout"}));
  encoders::TextEncoder<float> e({.vocab_size = 10, .width = 8, .heads = 2}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { e.forward(Var<float>(Tensor<float>::zeros({4}))); }, {"TextEncoder", "[B, L]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<float>(Tensor<float>::from({3, 10}, {1, 2}))); }, {"10"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<float>(Tensor<float>::from({3, 2.5f}, {1, 2}))); }, {"2.5"}));
}

TEST(TabularEncoder, StandardizesAndEmbedsCategories) {
  Rng rng(8);
  encoders::TabularEncoder<double> e({.numeric = 2, .categories = {3}, .category_dim = 2, .hidden = {5}, .output_dim = 4,
                                      .batch_norm = false}, rng);
  EXPECT_TRUE(names_are(e.named_buffers(), {{"mean", Shape{2}}, {"std", Shape{2}}}));
  EXPECT_EQ(e.parameter("categorical.0.weight").shape(), (Shape{3, 2}));
  EXPECT_EQ(e.parameter("mlp.0.weight").shape(), (Shape{5, 4}));
  // Column 0: values 1, 3 (mean 2, std 1); column 1 constant 7 (std 0 -> 1, so it maps to 0).
  e.fit_standardization(Tensor<float>::from({1, 7, 0, 3, 7, 2}, {2, 3}));
  EXPECT_EQ(e.buffer("mean").at(0), 2.0);
  EXPECT_EQ(e.buffer("std").at(0), 1.0);
  EXPECT_EQ(e.buffer("std").at(1), 1.0);
  // h of [3, 7, code 2] is the MLP of [1, 0, E[2]].
  Var<double> h = e.forward(Var<double>(Tensor<double>::from({3, 7, 2}, {1, 3})));
  const Tensor<double>& table = e.parameter("categorical.0.weight").value();
  Tensor<double> in = Tensor<double>::from({1, 0, table.at(2, 0), table.at(2, 1)}, {1, 4});
  EXPECT_TRUE(tensors_near(h.value(), e.child("mlp")->forward(Var<double>(in)).value(), 1e-14, 1e-13));
  std::vector<Var<double>> params = e.parameters();
  Var<double> x(Tensor<double>::from({3, 7, 2, 1, 7, 0, 0.5, 7, 1}, {3, 3}));
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>&) { return sum(pow(e.forward(x), 2.0)); }, params));
}

TEST(TabularEncoder, Errors) {
  Rng rng(9);
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::TabularEncoder<float>({.numeric = 0}, rng); }, {"no features"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::TabularEncoder<float>({.numeric = 1, .categories = {0}}, rng); }, {"categorical column 0"}));
  encoders::TabularEncoder<float> e({.numeric = 1, .categories = {4}, .hidden = {8}, .output_dim = 4}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { e.forward(Var<float>(Tensor<float>::zeros({2, 3}))); }, {"TabularEncoder", "[B, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<float>(Tensor<float>::from({0.5f, 4, 0.5f, 1}, {2, 2}))); }, {"row 0", "[0, 4)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<float>(Tensor<float>::from({0.5f, 1.5f, 0.5f, 1}, {2, 2}))); }, {"1.5"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { e.fit_standardization(Tensor<float>::zeros({3, 5})); }, {"fit_standardization"}));
}

}  // namespace
