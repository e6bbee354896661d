// Data-parallel training across MPI ranks: run by ctest as `mpiexec -n 2 simile_test_distributed` (any
// rank count >= 1 works). Every rank runs every test; the collectives inside must match across ranks,
// so a test never returns early on one rank only. The references are one process with the whole batch,
// computed redundantly on every rank (no communication).
#include "support/testing.hpp"

#include <filesystem>
#include <numeric>
#include <unistd.h>

#include "simile/augment.hpp"
#include "simile/core/mpi.hpp"
#include "simile/data.hpp"
#include "simile/encoders.hpp"
#include "simile/heads.hpp"
#include "simile/losses.hpp"
#include "simile/nn.hpp"
#include "simile/ops.hpp"
#include "simile/optim.hpp"
#include "simile/train.hpp"

namespace simile {
namespace {

std::shared_ptr<Communicator> world() { return mpi_world(); }
int rank() { return world()->rank(); }
int ranks() { return world()->size(); }

/// True on every rank when `ok` holds on every rank (a failure on one rank fails the test everywhere).
bool everywhere(bool ok) { return all_reduce_sum(*world(), ok ? 0 : 1) == 0; }

/// This rank's rows of global stacked views (the test's view of a shard).
template <class T>
Tensor<T> shard(const Tensor<T>& global, int views = 2) {
  return local_views(global, views, rank(), ranks());
}

// ---------------------------------------------------------------------------------------------- collectives

TEST(Collectives, AllReduceSumsInRankOrderAndGivesTheSameBitsEverywhere) {
  // Sizes on both paths: gathered whole (up to 16 KiB a rank) and reduced in chunks.
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(3), std::size_t(1001), std::size_t(40001)}) {
    auto value = [](int r, std::size_t i) { return 0.1f * float(r + 1) + 1e-7f * float(i) + 1.0f / float(i + 3); };
    std::vector<float> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = value(rank(), i);
    all_reduce_sum(*world(), std::span<float>(data));
    for (std::size_t i = 0; i < n; ++i) {
      float expect = value(0, i);
      for (int r = 1; r < ranks(); ++r) expect += value(r, i);  // rank order
      ASSERT_EQ(data[i], expect) << "element " << i << " of " << n;
    }
    std::vector<float> all(n * std::size_t(ranks()));
    all_gather(*world(), std::span<const float>(data), std::span<float>(all));
    for (int r = 0; r < ranks() && n > 0; ++r)
      EXPECT_EQ(0, std::memcmp(all.data() + std::size_t(r) * n, data.data(), n * sizeof(float)));
  }
  EXPECT_EQ(all_reduce_sum(*world(), std::int64_t(rank() + 1)), std::int64_t(ranks()) * (ranks() + 1) / 2);
}

TEST(Collectives, AllGatherAndBroadcast) {
  std::vector<double> mine{double(rank()), double(rank()) + 0.5};
  std::vector<double> all(2 * std::size_t(ranks()));
  all_gather(*world(), std::span<const double>(mine), std::span<double>(all));
  for (int r = 0; r < ranks(); ++r) {
    EXPECT_EQ(all[2 * std::size_t(r)], double(r));
    EXPECT_EQ(all[2 * std::size_t(r) + 1], double(r) + 0.5);
  }
  std::vector<std::int32_t> b{rank() == 0 ? 42 : -1, rank() == 0 ? 7 : -1};
  broadcast(*world(), std::span<std::int32_t>(b));
  EXPECT_EQ(b, (std::vector<std::int32_t>{42, 7}));
  EXPECT_THROW(all_gather(*world(), std::span<const double>(mine), std::span<double>(mine)), ShapeError);
  EXPECT_THROW(broadcast(*world(), std::span<std::int32_t>(b), ranks()), ValueError);
  world()->barrier();
}

// -------------------------------------------------------------------------------------------- gathered views

TEST(GatherViews, RowsComeInTheLayoutOfOneProcessAndTheBackwardKeepsOwnRows) {
  const Index b = 3, B = b * ranks();
  // Global views [2B, 2]: row v B + j holds (v, j).
  Tensor<double> global = Tensor<double>::empty({2 * B, 2});
  for (Index v = 0; v < 2; ++v)
    for (Index j = 0; j < B; ++j) global.at(v * B + j, 0) = double(v), global.at(v * B + j, 1) = double(j);
  Var<double> local(shard(global), true);
  Var<double> g = all_gather_views(*world(), local, 2);
  EXPECT_TRUE(testing::tensors_near(g.value(), global, 0, 0));
  // d/dx of sum(w * gathered) is w's rows of this rank.
  Tensor<double> w = testing::random_tensor<double>({2 * B, 2}, 9);
  sum(mul(g, Var<double>(w))).backward();
  EXPECT_TRUE(testing::tensors_near(local.grad(), shard(w), 0, 0));
}

// ------------------------------------------------------------------------------------------ NT-Xent, global

/// NT-Xent over the global batch from this rank's rows equals one process's NT-Xent over all rows, in
/// value and in the gradient of this rank's rows.
void expect_global_nt_xent(double temperature, Index tile, double scale) {
  const Index b = 5, B = b * ranks(), D = 7;
  Tensor<double> z = testing::random_tensor<double>({2 * B, D}, 11, -scale, scale);
  Var<double> whole(z.clone(), true);
  Var<double> one = nt_xent(whole, {.temperature = temperature, .tile = tile});
  one.backward();
  Var<double> mine(shard(z), true);
  Var<double> dist = nt_xent(mine, {.temperature = temperature, .tile = tile, .comm = world().get()});
  dist.backward();
  EXPECT_NEAR(dist.item(), one.item(), 1e-12 * std::max(1.0, std::abs(one.item())));
  EXPECT_TRUE(std::isfinite(dist.item()));
  EXPECT_TRUE(testing::tensors_near(mine.grad(), shard(whole.grad()), 1e-12, 1e-9))
      << "tau " << temperature << ", tile " << tile;
}

TEST(NtXentGlobal, EqualsOneProcessOverTheGlobalBatch) {
  for (Index tile : {Index(0), Index(3)}) {
    expect_global_nt_xent(0.5, tile, 1.0);
    expect_global_nt_xent(0.01, tile, 1.0);   // logits up to 100
    expect_global_nt_xent(0.1, tile, 1e6);    // large inputs (normalized inside)
  }
}

TEST(NtXentGlobal, GradientChecksAcrossRanksAgainstCentralDifferences) {
  // The loss depends on every rank's rows; rank `owner`'s elements are perturbed one at a time (the
  // other ranks leave theirs) and every rank computes the loss, so the difference quotient is the
  // derivative of the global loss with respect to the owner's element.
  const Index b = 2, D = 3;
  Tensor<double> z = testing::random_tensor<double>({2 * b, D}, 100 + std::uint64_t(rank()));
  auto loss = [&](const Tensor<double>& x) {
    return nt_xent(Var<double>(x), {.temperature = 0.2, .comm = world().get()}).item();
  };
  Var<double> v(z.clone(), true);
  nt_xent(v, {.temperature = 0.2, .comm = world().get()}).backward();
  const double h = 1e-6;
  double worst = 0;
  for (int owner = 0; owner < ranks(); ++owner)
    for (Index e = 0; e < 2 * b * D; ++e) {
      Tensor<double> plus = z.clone(), minus = z.clone();
      if (rank() == owner) plus.data()[e] += h, minus.data()[e] -= h;
      const double numeric = (loss(plus) - loss(minus)) / (2 * h);
      if (rank() == owner) worst = std::max(worst, std::abs(numeric - v.grad().data()[e]));
    }
  EXPECT_LT(worst, 1e-8);
  EXPECT_TRUE(everywhere(worst < 1e-8));
}

TEST(NtXentGlobal, ShardsOfDifferentSizesAreRefusedOnEveryRank) {
  Var<float> z(testing::random_tensor<float>({2 * (2 + rank()), 4}, 1));
  if (ranks() > 1) {
    try {
      nt_xent(z, {.comm = world().get()});
      ADD_FAILURE() << "no error";
    } catch (const ShapeError& e) {
      EXPECT_NE(std::string(e.what()).find("same shard"), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------- other losses over the global batch

TEST(GlobalLosses, BarlowVicRegSupConAndInfoNceOverGatheredViewsEqualOneProcess) {
  const Index b = 4, B = b * ranks(), D = 5;
  Tensor<double> z = testing::random_tensor<double>({2 * B, D}, 21);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(B));
  for (Index j = 0; j < B; ++j) labels[std::size_t(j)] = j % 3;
  using Loss = std::function<Var<double>(const Var<double>&)>;
  auto halves = [](const Var<double>& x) {
    const Index n = x.dim(0) / 2;
    return std::pair{slice_rows(x, 0, n), slice_rows(x, n, 2 * n)};
  };
  std::vector<std::pair<const char*, Loss>> losses{
      {"barlow", [&](const Var<double>& x) { auto [a, c] = halves(x); return barlow_twins(a, c); }},
      {"vicreg", [&](const Var<double>& x) { auto [a, c] = halves(x); return vicreg(a, c); }},
      {"info_nce", [&](const Var<double>& x) { auto [a, c] = halves(x); return info_nce(a, c); }},
      {"supcon", [&](const Var<double>& x) {
         std::vector<std::int64_t> l2 = labels;
         l2.insert(l2.end(), labels.begin(), labels.end());
         return supcon(x, l2);
       }}};
  for (auto& [name, f] : losses) {
    Var<double> whole(z.clone(), true);
    Var<double> one = f(whole);
    one.backward();
    Var<double> mine(shard(z), true);
    Var<double> dist = f(all_gather_views(*world(), mine, 2));
    dist.backward();
    EXPECT_NEAR(dist.item(), one.item(), 1e-12) << name;
    EXPECT_TRUE(testing::tensors_near(mine.grad(), shard(whole.grad()), 1e-12, 1e-9)) << name;
  }
}

TEST(GlobalLosses, RankMeanIsTheMeanOverRanksWithItsGradient) {
  Var<double> x(Tensor<double>::scalar(double(rank() + 1)), true);
  Var<double> m = rank_mean(*world(), mul(x, x));
  double expect = 0;
  for (int r = 0; r < ranks(); ++r) expect += double((r + 1) * (r + 1));
  EXPECT_DOUBLE_EQ(m.item(), expect / ranks());
  m.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2.0 * (rank() + 1) / ranks());
}

// -------------------------------------------------------------------------------------- synchronized BN

TEST(SyncBatchNorm, ShardsNormalizeByTheGlobalBatchInValueRunningStatisticsAndGradient) {
  const Index b = 3, B = b * ranks(), C = 4;
  Tensor<double> x = testing::random_tensor<double>({2 * B, C, 4, 4}, 31, -2, 3);
  Tensor<double> dy_full = testing::random_tensor<double>({2 * B, C, 2, 2}, 32);
  for (int kind = 0; kind < 3; ++kind) {
    auto run = [&](const Tensor<double>& input, const Tensor<double>& dy, Communicator* comm) {
      Var<double> in(input.clone(), true), w(testing::random_tensor<double>({C}, 33, 0.5, 1.5), true),
          bias(testing::random_tensor<double>({C}, 34), true);
      Tensor<double> rm = Tensor<double>::zeros({C}), rv = Tensor<double>::ones({C});
      BatchNormOptions o{.training = true, .comm = comm};
      Var<double> y = kind == 0   ? batch_norm(in, w, bias, rm, rv, o)
                      : kind == 1 ? batch_norm_relu(in, w, bias, rm, rv, o)
                                  : batch_norm_relu_max_pool2d(in, w, bias, rm, rv, o, 2);
      Tensor<double> g = kind == 2 ? dy : Tensor<double>::ones(y.shape());
      sum(mul(y, Var<double>(g))).backward();
      return std::tuple{y.value(), in.grad(), w.grad(), bias.grad(), rm, rv};
    };
    auto [y1, gx1, gw1, gb1, rm1, rv1] = run(x, dy_full, nullptr);
    auto [y2, gx2, gw2, gb2, rm2, rv2] = run(shard(x), shard(dy_full), world().get());
    EXPECT_TRUE(testing::tensors_near(y2, shard(y1), 1e-12, 1e-10)) << kind;
    EXPECT_TRUE(testing::tensors_near(gx2, shard(gx1), 1e-12, 1e-9)) << kind;
    EXPECT_TRUE(testing::tensors_near(rm2, rm1, 1e-12, 1e-10)) << kind;
    EXPECT_TRUE(testing::tensors_near(rv2, rv1, 1e-12, 1e-10)) << kind;
    // The affine parameters' gradients are this rank's shares: summed over ranks, the whole.
    all_reduce_sum(*world(), gw2.span());
    all_reduce_sum(*world(), gb2.span());
    EXPECT_TRUE(testing::tensors_near(gw2, gw1, 1e-10, 1e-9)) << kind;
    EXPECT_TRUE(testing::tensors_near(gb2, gb1, 1e-10, 1e-9)) << kind;
  }
}

// ----------------------------------------------------------------------------------------------- trainer

ImageDataset random_images(Index n) {
  Tensor<std::uint8_t> pixels = Tensor<std::uint8_t>::empty({n, 1, 28, 28});
  Rng rng(77);
  for (auto& p : pixels.span()) p = static_cast<std::uint8_t>(rng.below(256));
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) labels[std::size_t(i)] = i % 10;
  return ImageDataset(pixels, labels);
}

MultiView two_views() {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.3, 1.0}})).add(HorizontalFlip{}, 0.5);
  return MultiView::same(p, 2);
}

std::unique_ptr<Recipe<float>> make_recipe(const std::string& method, std::uint64_t seed = 7) {
  Rng rng(seed);
  auto encoder = std::make_shared<encoders::SmallConvNet<float>>(
      encoders::SmallConvNetOptions{.in_channels = 1, .widths = {4, 8, 16}}, rng);
  auto projector = std::make_shared<heads::ProjectionHead<float>>(
      heads::ProjectionHeadOptions{.in_features = 16, .hidden_features = 16, .out_features = 8}, rng);
  if (method == "simclr") return std::make_unique<SimClr<float>>(encoder, projector);
  if (method == "moco") return std::make_unique<Moco<float>>(encoder, projector, 8, MocoOptions{.queue_size = 64});
  auto predictor = std::make_shared<heads::PredictionHead<float>>(
      heads::PredictionHeadOptions{.in_features = 8, .hidden_features = 16, .out_features = 8}, rng);
  return std::make_unique<Byol<float>>(encoder, projector, predictor);
}

/// Everything a run ends with: the model, optimizer and recipe state (targets, queue) and the position.
struct Outcome {
  std::vector<double> losses;
  TensorDict state;
};

struct Run {
  std::string method;
  std::shared_ptr<Communicator> comm;  ///< null: one process
  std::int64_t steps = 3;     ///< the run's horizon
  std::int64_t stop_at = 0;   ///< stop early after this step (the horizon, hence the schedules, unchanged)
  std::string save, resume;  ///< checkpoint to write at the end / to start from
  std::uint64_t init_seed = 7;  ///< the model's initialization
};

Outcome train(const Run& r) {
  struct Losses : Callback<float> {
    std::vector<double> v;
    std::int64_t stop_at = 0;
    bool on_step_end(const StepInfo& s) override { return v.push_back(s.loss), s.step == stop_at; }
  };
  auto recipe = make_recipe(r.method, r.init_seed);
  ImageViewSource source(Loader<ImageDataset>(random_images(64), {.batch_size = 16, .drop_last = true, .seed = 5}),
                         two_views());
  // SGD with momentum, not Adam: a Linear's bias before a batch norm has a gradient that is zero but for
  // rounding, which Adam's normalization would turn into full-size steps of either sign, so neither
  // process could be compared with the other there. (The trainer tests train these recipes with Adam.)
  optim::SGD<float> opt(recipe->model().parameters(), {.lr = 0.05, .momentum = 0.9});
  Trainer<float> trainer(*recipe, source, opt,
                         {.max_steps = r.steps, .threads = 1, .checkpoint_path = r.save, .comm = r.comm});
  if (!r.resume.empty()) trainer.load_checkpoint(r.resume);
  auto log = std::make_shared<Losses>();
  log->stop_at = r.stop_at;
  trainer.add_callback(log);
  trainer.fit();
  Outcome out{log->v, {}};
  save_module(out.state, recipe->model());
  save_optimizer(out.state, opt);
  recipe->save_state(out.state, "recipe.");
  return out;
}

/// Every float tensor of `a` within relative `rtol` (in norm) of `b`'s. The optimizer's momentum buffers
/// hold gradients, sums of thousands of float products that one process and N ranks add in different
/// orders (a convolution's weight gradient over 16 samples or over 2 x 8): within 1e-4, plus 1e-6 an
/// element for the gradient of a Linear's bias before a batch norm, zero but for rounding. Weights and
/// the recipes' state must agree within `rtol`.
::testing::AssertionResult states_near(const TensorDict& a, const TensorDict& b, double rtol) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " vs " << b.size() << " tensors";
  for (const auto& [name, any] : b.items()) {
    const auto* t = std::get_if<Tensor<float>>(&any);
    if (!t) continue;
    const bool optimizer = name.starts_with("train.optim.");
    const double tol = optimizer ? std::max(rtol, 1e-4) : rtol;
    const double atol = optimizer ? 1e-6 * std::sqrt(double(t->numel())) : 0.0;
    Tensor<float> u = a.get<float>(name);
    double diff = (u.array().template cast<double>() - t->array().template cast<double>()).matrix().norm();
    double norm = t->array().template cast<double>().matrix().norm();
    if (!(diff <= tol * norm + atol))
      return ::testing::AssertionFailure() << name << ": relative difference " << diff / norm << " (norm " << norm
                                           << ", " << t->numel() << " elements)";
  }
  return ::testing::AssertionSuccess();
}

/// The same bits on every rank.
bool identical_on_every_rank(const TensorDict& d) {
  std::vector<double> local;
  for (const auto& [name, any] : d.items())
    if (const auto* t = std::get_if<Tensor<float>>(&any)) {
      std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the bytes
      const auto* p = reinterpret_cast<const unsigned char*>(t->data());
      for (std::size_t i = 0; i < std::size_t(t->numel()) * sizeof(float); ++i) h = (h ^ p[i]) * 1099511628211ull;
      local.push_back(double(h >> 12));
    }
  std::vector<double> root = local;
  broadcast(*world(), std::span<double>(root));
  return everywhere(root == local);
}

class DataParallelTrainer : public ::testing::TestWithParam<std::string> {};

TEST_P(DataParallelTrainer, RanksLearnWhatOneProcessLearnsOnTheGlobalBatch) {
  Outcome one = train({.method = GetParam()});
  Outcome dist = train({.method = GetParam(), .comm = world()});
  ASSERT_EQ(dist.losses.size(), 3u);
  for (std::size_t s = 0; s < 3; ++s) EXPECT_NEAR(dist.losses[s], one.losses[s], 1e-5 * std::abs(one.losses[s])) << s;
  EXPECT_TRUE(states_near(dist.state, one.state, 1e-5));
  EXPECT_TRUE(identical_on_every_rank(dist.state)) << "weights, optimizer or recipe state differ between ranks";
}

TEST_P(DataParallelTrainer, EveryRankStartsFromRankZerosState) {
  // Each rank initializes its model differently; the trainer broadcasts rank 0's weights (and the
  // recipe's target network or queue) before the first step.
  Outcome one = train({.method = GetParam()});
  Outcome dist = train({.method = GetParam(), .comm = world(), .init_seed = 7 + std::uint64_t(rank())});
  EXPECT_TRUE(states_near(dist.state, one.state, 1e-5));
  EXPECT_TRUE(identical_on_every_rank(dist.state));
}

TEST_P(DataParallelTrainer, CheckpointsResumeOnAnyNumberOfRanks) {
  namespace fs = std::filesystem;
  std::int64_t pid = getpid();
  broadcast(*world(), std::span<std::int64_t>(&pid, 1));
  const fs::path dir = fs::temp_directory_path() / ("simile_dp_" + std::to_string(pid));
  if (rank() == 0) fs::create_directories(dir);
  world()->barrier();
  const std::string two = (dir / (GetParam() + "_two.st")).string(), one = (dir / (GetParam() + "_one.st")).string();
  Outcome reference = train({.method = GetParam()});

  // Written by every rank (rank 0 writes), resumed by one process.
  train({.method = GetParam(), .comm = world(), .stop_at = 2, .save = two});
  world()->barrier();
  Outcome from_two = train({.method = GetParam(), .resume = two});
  EXPECT_EQ(from_two.losses.size(), 1u) << "the resumed run trains step 3 only";
  EXPECT_TRUE(states_near(from_two.state, reference.state, 1e-5));

  // Written by one process, resumed by every rank.
  if (rank() == 0) train({.method = GetParam(), .stop_at = 2, .save = one});
  world()->barrier();
  Outcome from_one = train({.method = GetParam(), .comm = world(), .resume = one});
  EXPECT_EQ(from_one.losses.size(), 1u) << "the resumed run trains step 3 only";
  EXPECT_TRUE(states_near(from_one.state, reference.state, 1e-5));
  EXPECT_TRUE(identical_on_every_rank(from_one.state));
  world()->barrier();
  if (rank() == 0) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Recipes, DataParallelTrainer, ::testing::Values("simclr", "moco", "byol"));

TEST(DataParallel, ABatchTheRanksDoNotDivideIsAClearError) {
  if (ranks() == 1) GTEST_SKIP() << "one rank divides every batch";
  auto recipe = make_recipe("simclr");
  ImageViewSource source(Loader<ImageDataset>(random_images(64), {.batch_size = 2 * ranks() + 1, .seed = 5}),
                         two_views());
  optim::Adam<float> opt(recipe->model().parameters(), {.lr = 1e-3});
  try {
    Trainer<float> trainer(*recipe, source, opt, {.max_steps = 1, .threads = 1, .comm = world()});
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("does not split over"), std::string::npos) << e.what();
  }
}

TEST(DataParallel, ARecipeWithoutADataParallelFormIsRefused) {
  if (ranks() == 1) GTEST_SKIP() << "one rank needs no data-parallel form";
  struct Local : Recipe<float> {
    std::shared_ptr<nn::Module<float>> m = make_recipe("simclr")->model().clone();
    std::string name() const override { return "local"; }
    nn::Module<float>& model() override { return *m; }
    nn::Module<float>& encoder() override { return *m; }
    Var<float> loss(const Views<float>&, std::span<const std::int64_t>) override { return {}; }
  } recipe;
  ImageViewSource source(Loader<ImageDataset>(random_images(8), {.batch_size = 4}), two_views());
  optim::Adam<float> opt(recipe.model().parameters(), {.lr = 0.1});
  EXPECT_THROW(Trainer<float>(recipe, source, opt, {.comm = world()}), ValueError);
}

}  // namespace
}  // namespace simile

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  // The job fails when any rank failed.
  return simile::all_reduce_sum(*simile::mpi_world(), result != 0 ? 1 : 0) == 0 ? 0 : 1;
}
