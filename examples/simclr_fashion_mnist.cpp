// SimCLR on Fashion-MNIST in a page of library code: the same run as `simile train --method simclr`.
//
//   simclr_fashion_mnist [--budget-seconds 300] [--epochs 100] [--threads 2] [--seed 0]
//                        [--max-steps N] [--limit N]     (a smoke run: ctest runs it with tiny values)
//
// Trains SmallConvNet + a projection head with NT-Xent on the 60k training images (labels unused),
// then evaluates the frozen encoder: linear probe and kNN (k = 200, T = 0.1) on the 10k test images.

#include <cmath>
#include <string>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

using namespace simile;

int main(int argc, char** argv) {
  double budget = 300;
  std::int64_t epochs = 100;
  int threads = 2;
  std::uint64_t seed = 0;
  std::int64_t max_steps = 0;
  Index limit = 0;
  examples::CommandLine cli("simclr_fashion_mnist", "SimCLR on Fashion-MNIST in a page of library code");
  cli.option("--budget-seconds", budget, "stop training after this many seconds (0: no budget)", 0.0, 1e8)
      .option("--epochs", epochs, "epochs (an upper bound with a budget)", 1, 1'000'000)
      .option("--threads", threads, "threads", 1, 1024)
      .option("--seed", seed, "seed of initialization, shuffling and augmentation", 0, std::uint64_t{1} << 62)
      .option("--max-steps", max_steps, "stop after this many steps (0: no limit)", 0, std::int64_t{1} << 40)
      .option("--limit", limit, "use only the first N training and N test images (0: all)", 0, Index{1} << 40);
  return cli.run(argc, argv, [&] {
    ImageDataset train = load_fashion_mnist(fashion_mnist_dir, "train");
    ImageDataset test = load_fashion_mnist(fashion_mnist_dir, "test");
    if (limit > 0) {
      train = first_samples(train, limit);
      test = first_samples(test, limit);
    }

    // Two views of every image: random resized crop, flip, brightness/contrast jitter, noise.
    Pipeline augment;
    augment.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
        .add(HorizontalFlip{}, 0.5)
        .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
        .add(GaussianNoise({.sigma = {0.0, 0.05}}));
    MultiView views = MultiView::same(augment, 2);

    // Encoder h = f(x) (128-d), projector z = g(h), NT-Xent at temperature 0.5.
    Rng rng(seed);
    auto encoder = std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.in_channels = 1}, rng);
    auto projector = std::make_shared<heads::ProjectionHead<float>>(
        heads::ProjectionHeadOptions{.in_features = 128, .hidden_features = 128, .out_features = 64}, rng);
    SimClr<float> simclr(encoder, projector, {.temperature = 0.5});

    ImageViewSource source(Loader<ImageDataset>(train, {.batch_size = 256, .drop_last = true, .seed = seed}), views);
    optim::Adam<float> adam(simclr.model().parameters(), {.lr = 1e-3, .weight_decay = 1e-6});
    // Cosine decay of the learning rate over the run (no warmup).
    TrainerOptions options{
        .epochs = epochs, .max_steps = max_steps, .budget_seconds = budget, .threads = threads, .cosine_lr = true};
    Trainer<float> trainer(simclr, source, adam, options);
    trainer.add_callback(std::make_shared<ProgressBar<float>>(100));
    TrainResult r = trainer.fit();

    ThreadScope scope(threads);
    EvaluationReport e = evaluate_encoder(simclr.encoder(), train, test, {.label_fractions = false});
    examples::print_json({{"steps", r.steps},
                          {"seconds", r.seconds},
                          {"samples_per_second", r.samples_per_second},
                          {"final_loss", r.final_loss},
                          {"linear_probe_accuracy", e.linear_probe_accuracy},
                          {"knn_accuracy", e.knn_accuracy}});
  });
}
