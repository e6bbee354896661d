// The dual encoder with in-batch negatives (recipes `pairs`, `simcse`, `scarf` in the examples): its loss
// against the cross-entropy written out, gradcheck, low temperatures; `TextPairViewSource` and `TokenCrop`;
// and whole training runs of the text and tabular encoders that must learn (loss falls, retrieval improves).
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <vector>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "simile/encoders.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/report.hpp"
#include "simile/eval/retrieval.hpp"
#include "simile/nn.hpp"
#include "simile/ops.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::throws_with;

TEST(DualEncoderLoss, IsTheCrossEntropyOfCosineLogitsBothWays) {
  Var<double> a(random_tensor<double>({5, 3}, 1)), b(random_tensor<double>({5, 3}, 2));
  std::vector<std::int64_t> diag(5);
  std::iota(diag.begin(), diag.end(), 0);
  const double tau = 0.2;
  Var<double> s = scale(cosine_similarity_matrix(a, b), 1 / tau);
  double ab = cross_entropy(s, diag).item(), ba = cross_entropy(transpose(s), diag).item();
  EXPECT_NEAR(dual_encoder_loss(a, b, {.temperature = tau}).item(), (ab + ba) / 2, 1e-13);
  EXPECT_NEAR(dual_encoder_loss(a, b, {.temperature = tau, .symmetric = false}).item(), ab, 1e-13);
}

TEST(DualEncoderLoss, ByHandForTwoPairs) {
  // a = [e1, e2], b = [e1, e2]: logits diag 1/tau, off-diagonal 0; loss = log(1 + e^{-1/tau}) each way.
  Var<double> a(Tensor<double>::from({1, 0, 0, 1}, {2, 2}));
  EXPECT_NEAR(dual_encoder_loss(a, a, {.temperature = 0.5}).item(), std::log(1 + std::exp(-2.0)), 1e-15);
}

TEST(DualEncoderLoss, GradcheckAndLowTemperature) {
  Var<double> a = random_param({4, 3}, 3), b = random_param({4, 3}, 4);
  for (bool sym : {true, false})
    EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& v) { return dual_encoder_loss(v[0], v[1], {.temperature = 0.3, .symmetric = sym}); }, {a, b}));
  // tau = 0.01 on nearly identical rows: logits near 100, still finite.
  Var<float> x(random_tensor<float>({64, 8}, 5, -1e3, 1e3), true);
  Var<float> l = dual_encoder_loss(x, x, {.temperature = 0.01});
  l.backward();
  EXPECT_TRUE(std::isfinite(l.item()));
  for (float g : x.grad().span()) ASSERT_TRUE(std::isfinite(g));
  EXPECT_TRUE(throws_with<ValueError>([&] { dual_encoder_loss(x, x, {.temperature = 0}); }, {"temperature"}));
}

TEST(TokenCrop, KeepsOneContiguousWindow) {
  TokenCrop crop(0.5);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    std::vector<Token> s{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    Rng rng(seed);
    crop.apply(s, rng);
    ASSERT_GE(s.size(), 5u);
    ASSERT_LE(s.size(), 10u);
    for (std::size_t i = 1; i < s.size(); ++i) ASSERT_EQ(s[i], s[i - 1] + 1);
  }
  std::vector<Token> one{7};
  Rng rng(1);
  crop.apply(one, rng);
  EXPECT_EQ(one, std::vector<Token>{7});
  EXPECT_TRUE(throws_with<ValueError>([] { TokenCrop(0.0); }, {"TokenCrop"}));
}

TEST(TextPairViewSource, ViewZeroAnchorsViewOnePositives) {
  TextDataset anchors(std::vector<std::vector<Token>>{{5, 6}, {7}, {8, 9, 10}, {11}}),
      positives(std::vector<std::vector<Token>>{{20}, {21, 22, 23, 24}, {25}, {26, 27}});
  TextPairViewSource src(Loader<TextDataset>(anchors, {.batch_size = 2, .shuffle = true, .seed = 3}), positives,
                         TextMultiView::same(TextPipeline{}, 2));
  src.set_epoch(0);
  ViewBatch b = src.batch(0);
  ASSERT_EQ(b.views.count, 2);
  const Tensor<float>& ids = b.views.data;
  ASSERT_EQ(ids.dim(0), 4);
  std::size_t longest = 0;
  for (Index i : b.indices)
    longest = std::max({longest, anchors.sequences()[std::size_t(i)].size(), positives.sequences()[std::size_t(i)].size()});
  EXPECT_EQ(ids.dim(1), Index(longest));  // padded to the longest of the four sequences
  for (Index r = 0; r < 2; ++r) {
    Index i = b.indices[std::size_t(r)];
    EXPECT_EQ(ids.at(r, 0), anchors.sequences()[std::size_t(i)][0]);
    EXPECT_EQ(ids.at(2 + r, 0), positives.sequences()[std::size_t(i)][0]);
  }
  EXPECT_TRUE(throws_with<ShapeError>([&] {
    TextPairViewSource(Loader<TextDataset>(anchors, {.batch_size = 2}), TextDataset(std::vector<std::vector<Token>>{{1}}), TextMultiView::same(TextPipeline{}, 2));
  }, {"4 anchors but 1 positives"}));
}

/// Ten "concepts", each a set of 4 token ids; a sentence is 3 tokens of its concept, a positive another
/// sentence of the same concept. A dual encoder must learn to retrieve the positive.
struct ToyPairs {
  TextDataset anchors, positives, queries, documents;
  std::vector<Index> relevant;
  explicit ToyPairs(std::uint64_t seed) {
    Rng rng(seed);
    auto sentence = [&](int c) {
      std::vector<Token> s;
      for (int k = 0; k < 3; ++k) s.push_back(Token(3 + 4 * c + int(rng.below(4))));
      return s;
    };
    std::vector<std::vector<Token>> a, p, q, d;
    for (int i = 0; i < 400; ++i) a.push_back(sentence(i % 10)), p.push_back(sentence(i % 10));
    for (int c = 0; c < 10; ++c) q.push_back(sentence(c)), d.push_back(sentence(c)), relevant.push_back(c);
    anchors = TextDataset(a), positives = TextDataset(p), queries = TextDataset(q), documents = TextDataset(d);
  }
};

TEST(DualEncoder, LearnsToRetrievePairs) {
  for (auto arch : {encoders::TextArchitecture::bag, encoders::TextArchitecture::transformer}) {
    SCOPED_TRACE(encoders::to_string(arch));
    ToyPairs data(7);
    Rng rng(1);
    auto enc = std::make_shared<encoders::TextEncoder<float>>(
        encoders::TextEncoderOptions{.architecture = arch, .vocab_size = 43, .width = 16, .layers = 1, .heads = 2,
                                     .max_length = 8, .dropout = 0.0},
        rng);
    DualEncoder<float> recipe("pairs", enc, std::make_shared<nn::Identity<float>>(), {.temperature = 0.1});
    EXPECT_EQ(recipe.name(), "pairs");
    TextPairViewSource src(Loader<TextDataset>(data.anchors, {.batch_size = 40, .shuffle = true, .drop_last = true, .seed = 1}),
                           data.positives, TextMultiView::same(TextPipeline{}, 2));
    optim::Adam<float> adam(recipe.model().parameters(), {.lr = 3e-3});
    RetrievalResult before = retrieval_metrics(embed(*enc, data.queries), embed(*enc, data.documents), data.relevant);
    Trainer<float> trainer(recipe, src, adam, {.epochs = 8, .threads = 1});
    TrainResult r = trainer.fit();
    RetrievalResult after = retrieval_metrics(embed(*enc, data.queries), embed(*enc, data.documents), data.relevant);
    EXPECT_LT(r.final_loss, std::log(40.0) * 0.5);  // chance is log(40)
    EXPECT_GE(after.recall_at_1, 0.9);
    EXPECT_GT(after.mrr, before.mrr);
  }
}

TEST(DualEncoder, ResumedRunDrawsTheSameDropoutMasks) {
  // The checkpoint holds the dropout layers' random streams (train.rng.*): 3 steps, a checkpoint, 3 more in a
  // new trainer end with the bits of 6 uninterrupted steps.
  ToyPairs data(9);
  auto make = [&] {
    Rng rng(4);
    auto enc = std::make_shared<encoders::TextEncoder<float>>(
        encoders::TextEncoderOptions{.vocab_size = 43, .width = 8, .layers = 1, .heads = 2, .max_length = 8, .dropout = 0.2}, rng);
    return std::make_unique<DualEncoder<float>>("simcse", enc, std::make_shared<nn::Identity<float>>());
  };
  auto run = [&](DualEncoder<float>& recipe, std::int64_t steps, const std::string& resume, const std::string& save) {
    TextViewSource src(Loader<TextDataset>(data.anchors, {.batch_size = 20, .shuffle = true, .drop_last = true, .seed = 2}),
                       TextMultiView::same(TextPipeline{}, 2));
    optim::Adam<float> adam(recipe.model().parameters(), {.lr = 1e-3});
    Trainer<float> trainer(recipe, src, adam, {.epochs = 1, .max_steps = steps, .threads = 1, .checkpoint_path = save});
    if (!resume.empty()) trainer.load_checkpoint(resume);
    trainer.fit();
  };
  const std::string dir = ::testing::TempDir(), ckpt = dir + "simile_dual_resume.safetensors";
  auto whole = make(), first = make(), second = make();
  run(*whole, 6, "", "");
  run(*first, 3, "", ckpt);
  TensorDict saved = load_safetensors(ckpt);
  EXPECT_TRUE(saved.contains("train.rng.encoder.dropout"));
  EXPECT_TRUE(saved.contains("train.rng.encoder.encoder.layers.0.dropout1"));
  run(*second, 6, ckpt, "");
  auto a = whole->model().state_dict(), b = second->model().state_dict();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(testing::tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
  std::remove(ckpt.c_str());
}

TEST(DualEncoder, ScarfOnATableLearns) {
  // Two Gaussian blobs in 6 features: SCARF pretraining keeps them apart in h (the probe stays near 1).
  Rng rng(2);
  Tensor<float> x = Tensor<float>::empty({256, 6});
  std::vector<std::int64_t> y;
  for (Index i = 0; i < 256; ++i) {
    y.push_back(i % 2);
    for (Index k = 0; k < 6; ++k) x.data()[i * 6 + k] = float(rng.normal(i % 2 ? 1.5 : -1.5, 1.0));
  }
  VectorDataset table(x, y);
  Rng init(3);
  auto enc = std::make_shared<encoders::TabularEncoder<float>>(encoders::TabularEncoderOptions{.numeric = 6, .hidden = {32}, .output_dim = 16}, init);
  enc->fit_standardization(x);
  DualEncoder<float> recipe("scarf", enc, std::make_shared<encoders::Mlp<float>>(encoders::MlpOptions{.sizes = {16, 16}}, init),
                            {.temperature = 1.0, .symmetric = false});
  VectorPipeline corrupt;
  corrupt.add(ScarfCorruption(x, 0.5));
  VectorViewSource src(Loader<VectorDataset>(table, {.batch_size = 64, .shuffle = true, .drop_last = true, .seed = 4}),
                       VectorMultiView({VectorPipeline{}, corrupt}));
  optim::Adam<float> adam(recipe.model().parameters(), {.lr = 1e-3});
  Trainer<float> trainer(recipe, src, adam, {.epochs = 10, .threads = 1});
  struct Losses : Callback<float> {
    std::vector<double> v;
    bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), false; }
  };
  auto losses = std::make_shared<Losses>();
  trainer.add_callback(losses);
  trainer.fit();
  double first = (losses->v[0] + losses->v[1]) / 2, last = (losses->v.end()[-1] + losses->v.end()[-2]) / 2;
  EXPECT_LT(last, first);
  Tensor<float> h = embed(*enc, table);
  EXPECT_GE(linear_probe(h, y, h, y).test_accuracy, 0.95);
}

}  // namespace
}  // namespace simile
