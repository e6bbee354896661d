// Bringing your own parts: a custom encoder (a Module of your own) and a custom loss (a function of Vars)
// composed into a recipe of your own, trained by simile's Trainer like the built-in methods.
//
//   custom_recipe [--steps 60] [--threads 2]
//
// The encoder is a two-layer MLP with a tanh written as a Module; the loss is "alignment + uniformity"
// (Wang & Isola 2020) written from ops: mean ||z1 - z2||^2 + log mean exp(-2 ||z_i - z_j||^2).


#include <exception>
#include <iostream>
#include <string>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

using namespace simile;

/// A user's encoder: flatten, Linear, tanh, Linear. Registering the children gives it named parameters,
/// cloning and checkpoints for free.
class TanhMlp : public nn::Cloneable<TanhMlp, float> {
 public:
  TanhMlp(Index in, Index hidden, Index out, Rng& rng) {
    first_ = register_module("first", std::make_shared<nn::Linear<float>>(nn::LinearOptions{in, hidden}, rng));
    second_ = register_module("second", std::make_shared<nn::Linear<float>>(nn::LinearOptions{hidden, out}, rng));
  }
  Var<float> forward(const Var<float>& x) override {
    return get(second_).forward(tanh(get(first_).forward(flatten(x))));
  }
  std::string type_name() const override { return "TanhMlp"; }

 private:
  nn::ChildId<nn::Linear<float>> first_, second_;
};

/// A user's loss from simile's ops: alignment of the two views plus uniformity of the first view.
Var<float> align_uniform(const Var<float>& z1, const Var<float>& z2) {
  Var<float> a = l2_normalize(z1), b = l2_normalize(z2);
  Var<float> alignment = mean(sum(pow(a - b, 2.0f), 1));
  Var<float> sq_dist = 2.0f - 2.0f * matmul(a, a, false, true);  // ||a_i - a_j||^2 of unit vectors
  Var<float> uniformity = log(mean(exp(sq_dist * -2.0f)));
  return alignment + uniformity;
}

/// A user's recipe: the encoder, the two views as one batch, the loss on the halves.
class AlignUniform : public Recipe<float> {
 public:
  explicit AlignUniform(std::shared_ptr<TanhMlp> encoder) : encoder_(std::move(encoder)) {}
  std::string name() const override { return "align_uniform"; }
  nn::Module<float>& model() override { return *encoder_; }
  nn::Module<float>& encoder() override { return *encoder_; }
  Var<float> loss(const Views<float>& views, std::span<const std::int64_t>) override {
    return align_uniform(encoder_->forward(Var<float>(views.view(0))), encoder_->forward(Var<float>(views.view(1))));
  }

 private:
  std::shared_ptr<TanhMlp> encoder_;
};

int main(int argc, char** argv) {
  std::int64_t steps = 60;
  int threads = 2;
  Index limit = 0;
  examples::CommandLine cli("custom_recipe", "Trains a custom encoder, loss and recipe with simile's Trainer");
  cli.option("--steps", steps, "optimizer steps", 1, 1'000'000)
      .option("--threads", threads, "threads", 1, 1024)
      .option("--limit", limit, "use only the first N training and N test images (0: all)", 0, Index{1} << 40);
  return cli.run(argc, argv, [&] {
    ImageDataset train = load_fashion_mnist(fashion_mnist_dir, "train");
    ImageDataset test = load_fashion_mnist(fashion_mnist_dir, "test");
    if (limit > 0) {
      train = first_samples(train, limit);
      test = first_samples(test, limit);
    }
    Rng rng(0);
    AlignUniform recipe(std::make_shared<TanhMlp>(784, 256, 64, rng));
    Pipeline augment;
    augment.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.3, 1.0}})).add(HorizontalFlip{}, 0.5);
    ImageViewSource source(Loader<ImageDataset>(train, {.batch_size = 256, .drop_last = true}),
                           MultiView::same(augment, 2));
    optim::Adam<float> adam(recipe.model().parameters(), {.lr = 1e-3});
    Trainer<float> trainer(recipe, source, adam, {.epochs = 100, .max_steps = steps, .threads = threads});
    trainer.add_callback(std::make_shared<ProgressBar<float>>(20));
    TrainResult r = trainer.fit();
    ThreadScope scope(threads);
    EvaluationReport e = evaluate_encoder(recipe.encoder(), train, test, {.label_fractions = false});
    examples::print_json({{"steps", r.steps},
                          {"final_loss", r.final_loss},
                          {"linear_probe_accuracy", e.linear_probe_accuracy},
                          {"knn_accuracy", e.knn_accuracy}});
  });
}
