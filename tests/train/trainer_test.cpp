#include "support/testing.hpp"

#include "support/fashion.hpp"
#include "data/files.hpp"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "simile/augment.hpp"
#include "simile/data.hpp"
#include "simile/encoders/small_convnet.hpp"
#include "simile/nn.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"

namespace simile {
namespace {
namespace fs = std::filesystem;
using testing::throws_with;

Pipeline pipeline() {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8);
  return p;
}

/// A small MLP encoder on 28x28 images and a linear projector: fast enough for unit tests.
std::unique_ptr<SimClr<float>> small_simclr(std::uint64_t seed) {
  Rng rng(seed);
  auto enc = std::make_shared<nn::Sequential<float>>();
  enc->push_back(std::make_shared<nn::Flatten<float>>())
      .push_back(std::make_shared<nn::Linear<float>>(nn::LinearOptions{784, 64}, rng))
      .push_back(std::make_shared<nn::ReLU<float>>());
  auto proj = std::make_shared<nn::Linear<float>>(nn::LinearOptions{64, 16}, rng);
  return std::make_unique<SimClr<float>>(enc, proj, SimClrOptions{.temperature = 0.5});
}

struct TrainRun {
  std::unique_ptr<SimClr<float>> recipe = small_simclr(1);
  ImageViewSource source;
  optim::Adam<float> opt;
  Trainer<float> trainer;
  TrainRun(const ImageDataset& data, TrainerOptions o, double lr = 1e-3, const Pipeline& views = pipeline())
      : source(Loader<ImageDataset>(data, {.batch_size = 32, .seed = 9}), MultiView::same(views, 2)),
        opt(recipe->model().parameters(), {.lr = lr}),
        trainer(*recipe, source, opt, o) {}
};

TEST(Trainer, SimClrLossFallsOnFashionMnist) {
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  struct Losses : Callback<float> {
    std::vector<double> v;
    bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), false; }
  };
  auto log = std::make_shared<Losses>();
  TrainRun run(data, {.epochs = 6, .threads = 2});
  run.trainer.add_callback(log);
  TrainResult r = run.trainer.fit();
  ASSERT_EQ(r.steps, 48);
  EXPECT_EQ(r.epochs_completed, 6);
  EXPECT_EQ(r.stop_reason, "epochs");
  double first = (log->v[0] + log->v[1] + log->v[2] + log->v[3]) / 4;
  double last = (log->v[44] + log->v[45] + log->v[46] + log->v[47]) / 4;
  EXPECT_LT(last, first - 0.3) << "first " << first << " last " << last;
  // Throughput is reported over images, not views: 6 epochs of 256 images, the two views counting once.
  // (Checked as samples = rate x time, never against a wall-clock bound.)
  EXPECT_EQ(r.steps_this_run, 48);
  EXPECT_NEAR(r.samples_per_second * r.seconds, 6 * 256, 1e-6 * 6 * 256);
}

TEST(Trainer, ResumeEqualsAnUninterruptedRunBitForBit) {
  ImageDataset data = testing::fashion_head(96);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  std::string ckpt = (fs::temp_directory_path() / ("simile_resume_" + std::to_string(::getpid()))).string();
  TrainRun whole(data, {.epochs = 2, .threads = 2});
  whole.trainer.fit();  // 6 steps
  {
    TrainRun first(data, {.epochs = 2, .max_steps = 4, .threads = 2, .checkpoint_path = ckpt});
    TrainResult r = first.trainer.fit();
    EXPECT_EQ(r.stop_reason, "max_steps");
    EXPECT_EQ(r.steps, 4);
  }
  TrainRun second(data, {.epochs = 2, .threads = 2});
  second.trainer.load_checkpoint(ckpt);
  EXPECT_EQ(second.trainer.step(), 4);
  EXPECT_EQ(second.trainer.epoch(), 1);
  TrainResult r = second.trainer.fit();
  EXPECT_EQ(r.steps, 6);
  EXPECT_EQ(r.steps_this_run, 2);
  auto a = whole.recipe->model().state_dict(), b = second.recipe->model().state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(testing::tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
  auto sa = whole.opt.state(), sb = second.opt.state();
  ASSERT_EQ(sa.tensors.size(), sb.tensors.size());
  for (std::size_t i = 0; i < sa.tensors.size(); ++i)
    EXPECT_TRUE(testing::tensors_near(sa.tensors[i].second, sb.tensors[i].second, 0, 0)) << sa.tensors[i].first;
  fs::remove(ckpt);
}

TEST(Trainer, CheckpointsRoundTripAndRejectDamage) {
  ImageDataset data = testing::fashion_head(64);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  std::string ckpt = (fs::temp_directory_path() / ("simile_ckpt_" + std::to_string(::getpid()))).string();
  TrainRun run(data, {.epochs = 1, .threads = 1, .checkpoint_path = ckpt});
  run.trainer.fit();
  TensorDict d = load_safetensors(ckpt);
  for (auto& [name, p] : run.recipe->model().named_parameters())
    EXPECT_TRUE(testing::tensors_near(d.get<float>(name), p.value(), 0, 0)) << name;
  EXPECT_TRUE(d.contains("encoder.1.weight"));
  EXPECT_TRUE(d.contains("projector.weight"));
  EXPECT_TRUE(d.contains("train.optim.0.exp_avg"));
  EXPECT_EQ(d.get<std::int64_t>("train.step").item(), 2);
  EXPECT_EQ(d.metadata.at("recipe"), "simclr");
  // A truncated checkpoint is refused and the model is untouched.
  std::string bytes;
  {
    std::ifstream in(ckpt, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(ckpt, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  TrainRun other(data, {.epochs = 1});
  auto before = other.recipe->model().state_dict()[0].second.clone();
  EXPECT_TRUE(throws_with<IoError>([&] { other.trainer.load_checkpoint(ckpt); }, {ckpt}));
  EXPECT_TRUE(testing::tensors_near(other.recipe->model().state_dict()[0].second, before, 0, 0));
  fs::remove(ckpt);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Trainer, ADivergedRunStopsAndLeavesTheLastGoodCheckpoint) {
  ImageDataset data = testing::fashion_head(128);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  const std::string ckpt = dir.file("run.st");
  TrainRun good(data, {.epochs = 1, .max_steps = 1, .threads = 1, .checkpoint_path = ckpt});
  good.trainer.fit();
  const std::string before = file_bytes(ckpt);
  // Adam moves each weight by about lr on its first step: 1e38 overflows float at once.
  TrainRun diverging(data, {.epochs = 1, .threads = 1, .checkpoint_path = ckpt, .checkpoint_every = 1}, 1e38);
  EXPECT_TRUE(throws_with<NumericError>([&] { diverging.trainer.fit(); },
                                        {"step 1", "optimizer's step left a NaN or infinity", "learning rate"}));
  EXPECT_EQ(file_bytes(ckpt), before);
  // Saving weights that are not finite is refused, whoever asks.
  EXPECT_TRUE(throws_with<NumericError>([&] { diverging.trainer.save_checkpoint(ckpt); },
                                        {"save_checkpoint", "NaN or infinity", ckpt, "left as it was"}));
  EXPECT_EQ(file_bytes(ckpt), before);
  for (const auto& f : fs::directory_iterator(fs::path(ckpt).parent_path()))
    EXPECT_EQ(f.path().filename().string().find(".tmp-"), std::string::npos) << f.path();
}

TEST(Trainer, LoadingRefusesDamagedValuesAndPositionsNamingTheFile) {
  ImageDataset data = testing::fashion_head(96);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  const std::string ckpt = dir.file("good.st");
  TrainRun run(data, {.epochs = 1, .max_steps = 2, .threads = 1, .checkpoint_path = ckpt});
  run.trainer.fit();
  const TensorDict good = load_safetensors(ckpt);
  auto damaged = [&](const std::string& name, auto edit) {
    TensorDict d = good;
    edit(d);
    std::string path = dir.file(name + ".st");
    save_safetensors(path, d);
    return path;
  };
  auto set_int = [](const char* key, std::int64_t v) {
    return [=](TensorDict& d) { d.set(key, Tensor<std::int64_t>::scalar(v)); };
  };
  TrainRun other(data, {.epochs = 1, .threads = 1});
  const Tensor<float> before = other.recipe->model().state_dict()[0].second.clone();
  auto refused = [&](const std::string& path, std::vector<std::string> parts) {
    parts.insert(parts.begin(), "'" + path + "'");
    EXPECT_TRUE(throws_with<Error>([&] { other.trainer.load_checkpoint(path); }, parts));
    EXPECT_TRUE(testing::tensors_near(other.recipe->model().state_dict()[0].second, before, 0, 0));
    EXPECT_EQ(other.trainer.step(), 0);
  };
  refused(damaged("nan", [](TensorDict& d) {
            Tensor<float> w = d.get<float>("encoder.1.weight").clone();
            w.data()[5] = NAN;
            d.set("encoder.1.weight", w);
          }),
          {"encoder.1.weight", "nan", "element 5"});
  refused(damaged("moment", [](TensorDict& d) {
            Tensor<float> v = d.get<float>("train.optim.0.exp_avg_sq").clone();
            v.data()[0] = -1;
            d.set("train.optim.0.exp_avg_sq", v);
          }),
          {"negative second moment"});
  refused(damaged("epoch", set_int("train.epoch", -1'000'000'000'000)), {"inconsistent position", "epoch -1000000000000"});
  refused(damaged("step", set_int("train.step", std::int64_t{1} << 62)), {"inconsistent position"});
  refused(damaged("batch", set_int("train.batch", 1 << 30)), {"inconsistent position", "3 batches an epoch"});
  refused(damaged("total", set_int("train.total_steps", 1)), {"inconsistent position", "total_steps 1"});
  refused(damaged("missing", [](TensorDict& d) {
            TensorDict e;
            for (const auto& [n, t] : d.items())
              if (n != "train.step") std::visit([&](const auto& x) { e.set(n, x); }, t);
            e.metadata = d.metadata;
            d = e;
          }),
          {"train.step"});
  other.trainer.load_checkpoint(ckpt);  // the undamaged file still loads
  EXPECT_EQ(other.trainer.step(), 2);
}

TEST(Trainer, BatchNormStatisticsAreChecked) {
  nn::BatchNorm1d<float> bn(nn::BatchNormOptions{.num_features = 3});
  TensorDict d;
  save_module(d, bn);
  TensorDict bad = d;
  bad.set("running_var", Tensor<float>::from({1, -0.5f, 1}, {3}));
  EXPECT_TRUE(throws_with<NumericError>([&] { load_module(bad, bn); }, {"running_var", "negative value -0.5", "element 1"}));
  bad = d;
  bad.set("num_batches_tracked", Tensor<std::int64_t>::scalar(-3));
  EXPECT_TRUE(throws_with<NumericError>([&] { load_module(bad, bn); }, {"num_batches_tracked", "negative count -3"}));
  load_module(d, bn);
}

TEST(Trainer, AStopRequestEndsTheRunAfterTheStepAndSavesIt) {
  ImageDataset data = testing::fashion_head(128);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  std::atomic<bool> stop{false};
  struct StopAt : Callback<float> {
    std::atomic<bool>* flag;
    explicit StopAt(std::atomic<bool>* f) : flag(f) {}
    bool on_step_end(const StepInfo& s) override { return s.step == 3 ? (flag->store(true), false) : false; }
  };
  TrainRun run(data, {.epochs = 5, .threads = 1, .checkpoint_path = dir.file("run.st"), .stop_requested = &stop});
  run.trainer.add_callback(std::make_shared<StopAt>(&stop));
  TrainResult r = run.trainer.fit();
  EXPECT_EQ(r.stop_reason, "interrupted");
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(load_safetensors(dir.file("run.st")).get<std::int64_t>("train.step").item(), 3);
}

TEST(Trainer, CheckpointsAtEachEpochsEnd) {
  ImageDataset data = testing::fashion_head(96);  // 3 batches of 32 an epoch
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  const std::string ckpt = dir.file("run.st");
  struct Peek : Callback<float> {
    std::string path;
    std::vector<std::int64_t> saved;  // the checkpoint's step as each step ends
    bool on_step_end(const StepInfo&) override {
      saved.push_back(fs::exists(path) ? load_safetensors(path).get<std::int64_t>("train.step").item() : -1);
      return false;
    }
  };
  auto peek = std::make_shared<Peek>();
  peek->path = ckpt;
  TrainRun run(data, {.epochs = 3, .threads = 1, .checkpoint_path = ckpt, .checkpoint_each_epoch = true});
  run.trainer.add_callback(peek);
  run.trainer.fit();
  EXPECT_EQ(peek->saved, (std::vector<std::int64_t>{-1, -1, -1, 3, 3, 3, 6, 6, 6}));
  EXPECT_EQ(load_safetensors(ckpt).get<std::int64_t>("train.step").item(), 9);
}

/// A clock a budget-run test drives: each optimizer step costs `cost(step)` seconds (1-based step), and
/// the run's steps, learning rates and horizons are recorded.
struct SteppedClock : Callback<float> {
  std::function<double(std::int64_t)> cost;
  double now = 0;
  std::int64_t calls = 0;
  std::vector<double> lrs, seconds;
  std::vector<std::int64_t> horizons;
  std::int64_t stop_at = 0;  ///< a callback stop after this step (0: none)
  explicit SteppedClock(std::function<double(std::int64_t)> c) : cost(std::move(c)) {}
  void on_before_step(const std::vector<Var<float>>&) override { now += cost(++calls); }
  bool on_step_end(const StepInfo& s) override {
    lrs.push_back(s.lr);
    seconds.push_back(s.seconds);
    horizons.push_back(s.total_steps);
    return s.step == stop_at;
  }
  std::function<double()> clock() {
    return [this] { return now; };
  }
};

/// A 100-second budget run of the small model under `cost` (cosine lr, base 1e-3), on 256 images. Its
/// views are the images themselves: what is tested is the schedule over hundreds of steps, and augmenting
/// them took most of the run's time under the sanitizers.
TrainResult budget_run(SteppedClock& c, const ImageDataset& data, const std::string& checkpoint = "") {
  TrainRun run(data, {.epochs = 1000, .budget_seconds = 100, .threads = 1,
                      .cosine_lr = true, .checkpoint_path = checkpoint, .clock = c.clock()}, 1e-3, Pipeline{});
  auto keep = std::shared_ptr<SteppedClock>(&c, [](SteppedClock*) {});
  run.trainer.add_callback(keep);
  return run.trainer.fit();
}

/// The largest change of the lr from one step to the next, as a share of the base lr.
double largest_lr_jump(const std::vector<double>& lrs) {
  double m = 0;
  for (std::size_t i = 1; i < lrs.size(); ++i) m = std::max(m, std::abs(lrs[i] - lrs[i - 1]) / 1e-3);
  return m;
}

TEST(Trainer, ABudgetRunWhosePaceQuickensUsesItsWholeBudget) {
  // 1 s a step for the first 40 steps, then 0.25 s: a horizon fixed once from the start (at 25 s: 100
  // steps) would end the run at 47.5 s of 100. Re-estimated, it ends in the budget's last 2 % with the
  // cosine finished, and the lr never jumps.
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  SteppedClock c([](std::int64_t s) { return s <= 40 ? 1.0 : 0.25; });
  TrainResult r = budget_run(c, data);
  EXPECT_EQ(r.stop_reason, "budget");
  EXPECT_GE(c.seconds.back(), 98.0);
  EXPECT_NEAR(double(r.steps), 40 + 60 / 0.25, 2);
  EXPECT_LT(c.lrs.back(), 1e-3 * 1e-3);
  // Restarting the cosine over each new horizon would jump by a third of the lr and more.
  EXPECT_LT(largest_lr_jump(c.lrs), 0.03);
  EXPECT_EQ(c.horizons.back(), r.steps);
}

TEST(Trainer, ABudgetRunWhosePaceSlowsFinishesItsSchedule) {
  // 0.2 s a step, then 0.5 s from step 100: fixed once (at step 25, 5 s: 500 steps) the budget would end
  // it at step 260 with the lr at half its peak. Re-estimated, the lr is near 0 when the budget ends.
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  SteppedClock c([](std::int64_t s) { return s <= 100 ? 0.2 : 0.5; });
  TrainResult r = budget_run(c, data);
  EXPECT_EQ(r.stop_reason, "budget");
  EXPECT_NEAR(double(r.steps), 100 + 80 / 0.5, 2);
  EXPECT_LT(c.lrs.back(), 1e-3 * 1e-3);
  EXPECT_LT(largest_lr_jump(c.lrs), 0.03);
}

TEST(Trainer, ABudgetRunResumedKeepsItsScheduleWhereItWas) {
  // A steady budget run (0.5 s a step: 200 steps) stopped at step 120 resumes, under a new budget, from the
  // lr it had.
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  SteppedClock first([](std::int64_t) { return 0.5; });
  first.stop_at = 120;
  TrainResult a = budget_run(first, data, dir.file("run.st"));
  ASSERT_EQ(a.stop_reason, "callback");
  TensorDict saved = load_safetensors(dir.file("run.st"));
  EXPECT_EQ(saved.get<std::int64_t>("train.total_steps").item(), 200);
  EXPECT_EQ(saved.get<std::int64_t>("train.schedule_total").item(), 1000 * 8);
  EXPECT_EQ(saved.get<std::int64_t>("train.schedule_anchor_step").item(), 25);  // the first estimate

  SteppedClock second([](std::int64_t) { return 0.5; });
  TrainRun run(data, {.epochs = 1000, .budget_seconds = 100, .threads = 1, .cosine_lr = true, .clock = second.clock()},
               1e-3, Pipeline{});
  run.trainer.load_checkpoint(dir.file("run.st"));
  run.trainer.add_callback(std::shared_ptr<SteppedClock>(&second, [](SteppedClock*) {}));
  TrainResult b = run.trainer.fit();
  // Step 121 on the saved clock: one step further down the cosine than step 120.
  double step_drop = first.lrs[first.lrs.size() - 2] - first.lrs.back();
  EXPECT_NEAR(second.lrs.front(), first.lrs.back() - step_drop, 1e-3 * 0.002);
  // The new budget run ends in its budget's last 2 % (step 120 + 200) with the cosine finished.
  EXPECT_EQ(b.stop_reason, "budget");
  EXPECT_NEAR(double(b.steps), 320, 2);
  EXPECT_LT(second.lrs.back(), 1e-3 * 1e-3);
  // A damaged schedule clock is refused, naming it.
  saved.set("train.schedule_anchor_position", Tensor<double>::scalar(-1.0));
  save_safetensors(dir.file("bad.st"), saved);
  TrainRun other(data, {.epochs = 1000, .budget_seconds = 100, .threads = 1, .cosine_lr = true});
  EXPECT_TRUE(throws_with<IoError>([&] { other.trainer.load_checkpoint(dir.file("bad.st")); },
                                   {"bad.st", "inconsistent schedule", "position -1"}));
}

/// Wraps a recipe and poisons its loss from a given step on.
struct Poisoned : SimClr<float> {
  int calls = 0, from;
  Poisoned(int f) : SimClr<float>(*small_simclr(3)), from(f) {}
  Var<float> loss(const Views<float>& v, std::span<const std::int64_t> l) override {
    Var<float> x = SimClr<float>::loss(v, l);
    if (++calls > from) x = x * Var<float>(Tensor<float>::scalar(NAN));
    return x;
  }
};

TEST(Trainer, NanStopsTrainingWithTheStepAndTheOp) {
  ImageDataset data = testing::fashion_head(128);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  Poisoned recipe(2);
  ImageViewSource source(Loader<ImageDataset>(data, {.batch_size = 32, .seed = 1}), MultiView::same(pipeline(), 2));
  optim::Adam<float> opt(recipe.model().parameters(), {.lr = 1e-3});
  Trainer<float> trainer(recipe, source, opt, {.epochs = 1});
  EXPECT_TRUE(throws_with<NumericError>([&] { trainer.fit(); }, {"step 3", "simclr", "op 'mul'"}));
}

TEST(Trainer, OptionErrors) {
  ImageDataset data = testing::fashion_head(64);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  auto recipe = small_simclr(1);
  Loader<ImageDataset> loader(data, {.batch_size = 32});
  ImageViewSource two(loader, MultiView::same(pipeline(), 2)), three(loader, MultiView::same(pipeline(), 3));
  optim::Adam<float> opt(recipe->model().parameters(), {.lr = 1e-3});
  EXPECT_TRUE(throws_with<ValueError>([&] { Trainer<float>(*recipe, two, opt, {.epochs = 0}); }, {"Trainer", "epochs 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { Trainer<float>(*recipe, three, opt, {}); }, {"needs 2 views", "makes 3"}));
}

TEST(Trainer, Bf16ConvolutionsDuringTheRunOnly) {
  // A small SmallConvNet trained with precision bf16: its convolutions run in bfloat16 while fit() runs
  // (the process's precision is bf16 inside it, float again after), it learns as the float run does, and
  // the weights stay float. Where the CPU lacks bfloat16, the Trainer refuses the option by name.
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  auto run = [&](Precision precision, std::vector<double>* losses) {
    Rng rng(3);
    auto enc = std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.widths = {8, 16, 16}}, rng);
    auto proj = std::make_shared<nn::Linear<float>>(nn::LinearOptions{16, 16}, rng);
    SimClr<float> recipe(enc, proj, SimClrOptions{.temperature = 0.5});
    ImageViewSource source(Loader<ImageDataset>(data, {.batch_size = 32, .seed = 9}), MultiView::same(pipeline(), 2));
    optim::Adam<float> opt(recipe.model().parameters(), {.lr = 3e-3});
    struct Seen : Callback<float> {
      std::vector<double>* losses;
      bool all_bf16 = true;
      bool on_step_end(const StepInfo& s) override {
        losses->push_back(s.loss);
        all_bf16 = all_bf16 && compute_precision() == Precision::bf16;
        return false;
      }
    };
    auto seen = std::make_shared<Seen>();
    seen->losses = losses;
    Trainer<float> trainer(recipe, source, opt, {.epochs = 4, .threads = 2, .precision = precision});
    trainer.add_callback(seen);
    trainer.fit();
    return precision != Precision::bf16 || seen->all_bf16;
  };
  if (!bf16_available()) {
    EXPECT_TRUE(throws_with<ValueError>([&] { std::vector<double> l; run(Precision::bf16, &l); },
                                        {"Trainer", "precision bf16", "not available"}));
    return;
  }
  std::vector<double> f32, bf16;
  run(Precision::f32, &f32);
  EXPECT_TRUE(run(Precision::bf16, &bf16));
  EXPECT_EQ(compute_precision(), Precision::f32);
  ASSERT_EQ(f32.size(), 32u);
  ASSERT_EQ(bf16.size(), 32u);
  auto mean = [](const std::vector<double>& v, std::size_t from) {
    double s = 0;
    for (std::size_t i = from; i < from + 4; ++i) s += v[i];
    return s / 4;
  };
  // The first step's loss differs only by bfloat16's rounding; both runs learn, and end close together.
  EXPECT_NEAR(bf16[0], f32[0], 0.02 * f32[0]);
  EXPECT_NE(bf16[0], f32[0]);
  EXPECT_LT(mean(bf16, 28), mean(bf16, 0) - 0.2);
  EXPECT_NEAR(mean(bf16, 28), mean(f32, 28), 0.1 * mean(f32, 28));
}

TEST(Trainer, ConvAlgorithmDuringTheRunOnly) {
  // The same SmallConvNet run trained with Winograd convolutions and with direct ones: the process's
  // algorithm is the option's inside fit() and the default after; the losses agree to rounding (Winograd's
  // is a little larger) over a run that learns, and both runs repeat to the bit.
  ImageDataset data = testing::fashion_head(256);
  if (data.size() == 0) GTEST_SKIP() << "Fashion-MNIST not installed";
  auto run = [&](ConvAlgorithm algorithm) {
    Rng rng(3);
    auto enc =
        std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.widths = {16, 32, 32}}, rng);
    auto proj = std::make_shared<nn::Linear<float>>(nn::LinearOptions{32, 16}, rng);
    SimClr<float> recipe(enc, proj, SimClrOptions{.temperature = 0.5});
    ImageViewSource source(Loader<ImageDataset>(data, {.batch_size = 32, .seed = 9}), MultiView::same(pipeline(), 2));
    optim::Adam<float> opt(recipe.model().parameters(), {.lr = 3e-3});
    struct Seen : Callback<float> {
      std::vector<double> losses;
      ConvAlgorithm expected = ConvAlgorithm::automatic;
      bool always = true;
      bool on_step_end(const StepInfo& s) override {
        losses.push_back(s.loss);
        always = always && conv_algorithm() == expected;
        return false;
      }
    };
    auto seen = std::make_shared<Seen>();
    seen->expected = algorithm;
    Trainer<float> trainer(recipe, source, opt, {.epochs = 2, .threads = 2, .conv_algorithm = algorithm});
    trainer.add_callback(seen);
    trainer.fit();
    EXPECT_TRUE(seen->always) << to_string(algorithm);
    return seen->losses;
  };
  const std::vector<double> wino = run(ConvAlgorithm::winograd), direct = run(ConvAlgorithm::direct);
  EXPECT_EQ(conv_algorithm(), ConvAlgorithm::automatic);
  EXPECT_EQ(run(ConvAlgorithm::winograd), wino);
  EXPECT_EQ(run(ConvAlgorithm::direct), direct);
  ASSERT_EQ(wino.size(), 16u);
  ASSERT_EQ(direct.size(), 16u);
  EXPECT_NEAR(wino[0], direct[0], 1e-4 * direct[0]);
  EXPECT_LT(wino[15], wino[0] - 0.1);
  EXPECT_NEAR(wino[15], direct[15], 0.05 * direct[15]);
}

TEST(Ema, FollowsItsRuleAndByolSchedule) {
  Rng rng(4);
  nn::Linear<double> online({3, 2}, rng);
  auto target = online.clone();
  online.parameter("weight").value().fill(1.0);
  target->parameter("weight").value().fill(0.0);
  ema_update<double>(*target, online, 0.9);
  EXPECT_NEAR(target->parameter("weight").value().at(0, 0), 0.1, 1e-15);
  ema_update<double>(*target, online, 0.9);
  EXPECT_NEAR(target->parameter("weight").value().at(1, 2), 0.19, 1e-15);
  EXPECT_DOUBLE_EQ(byol_momentum(0.996, 0, 100), 0.996);
  EXPECT_DOUBLE_EQ(byol_momentum(0.996, 100, 100), 1.0);
  EXPECT_NEAR(byol_momentum(0.996, 50, 100), 0.998, 1e-12);
  EXPECT_THROW(ema_update<double>(*target, online, 1.5), ValueError);
}

}  // namespace
}  // namespace simile
