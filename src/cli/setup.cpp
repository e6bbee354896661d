// The registries (one table per kind of part: adding a method, an encoder or an optimizer is one line)
// and the construction of a training run from the tool's options.

#include "setup.hpp"

#include <functional>

#include "registry.hpp"

namespace simile::cli {
namespace {

using Encoder = std::shared_ptr<nn::Module<float>>;

/// What a method's factory gets: the encoder, the size of its output h, the options and the seeded Rng.
struct Parts {
  Encoder encoder;
  Index dim;
  const Options& o;
  Rng& rng;

  std::shared_ptr<heads::ProjectionHead<float>> projector() const {
    return std::make_shared<heads::ProjectionHead<float>>(
        heads::ProjectionHeadOptions{.in_features = dim, .hidden_features = o.proj_hidden, .out_features = o.proj_out},
        rng);
  }
  std::shared_ptr<heads::PredictionHead<float>> predictor() const {
    return std::make_shared<heads::PredictionHead<float>>(
        heads::PredictionHeadOptions{.in_features = o.proj_out, .hidden_features = o.proj_hidden, .out_features = o.proj_out},
        rng);
  }
};

using MethodFactory = std::function<std::unique_ptr<Recipe<float>>(const Parts&)>;
using EncoderFactory = std::function<std::pair<Encoder, Index>(Rng&)>;  // the encoder and the size of h
using OptimizerFactory = std::function<std::unique_ptr<optim::Optimizer<float>>(const Options&, nn::Module<float>&)>;

// Arguments of make_unique are evaluated in an unspecified order and the heads draw from one Rng: each
// head is made in its own statement so that a given seed gives the same weights with every compiler.
const Registry<MethodFactory>& methods() {
  static const Registry<MethodFactory> r("--method", {
      {"simclr", "SimCLR, NT-Xent on two views (--temperature)",
       [](const Parts& p) { return std::make_unique<SimClr<float>>(p.encoder, p.projector(), SimClrOptions{.temperature = p.o.temperature}); }},
      {"moco", "MoCo v2, InfoNCE against a queue of keys (--queue-size, --ema, --temperature)",
       [](const Parts& p) {
         return std::make_unique<Moco<float>>(p.encoder, p.projector(), p.o.proj_out,
                                              MocoOptions{.momentum = p.o.ema, .queue_size = p.o.queue_size,
                                                          .temperature = p.o.temperature, .seed = p.o.seed});
       }},
      {"byol", "BYOL, predictor against a momentum target (--ema: base momentum)",
       [](const Parts& p) { auto proj = p.projector(); return std::make_unique<Byol<float>>(p.encoder, proj, p.predictor(), ByolOptions{.tau_base = p.o.ema}); }},
      {"simsiam", "SimSiam, predictor with a stop-gradient",
       [](const Parts& p) { auto proj = p.projector(); return std::make_unique<SimSiam<float>>(p.encoder, proj, p.predictor()); }},
      {"barlow", "Barlow Twins, cross-correlation towards the identity",
       [](const Parts& p) { return std::make_unique<BarlowTwins<float>>(p.encoder, p.projector()); }},
      {"vicreg", "VICReg, variance-invariance-covariance",
       [](const Parts& p) { return std::make_unique<VicRegRecipe<float>>(p.encoder, p.projector()); }},
      {"supcon", "supervised contrastive, uses the labels (--temperature)",
       [](const Parts& p) { return std::make_unique<SupConRecipe<float>>(p.encoder, p.projector(), SupConRecipeOptions{.temperature = p.o.temperature}); }},
  });
  return r;
}

const Registry<EncoderFactory>& encoders() {
  static const Registry<EncoderFactory> r("--encoder", {
      {"smallconv", "SmallConvNet, h of 128",
       [](Rng& rng) {
         auto e = std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.in_channels = 1}, rng);
         return std::pair<Encoder, Index>(e, e->output_dim());
       }},
      {"resnet18", "ResNet-18, h of 512",
       [](Rng& rng) {
         return std::pair<Encoder, Index>(std::make_shared<encoders::ResNet18<float>>(encoders::ResNet18Options{.in_channels = 1}, rng), 512);
       }},
      {"mlp", "784-512-256 MLP with batch norm, h of 256",
       [](Rng& rng) {
         auto seq = std::make_shared<nn::Sequential<float>>();
         seq->push_back(std::make_shared<nn::Flatten<float>>());
         seq->push_back(std::make_shared<encoders::Mlp<float>>(
             encoders::MlpOptions{.sizes = {784, 512, 256}, .batch_norm = true, .activate_last = true}, rng));
         return std::pair<Encoder, Index>(seq, 256);
       }},
  });
  return r;
}

std::unique_ptr<optim::Optimizer<float>> make_lars(const Options& o, nn::Module<float>& model) {
  // Biases and batch-norm parameters (1-D) get neither weight decay nor the trust ratio (SimCLR, BYOL).
  std::vector<Var<float>> adapt, exclude;
  for (auto& [name, p] : model.named_parameters()) (p.shape().rank() > 1 ? adapt : exclude).push_back(p);
  optim::LarsOptions a{.lr = o.lr, .weight_decay = o.weight_decay}, e = a;
  e.weight_decay = 0, e.adaptation = false;
  return std::make_unique<optim::LARS<float>>(std::vector<optim::ParamGroup<float, optim::LarsOptions>>{{adapt, a}, {exclude, e}});
}

const Registry<OptimizerFactory>& optimizers() {
  static const Registry<OptimizerFactory> r("--optimizer", {
      {"adam", "Adam (--lr, --weight-decay as L2)",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::Adam<float>>(m.parameters(), optim::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
       }},
      {"adamw", "AdamW (decoupled --weight-decay)",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::AdamW<float>>(std::vector<optim::ParamGroup<float, optim::AdamWOptions>>{
             {m.parameters(), optim::AdamWOptions{.lr = o.lr, .weight_decay = o.weight_decay}}});
       }},
      {"sgd", "SGD with momentum 0.9",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::SGD<float>>(m.parameters(), optim::SGDOptions{.lr = o.lr, .momentum = 0.9, .weight_decay = o.weight_decay});
       }},
      {"lars", "LARS; biases and batch norm without decay or trust ratio", make_lars},
  });
  return r;
}

TrainerOptions trainer_options(const Options& o) {
  TrainerOptions t;
  t.epochs = o.epochs;
  t.max_steps = o.max_steps;
  t.budget_seconds = o.budget;
  t.threads = o.threads;
  t.checkpoint_path = o.checkpoint;
  t.checkpoint_every = o.checkpoint_every;
  t.checkpoint_each_epoch = o.checkpoint_each_epoch;
  t.metadata = checkpoint_metadata(o);
  t.profile = o.profile;
  t.cosine_lr = o.schedule == "cosine";
  t.warmup_epochs = o.warmup_epochs;
  t.stop_requested = o.stop_requested;
  t.comm = o.comm;
  return t;
}

}  // namespace

Choices method_choices() { return methods().choices(); }
Choices encoder_choices() { return encoders().choices(); }
Choices optimizer_choices() { return optimizers().choices(); }

Data load_data(const Options& o) {
  Data d{load_fashion_mnist(o.data_dir, "train"), load_fashion_mnist(o.data_dir, "test")};
  const Shape train = d.train.images().shape(), test = d.test.images().shape();
  check<IoError>(train.rank() == test.rank() && std::equal(train.begin() + 1, train.end(), test.begin() + 1),
                 "'", o.data_dir, "': the images of train-images-idx3-ubyte are ", train,
                 ", those of t10k-images-idx3-ubyte ", test, ": their sizes differ");
  if (o.limit > 0) {
    if (o.limit > d.train.size())
      throw BadArgument(detail::str("--limit: ", o.limit, " is more than the ", d.train.size(),
                                    " training images in '", o.data_dir, "'"));
    d.train = first_samples(d.train, o.limit);
  }
  return d;
}

void check_evaluation_options(const Options& o, const Data& d) {
  if (o.knn_k > d.train.size())
    throw BadArgument(detail::str("--knn-k: ", o.knn_k, " neighbours, but the training set has ", d.train.size(),
                                  " images"));
}

Model load_checkpoint_model(Options& o, const std::string& path) {
  TensorDict d = load_safetensors(path);
  o = checkpoint_options(o, path, d.metadata);
  Model m = build_model(o);
  try {
    auto recipe = d.metadata.find("recipe");
    check<IoError>(recipe != d.metadata.end() && recipe->second == m.recipe->name(), "metadata 'method' is '",
                   o.method, "' but 'recipe' is '", recipe == d.metadata.end() ? std::string("?") : recipe->second,
                   "'");
    load_module(d, m.recipe->model());
  } catch (const Error&) {
    detail::rethrow_with_context("'" + path + "': ");
  }
  return m;
}

MultiView views_for(const Options&) {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  return MultiView::same(p, 2);
}

Model build_model(const Options& o) {
  Rng rng(o.seed);
  auto [encoder, dim] = encoders().at(o.encoder)(rng);
  return Model{methods().at(o.method)(Parts{encoder, dim, o, rng}), dim};
}

std::unique_ptr<Run> make_run(const Options& o) {
  auto run = std::make_unique<Run>();
  run->data = load_data(o);
  if (o.batch > run->data.train.size())
    throw BadArgument(detail::str("--batch: ", o.batch, " images a batch, but the training set has ",
                                  run->data.train.size()));
  run->model = build_model(o);
  run->optimizer = optimizers().at(o.optimizer)(o, run->model.recipe->model());
  run->source = std::make_unique<ImageViewSource>(
      Loader<ImageDataset>(run->data.train,
                           LoaderOptions{.batch_size = o.batch, .shuffle = true, .drop_last = true, .seed = o.seed}),
      views_for(o));
  run->trainer = std::make_unique<Trainer<float>>(*run->model.recipe, *run->source, *run->optimizer, trainer_options(o));
  return run;
}

EvaluationOptions evaluation_options(const Options& o) {
  EvaluationOptions e;
  e.knn.k = static_cast<int>(o.knn_k);
  e.knn.temperature = o.knn_t;
  e.seed = o.seed;
  return e;
}

}  // namespace simile::cli
