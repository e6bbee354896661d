// Supervised Fashion-MNIST: SmallConvNet + Linear(128, 10) trained with cross-entropy and Adam (learning rate
// decayed to 0 over the run by a half cosine, unless --constant-lr), then evaluated on the 10,000 test images
// in eval mode (BatchNorm's running statistics) without a graph.
//
//   supervised_fashion_mnist [--epochs 5] [--batch 128] [--threads 2] [--seed 0] [--lr 0.002] [--constant-lr]
//                            [--data /usr/share/datasets/fashion-mnist] [--limit N]
//
// On a machine shared with other jobs, run it with OMP_WAIT_POLICY=passive: OpenMP's default spinning at the
// end of each parallel region wastes the CPU the other thread is waiting for (measured with
// bench/step_bench.cpp: at 2 threads, 346 ms of CPU per step spinning vs 145 ms passive, on a loaded machine).
//
// Pixels are scaled to [0, 1] and normalized with the training set's mean 0.2860 and standard deviation
// 0.3530. One progress line per epoch goes to stderr (epoch, mean loss, train accuracy, seconds, samples/s);
// the last line on stdout is JSON: {"test_accuracy": ..., "epochs": ..., "seconds": ..., "samples_per_second": ...}
// (seconds and samples/s of training only). A missing data directory or a bad option prints a message and
// exits with status 2 (1 for any other error).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "simile/data.hpp"
#include "support/command_line.hpp"
#include "simile/encoders.hpp"
#include "simile/nn.hpp"
#include "simile/ops.hpp"
#include "simile/optim.hpp"

namespace {
using namespace simile;

constexpr float fashion_mnist_mean = 0.2860f;
constexpr float fashion_mnist_std = 0.3530f;

struct Args {
  int epochs = 5;
  Index batch = 128;
  int threads = 2;
  std::uint64_t seed = 0;
  double lr = 2e-3;
  bool constant_lr = false;  ///< keep the learning rate constant (else cosine decay to 0 over the run)
  std::string data = fashion_mnist_dir;
  Index limit = 0;  ///< 0: all 60,000 training images
};

/// The command line, with the same ranges as the `simile` tool (a bad value exits with status 2).
void declare(examples::CommandLine& cli, Args& a) {
  cli.option("--epochs", a.epochs, "epochs", 1, 1'000'000)
      .option("--batch", a.batch, "images per batch", 2, Index{1} << 20)
      .option("--threads", a.threads, "threads", 1, 1024)
      .option("--seed", a.seed, "seed", 0, std::uint64_t{1} << 62)
      .option("--lr", a.lr, "learning rate", 1e-12, 1e3)
      .flag("--constant-lr", a.constant_lr, "keep the learning rate constant (default: cosine decay to 0)")
      .option("--data", a.data, "folder with Fashion-MNIST's four IDX files (Debian: dataset-fashion-mnist)",
              /*existing_directory=*/true)
      .option("--limit", a.limit, "use only the first N training images (0: all)", 0, 1'000'000'000);
}

/// (x - mean) / std in place, x in [0, 1] from the loader.
void normalize(const Tensor<float>& x) {
  for (float& v : x.span()) v = (v - fashion_mnist_mean) / fashion_mnist_std;
}

/// Number of rows of `logits` [B, C] whose largest entry is at the label.
Index count_correct(const Tensor<float>& logits, const std::vector<std::int64_t>& labels) {
  const Index c = logits.dim(1);
  Index correct = 0;
  for (Index i = 0; i < logits.dim(0); ++i) {
    const float* row = logits.data() + i * c;
    correct += (std::max_element(row, row + c) - row) == labels[std::size_t(i)];
  }
  return correct;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run(const Args& args) {
  set_num_threads(args.threads);
  ImageDataset train = load_fashion_mnist(args.data, "train");
  ImageDataset test = load_fashion_mnist(args.data, "test");
  if (args.limit > 0) train = first_samples(train, args.limit);

  Rng rng(args.seed);
  auto encoder = std::make_shared<encoders::SmallConvNet<float>>(
      encoders::SmallConvNetOptions{.in_channels = train.channels()}, rng);
  auto classifier =
      std::make_shared<nn::Linear<float>>(nn::LinearOptions{.in_features = encoder->output_dim(), .out_features = 10}, rng);
  std::vector<Var<float>> params = encoder->parameters();
  for (const Var<float>& p : classifier->parameters()) params.push_back(p);
  optim::AdamOptions adam;
  adam.lr = args.lr;
  optim::Adam<float> optimizer(params, adam);

  std::fprintf(stderr, "training on %lld images (%lld parameters), test on %lld, batch %lld, %d threads, seed %llu\n",
               static_cast<long long>(train.size()),
               static_cast<long long>(encoder->num_parameters() + classifier->num_parameters()),
               static_cast<long long>(test.size()), static_cast<long long>(args.batch), args.threads,
               static_cast<unsigned long long>(args.seed));

  Loader<ImageDataset> loader(train, {.batch_size = args.batch, .shuffle = true, .drop_last = false, .seed = args.seed});
  const std::int64_t total_steps = std::int64_t(args.epochs) * std::int64_t(loader.num_batches());
  optim::WarmupCosineSchedule cosine;
  cosine.total_steps = std::max<std::int64_t>(1, total_steps - 1);  // the last step runs at lr 0
  optim::LrScheduler<float> scheduler(optimizer, [&](std::int64_t step) { return args.constant_lr ? 1.0 : cosine(step); });
  std::int64_t step = 0;
  double train_seconds = 0;
  Index train_samples = 0;
  for (int epoch = 0; epoch < args.epochs; ++epoch) {
    encoder->train();
    classifier->train();
    loader.set_epoch(static_cast<std::uint64_t>(epoch));
    auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    Index correct = 0, seen = 0;
    for (Index b = 0; b < loader.num_batches(); ++b) {
      Batch batch = loader.batch(b);
      normalize(batch.data);
      Var<float> logits = classifier->forward(encoder->forward(Var<float>(batch.data)));
      Var<float> loss = cross_entropy(logits, batch.labels);
      optimizer.zero_grad();
      loss.backward();
      scheduler.apply(step++);
      optimizer.step();
      const Index n = batch.data.dim(0);
      check<NumericError>(std::isfinite(loss.item()), "supervised_fashion_mnist: loss ", loss.item(), " at epoch ",
                          epoch + 1, " batch ", b);
      loss_sum += double(loss.item()) * double(n);
      correct += count_correct(logits.value(), batch.labels);
      seen += n;
    }
    double s = seconds_since(t0);
    train_seconds += s;
    train_samples += seen;
    std::fprintf(stderr, "epoch %d/%d  loss %.4f  train accuracy %.4f  %.1f s  %.0f samples/s\n", epoch + 1,
                 args.epochs, loss_sum / double(seen), double(correct) / double(seen), s, double(seen) / s);
  }

  encoder->eval();
  classifier->eval();
  Index correct = 0;
  {
    NoGradGuard no_grad;
    Loader<ImageDataset> test_loader(test, {.batch_size = 1000, .shuffle = false});
    for (Index b = 0; b < test_loader.num_batches(); ++b) {
      Batch batch = test_loader.batch(b);
      normalize(batch.data);
      correct += count_correct(classifier->forward(encoder->forward(Var<float>(batch.data))).value(), batch.labels);
    }
  }
  const double accuracy = double(correct) / double(test.size());
  std::fprintf(stderr, "test accuracy %.4f (%lld / %lld)\n", accuracy, static_cast<long long>(correct),
               static_cast<long long>(test.size()));
  examples::print_json({{"test_accuracy", accuracy},
                        {"epochs", args.epochs},
                        {"seconds", train_seconds},
                        {"samples_per_second", double(train_samples) / train_seconds}});
}

}  // namespace

int main(int argc, char** argv) {
  examples::CommandLine cli("supervised_fashion_mnist", "Supervised Fashion-MNIST: SmallConvNet + Linear(128, 10), cross-entropy, Adam");
  Args a;
  declare(cli, a);
  return cli.run(argc, argv, [&] { run(a); });
}
