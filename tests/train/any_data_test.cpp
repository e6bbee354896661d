#include "support/testing.hpp"

#include <filesystem>
#include <unistd.h>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "simile/encoders.hpp"
#include "simile/nn.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"

// The trainer on data other than images: a SCARF-style vector pipeline and a token-sequence pipeline,
// each through its view source, with the same recipe (SimCLR) and the same trainer.

namespace simile {
namespace {
namespace fs = std::filesystem;

/// Records the loss of every step.
struct Losses : Callback<float> {
  std::vector<double> v;
  bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), false; }
};

/// True when some parameter of `after` differs from the same one in `before`.
bool changed(const std::vector<std::pair<std::string, Tensor<float>>>& before, nn::Module<float>& after) {
  auto now = after.state_dict();
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!testing::tensors_near(before[i].second, now[i].second, 0, 0)) return true;
  return false;
}

std::vector<std::pair<std::string, Tensor<float>>> snapshot(nn::Module<float>& m) {
  auto s = m.state_dict();
  for (auto& [name, t] : s) t = t.clone();
  return s;
}

// ---- vectors: SCARF corruption of a table, an MLP encoder ----

VectorDataset table() { return VectorDataset(testing::random_tensor<float>({64, 8}, 21)); }

struct VectorRun {
  VectorDataset data = table();
  VectorViewSource source;
  SimClr<float> recipe;
  optim::Adam<float> opt;
  Trainer<float> trainer;

  static VectorMultiView scarf(const VectorDataset& d) {
    VectorPipeline p;
    p.add(ScarfCorruption(d.features(), 0.5));
    return VectorMultiView::same(p, 2);
  }
  static SimClr<float> simclr() {
    Rng rng(4);
    auto encoder = std::make_shared<encoders::Mlp<float>>(encoders::MlpOptions{.sizes = {8, 16, 16}}, rng);
    auto projector = std::make_shared<nn::Linear<float>>(nn::LinearOptions{16, 8}, rng);
    return SimClr<float>(encoder, projector, {.temperature = 0.5});
  }
  explicit VectorRun(TrainerOptions o)
      : source(Loader<VectorDataset>(data, {.batch_size = 16, .seed = 7}), scarf(data)),
        recipe(simclr()),
        opt(recipe.model().parameters(), {.lr = 1e-2}),
        trainer(recipe, source, opt, o) {}
};

TEST(TrainerOnVectors, ScarfPipelineTrainsAndResumesBitForBit) {
  VectorRun whole({.epochs = 2, .threads = 2, .cosine_lr = true, .warmup_epochs = 1});
  auto before = snapshot(whole.recipe.model());
  auto log = std::make_shared<Losses>();
  whole.trainer.add_callback(log);
  TrainResult r = whole.trainer.fit();
  EXPECT_EQ(r.steps, 8);  // 64 rows in batches of 16, two epochs
  ASSERT_EQ(log->v.size(), 8u);
  for (double l : log->v) EXPECT_TRUE(std::isfinite(l));
  EXPECT_TRUE(changed(before, whole.recipe.model()));

  std::string ckpt = (fs::temp_directory_path() / ("simile_any_data_" + std::to_string(::getpid()))).string();
  {
    // Stopped by a callback, not by max_steps: the schedule keeps the 8-step horizon of the whole run.
    struct StopAt5 : Callback<float> {
      bool on_step_end(const StepInfo& s) override { return s.step == 5; }
    };
    VectorRun first({.epochs = 2, .threads = 2, .cosine_lr = true, .warmup_epochs = 1, .checkpoint_path = ckpt});
    first.trainer.add_callback(std::make_shared<StopAt5>());
    EXPECT_EQ(first.trainer.fit().stop_reason, "callback");
  }
  VectorRun second({.epochs = 2, .threads = 2, .cosine_lr = true, .warmup_epochs = 1});
  second.trainer.load_checkpoint(ckpt);
  EXPECT_EQ(second.trainer.step(), 5);
  EXPECT_EQ(second.trainer.fit().steps_this_run, 3);
  auto a = whole.recipe.model().state_dict(), b = second.recipe.model().state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(testing::tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
  EXPECT_EQ(whole.opt.lr(0), second.opt.lr(0));  // the same point of the warmup + cosine schedule
  fs::remove(ckpt);
}

// ---- token sequences: dropout and masking of tokens, a bag-of-embeddings encoder ----

/// h = the mean embedding of a sequence's tokens, padding left out: input token ids [N, L] (as floats),
/// output [N, dim]. As a matmul of the normalized counts [N, vocab] by the table [vocab, dim].
class BagOfEmbeddings : public nn::Cloneable<BagOfEmbeddings, float> {
 public:
  BagOfEmbeddings(Index vocab, Index dim, Rng& rng) : vocab_(vocab) {
    Tensor<float> w = Tensor<float>::empty({vocab, dim});
    for (float& x : w.span()) x = static_cast<float>(rng.normal());
    table_ = this->register_parameter("table", w);
  }
  Var<float> forward(const Var<float>& ids) override {
    const Tensor<float>& x = ids.value();
    Tensor<float> counts = Tensor<float>::zeros({x.dim(0), vocab_});
    for (Index n = 0; n < x.dim(0); ++n) {
      Index len = 0;
      for (Index j = 0; j < x.dim(1); ++j)
        if (auto t = static_cast<Index>(x.at(n, j)); t != Vocabulary::pad) counts.at(n, t) += 1, ++len;
      for (Index t = 0; t < vocab_; ++t) counts.at(n, t) /= static_cast<float>(std::max<Index>(len, 1));
    }
    return matmul(Var<float>(counts), this->get(table_));
  }
  std::string type_name() const override { return "BagOfEmbeddings"; }

 private:
  Index vocab_;
  nn::ParameterId table_;
};

TEST(TrainerOnText, TokenPipelineTrains) {
  Rng rng(12);
  std::vector<std::vector<Token>> seqs;
  for (int i = 0; i < 48; ++i) {
    std::vector<Token> s(4 + rng.below(8));
    for (Token& t : s) t = static_cast<Token>(3 + rng.below(21));
    seqs.push_back(s);
  }
  TextPipeline p;
  p.add(TokenDropout(0.2)).add(TokenMasking(0.1));
  TextViewSource source(Loader<TextDataset>(TextDataset(seqs), {.batch_size = 16, .seed = 3}),
                        TextMultiView::same(p, 2));
  auto encoder = std::make_shared<BagOfEmbeddings>(24, 16, rng);
  auto projector = std::make_shared<nn::Linear<float>>(nn::LinearOptions{16, 8}, rng);
  SimClr<float> recipe(encoder, projector, {.temperature = 0.5});
  optim::Adam<float> opt(recipe.model().parameters(), {.lr = 1e-2});
  Trainer<float> trainer(recipe, source, opt, {.epochs = 2, .threads = 2});
  auto before = snapshot(recipe.model());
  auto log = std::make_shared<Losses>();
  trainer.add_callback(log);
  TrainResult r = trainer.fit();
  EXPECT_EQ(r.steps, 6);
  ASSERT_EQ(log->v.size(), 6u);
  for (double l : log->v) EXPECT_TRUE(std::isfinite(l));
  EXPECT_TRUE(changed(before, recipe.model()));
  EXPECT_TRUE(recipe.model().state_dict()[0].first == "encoder.table");
}

}  // namespace
}  // namespace simile
