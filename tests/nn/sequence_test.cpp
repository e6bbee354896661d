// The sequence layers: Embedding, LayerNorm, MultiheadAttention, TransformerEncoderLayer and
// TransformerEncoder. PyTorch's names and shapes, gradchecks in double through whole modules, what padding
// must not change, clone, errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "simile/nn/attention.hpp"
#include "simile/nn/embedding.hpp"
#include "simile/nn/layer_norm.hpp"
#include "simile/nn/transformer.hpp"
#include "simile/ops.hpp"
#include "support/names.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using namespace simile::testing;

Tensor<std::uint8_t> mask_of(const std::vector<std::uint8_t>& m, Index B, Index L) {
  Tensor<std::uint8_t> t = Tensor<std::uint8_t>::empty({B, L});
  std::copy(m.begin(), m.end(), t.data());
  return t;
}

TEST(Embedding, NamesInitAndPaddingRow) {
  Rng rng(1);
  nn::Embedding<float> e({.num_embeddings = 50, .embedding_dim = 8, .padding_idx = 0}, rng);
  EXPECT_TRUE(names_are(e.named_parameters(), {{"weight", Shape{50, 8}}}));
  EXPECT_EQ(e.to_string(), "Embedding(50, 8, padding_idx=0)");
  for (Index k = 0; k < 8; ++k) EXPECT_EQ(e.weight().value().at(0, k), 0.0f);
  // N(0, 1) rows: the sample variance of the 392 other entries is near 1.
  double ss = 0;
  for (Index i = 8; i < 400; ++i) ss += double(e.weight().value().data()[i]) * e.weight().value().data()[i];
  EXPECT_NEAR(ss / 392, 1.0, 0.25);
}

TEST(Embedding, ForwardReadsIdsFromValues) {
  Rng rng(2);
  nn::Embedding<double> e({.num_embeddings = 5, .embedding_dim = 3}, rng);
  Var<double> y = e.forward(Var<double>(Tensor<double>::from({4, 0, 2, 2}, {2, 2})));
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  for (Index k = 0; k < 3; ++k) {
    EXPECT_EQ(y.value().at(0, 0, k), e.weight().value().at(4, k));
    EXPECT_EQ(y.value().at(1, 1, k), e.weight().value().at(2, k));
  }
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<double>(Tensor<double>::from({1.5}, {1}))); }, {"Embedding"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<double>(Tensor<double>::from({-1}, {1}))); }, {"-1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { e.forward(Var<double>(Tensor<double>::from({5}, {1}))); }, {"5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::Embedding<double>({.num_embeddings = 0, .embedding_dim = 3}, rng); }, {"Embedding"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::Embedding<double>({.num_embeddings = 4, .embedding_dim = 3, .padding_idx = 4}, rng); }, {"padding_idx"}));
}

TEST(LayerNorm, NamesAndNormalizes) {
  nn::LayerNorm<double> ln({.normalized_dim = 6});
  EXPECT_TRUE(names_are(ln.named_parameters(), {{"weight", Shape{6}}, {"bias", Shape{6}}}));
  Var<double> y = ln.forward(Var<double>(random_tensor<double>({3, 4, 6}, 3, -5, 5)));
  for (Index r = 0; r < 12; ++r) {
    double m = 0, v = 0;
    for (Index k = 0; k < 6; ++k) m += y.value().data()[r * 6 + k] / 6;
    for (Index k = 0; k < 6; ++k) v += (y.value().data()[r * 6 + k] - m) * (y.value().data()[r * 6 + k] - m) / 6;
    EXPECT_NEAR(m, 0, 1e-12);
    EXPECT_NEAR(v, 1, 1e-4);  // var / (var + eps)
  }
  EXPECT_TRUE(throws_with<ValueError>([] { nn::LayerNorm<double>({.normalized_dim = 0}); }, {"LayerNorm"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ln.forward(Var<double>(Tensor<double>::zeros({2, 5}))); }, {"layer_norm"}));
}

TEST(MultiheadAttention, PyTorchNamesAndShapes) {
  Rng rng(3);
  nn::MultiheadAttention<float> a({.embed_dim = 16, .num_heads = 4}, rng);
  EXPECT_TRUE(names_are(a.named_parameters(), {{"in_proj_weight", Shape{48, 16}}, {"in_proj_bias", Shape{48}},
                                               {"out_proj.weight", Shape{16, 16}}, {"out_proj.bias", Shape{16}}}));
  // Xavier uniform: |w| <= sqrt(6 / (16 + 48)); biases start at zero.
  for (float w : a.parameter("in_proj_weight").value().span()) EXPECT_LE(std::abs(w), std::sqrt(6.0f / 64) + 1e-6f);
  for (float b : a.parameter("in_proj_bias").value().span()) EXPECT_EQ(b, 0.0f);
  for (float b : a.parameter("out_proj.bias").value().span()) EXPECT_EQ(b, 0.0f);
  EXPECT_EQ(a.forward(Var<float>(Tensor<float>::zeros({2, 5, 16}))).shape(), (Shape{2, 5, 16}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::MultiheadAttention<float>({.embed_dim = 10, .num_heads = 4}, rng); }, {"divisible"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.forward(Var<float>(Tensor<float>::zeros({2, 16}))); }, {"MultiheadAttention"}));
}

TEST(MultiheadAttention, GradcheckWithPadding) {
  Rng rng(4);
  nn::MultiheadAttention<double> a({.embed_dim = 6, .num_heads = 2}, rng);
  Tensor<std::uint8_t> mask = mask_of({1, 1, 1, 1, 0, 0}, 2, 3);
  Var<double> x = random_param({2, 3, 6}, 5);
  std::vector<Var<double>> inputs{x};
  for (auto& p : a.parameters()) inputs.push_back(p);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>&) { return sum(a.attend(x, mask)); }, inputs));
}

TEST(MultiheadAttention, PaddedKeysChangeNothing) {
  // The real tokens' outputs do not depend on what sits in the padded positions.
  Rng rng(6);
  nn::MultiheadAttention<double> a({.embed_dim = 8, .num_heads = 2}, rng);
  Tensor<double> x = random_tensor<double>({1, 5, 8}, 7);
  Tensor<double> y = a.attend(Var<double>(x), mask_of({1, 1, 1, 0, 0}, 1, 5)).value();
  Tensor<double> x2 = x.clone();
  for (Index k = 3 * 8; k < 5 * 8; ++k) x2.data()[k] = 100.0 * (k % 3 - 1);
  Tensor<double> y2 = a.attend(Var<double>(x2), mask_of({1, 1, 1, 0, 0}, 1, 5)).value();
  for (Index k = 0; k < 3 * 8; ++k) EXPECT_NEAR(y.data()[k], y2.data()[k], 1e-12);
  // And they equal the attention over the 3 real tokens alone.
  Tensor<double> x3 = Tensor<double>::empty({1, 3, 8});
  std::copy_n(x.data(), 24, x3.data());
  Tensor<double> y3 = a.forward(Var<double>(x3)).value();
  for (Index k = 0; k < 24; ++k) EXPECT_NEAR(y.data()[k], y3.data()[k], 1e-12);
}

TEST(TransformerEncoderLayer, PyTorchNamesOrderAndRepr) {
  Rng rng(8);
  nn::TransformerEncoder<float> enc({.d_model = 8, .nhead = 2, .dim_feedforward = 16}, 2, rng);
  std::vector<std::string> names;
  for (auto& [n, t] : enc.state_dict()) names.push_back(n);
  // nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True), 2,
  // norm=nn.LayerNorm(8)).state_dict().keys()
  std::vector<std::string> expected;
  for (std::string l : {"layers.0.", "layers.1."})
    for (std::string k : {"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                          "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                          "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"})
      expected.push_back(l + k);
  expected.push_back("norm.weight");
  expected.push_back("norm.bias");
  EXPECT_EQ(names, expected);
  EXPECT_EQ(enc.parameter("layers.1.linear1.weight").shape(), (Shape{16, 8}));
  EXPECT_NE(enc.child("layers.0")->to_string().find("norm_first=true"), std::string::npos);
}

TEST(TransformerEncoderLayer, PreNormFormula) {
  // With dropout 0 the layer is x + attn(norm1(x)) then h + linear2(gelu(linear1(norm2(h)))), written out
  // with the modules' own children.
  Rng rng(9);
  nn::TransformerEncoderLayer<double> layer({.d_model = 4, .nhead = 2, .dim_feedforward = 6, .dropout = 0.0}, rng);
  Tensor<std::uint8_t> mask = mask_of({1, 1, 0}, 1, 3);
  Var<double> x(random_tensor<double>({1, 3, 4}, 10));
  auto& attn = static_cast<nn::MultiheadAttention<double>&>(*layer.child("self_attn"));
  Var<double> h = add(x, attn.attend(layer.child("norm1")->forward(x), mask));
  Var<double> f = layer.child("linear2")->forward(gelu(layer.child("linear1")->forward(layer.child("norm2")->forward(h))));
  EXPECT_TRUE(tensors_near(layer.encode(x, mask).value(), add(h, f).value(), 1e-14, 1e-13));
}

TEST(TransformerEncoder, PackedTokensComputeWhatThePaddedLayoutComputes) {
  // With a mask the encoder runs its layers on the real tokens only: the same values at the real
  // positions as the layers run on the padded layout, and zeros at the padded ones.
  Rng rng(14);
  nn::TransformerEncoder<double> enc({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0}, 2, rng);
  Tensor<std::uint8_t> mask = mask_of({1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 3, 5);
  Var<double> x(random_tensor<double>({3, 5, 8}, 15));
  Tensor<double> packed = enc.encode(x, mask).value();
  Var<double> h = x;
  for (Index i = 0; i < 2; ++i)
    h = static_cast<nn::TransformerEncoderLayer<double>&>(*enc.child("layers." + std::to_string(i))).encode(h, mask);
  Tensor<double> padded = enc.child("norm")->forward(h).value();
  for (Index p = 0; p < 15; ++p)
    for (Index k = 0; k < 8; ++k)
      EXPECT_NEAR(packed.data()[p * 8 + k], mask.data()[p] ? padded.data()[p * 8 + k] : 0.0, 1e-12) << p;
  EXPECT_TRUE(throws_with<ShapeError>([&] { enc.encode(x, mask_of({1, 1}, 1, 2)); }, {"key_mask"}));
}

TEST(TransformerEncoder, GradcheckAndDropoutOnlyInTraining) {
  Rng rng(11);
  nn::TransformerEncoder<double> enc({.d_model = 4, .nhead = 2, .dim_feedforward = 8, .dropout = 0.0}, 2, rng);
  Tensor<std::uint8_t> mask = mask_of({1, 1, 1, 1, 1, 0}, 2, 3);
  Var<double> x = random_param({2, 3, 4}, 12);
  std::vector<Var<double>> inputs{x};
  for (auto& p : enc.parameters()) inputs.push_back(p);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>&) { return sum(enc.encode(x, mask)); }, inputs));

  nn::TransformerEncoder<double> noisy({.d_model = 4, .nhead = 2, .dropout = 0.3}, 1, rng);
  Var<double> z(random_tensor<double>({2, 3, 4}, 13));
  EXPECT_FALSE(tensors_near(noisy.encode(z, mask).value(), noisy.encode(z, mask).value(), 1e-12, 1e-12));
  noisy.eval();
  EXPECT_TRUE(tensors_near(noisy.encode(z, mask).value(), noisy.encode(z, mask).value(), 0, 0));
  // A clone computes the same and owns its weights.
  auto copy = noisy.clone();
  EXPECT_TRUE(tensors_near(copy->encode(z, mask).value(), noisy.encode(z, mask).value(), 0, 0));
  EXPECT_NE(copy->parameter("norm.weight").value().data(), noisy.parameter("norm.weight").value().data());
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::TransformerEncoder<double>({.d_model = 4, .nhead = 2}, 0, rng); }, {"num_layers"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::TransformerEncoderLayer<double>({.d_model = 4, .nhead = 2, .dropout = 1.0}, rng); }, {"dropout"}));
}

}  // namespace
