#pragma once
// How the `simile` tool turns its options into data, a model, an optimizer and a trainer.

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "args.hpp"
#include "simile/simile.hpp"


namespace simile::cli {

struct Setup {
  std::string method = "simclr", encoder = "smallconv", data_dir = fashion_mnist_dir, optimizer = "adam",
              schedule = "cosine", checkpoint, resume, export_embeddings, metrics;
  std::int64_t epochs = 10, batch = 256, limit = 0, log_every = 50, proj_hidden = 128, proj_out = 64,
               queue_size = 4096, warmup_epochs = 0, max_steps = 0, checkpoint_every = 0;
  int threads = 2;
  std::uint64_t seed = 0;
  double budget = 0, lr = 1e-3, weight_decay = 1e-6, temperature = 0.5, ema = 0.99, knn_k = 200, knn_t = 0.1;
  bool no_eval = false, profile = false;

  static Setup from_args(Args& a, bool training) {
    Setup s;
    s.data_dir = a.str("data", s.data_dir, "folder with the Fashion-MNIST IDX files (gzip or plain)");
    s.limit = a.integer("limit", 0, "use only the first N training images (0: all)");
    s.threads = static_cast<int>(a.integer("threads", 2, "threads for training and evaluation"));
    s.seed = static_cast<std::uint64_t>(a.integer("seed", 0, "seed of initialization, shuffling and augmentation"));
    s.encoder = a.str("encoder", s.encoder, "smallconv (SmallConvNet, 128-d) or resnet18 (512-d) or mlp");
    s.method = a.str("method", s.method, "simclr, moco, byol, simsiam, barlow, vicreg or supcon");
    s.proj_hidden = a.integer("proj-hidden", s.proj_hidden, "projection head hidden width");
    s.proj_out = a.integer("proj-out", s.proj_out, "projection head output width (z)");
    s.knn_k = a.num("knn-k", s.knn_k, "neighbours of the kNN evaluation");
    s.knn_t = a.num("knn-t", s.knn_t, "temperature of the kNN vote");
    if (!training) return s;
    s.budget = a.num("budget-seconds", 0, "stop training after this many seconds (0: no budget)");
    // With a budget, the budget decides how long to train unless epochs are asked for as well.
    s.epochs = a.integer("epochs", s.budget > 0 ? 1000 : s.epochs,
                         "epochs (default 10; with --budget-seconds an upper bound, default 1000)");
    s.max_steps = a.integer("max-steps", 0, "stop after this many optimizer steps (0: no limit)");
    s.batch = a.integer("batch", s.batch, "images per batch (each gives two views)");
    s.optimizer = a.str("optimizer", s.optimizer, "adam, adamw, sgd or lars");
    s.lr = a.num("lr", s.lr, "base learning rate");
    s.weight_decay = a.num("weight-decay", s.weight_decay, "weight decay");
    s.schedule = a.str("schedule", s.schedule, "constant or cosine (linear warmup, then cosine decay to 0)");
    s.warmup_epochs = a.integer("warmup-epochs", 0, "warmup length for --schedule cosine");
    s.temperature = a.num("temperature", s.temperature, "temperature of NT-Xent / InfoNCE / SupCon");
    s.queue_size = a.integer("queue-size", s.queue_size, "MoCo: keys in the queue");
    s.ema = a.num("ema", s.ema, "MoCo / BYOL: momentum of the target network (BYOL: its base value)");
    s.checkpoint = a.str("checkpoint", "", "write checkpoints here (periodically and at the end)");
    s.checkpoint_every = a.integer("checkpoint-every", 0, "steps between checkpoints (0: only at the end)");
    s.resume = a.str("resume", "", "continue the run saved in this checkpoint");
    s.export_embeddings = a.str("export-embeddings", "", "write the test set's representations h to this .npy");
    s.metrics = a.str("metrics", "", "append JSON-lines metrics to this file");
    s.log_every = a.integer("log-every", s.log_every, "steps between progress lines");
    s.no_eval = a.flag("no-eval", "skip the evaluation after training");
    s.profile = a.flag("profile", "print a table of time per op and phase (from the second step on)");
    check(s.batch >= 2 && s.epochs >= 1 && s.threads >= 1, "train: --batch ", s.batch, " (>= 2), --epochs ", s.epochs,
          " (>= 1) and --threads ", s.threads, " (>= 1) out of range");
    return s;
  }

  /// Architecture options recorded in a checkpoint, so `eval` and `embed` rebuild the same model.
  std::map<std::string, std::string> metadata() const {
    return {{"method", method}, {"encoder", encoder}, {"proj_hidden", std::to_string(proj_hidden)},
            {"proj_out", std::to_string(proj_out)}, {"queue_size", std::to_string(queue_size)}};
  }
  void apply_checkpoint_metadata(const std::map<std::string, std::string>& m) {
    auto get = [&](const char* k) {
      auto it = m.find(k);
      check<IoError>(it != m.end(), "checkpoint metadata lacks '", k, "' (not written by `simile train`?)");
      return it->second;
    };
    method = get("method");
    encoder = get("encoder");
    proj_hidden = std::stoll(get("proj_hidden"));
    proj_out = std::stoll(get("proj_out"));
    queue_size = std::stoll(get("queue_size"));
  }
};

struct Data {
  ImageDataset train, test;
};

inline Data load_data(const Setup& s) {
  Data d{load_fashion_mnist(s.data_dir, "train"), load_fashion_mnist(s.data_dir, "test")};
  if (s.limit > 0 && s.limit < d.train.size()) {
    std::vector<Index> idx(static_cast<std::size_t>(s.limit));
    for (Index i = 0; i < s.limit; ++i) idx[static_cast<std::size_t>(i)] = i;
    d.train = subset(d.train, idx);
  }
  return d;
}

/// The Fashion-MNIST view pipeline: random resized crop, flip, brightness/contrast jitter, noise.
inline MultiView views_for(const Setup&) {
  Pipeline p;
  p.add(RandomResizedCrop({.height = 28, .width = 28, .scale = {0.2, 1.0}}))
      .add(HorizontalFlip{}, 0.5)
      .add(ColorJitter({.brightness = 0.4, .contrast = 0.4}), 0.8)
      .add(GaussianNoise({.sigma = {0.0, 0.05}}));
  return MultiView::same(p, 2);
}

struct Model {
  std::unique_ptr<Recipe<float>> recipe;
  Index dim = 0;  ///< size of h
};

inline Model build_model(const Setup& s) {
  Rng rng(s.seed);
  std::shared_ptr<nn::Module<float>> enc;
  Index dim = 0;
  if (s.encoder == "smallconv") {
    auto e = std::make_shared<encoders::SmallConvNet<float>>(encoders::SmallConvNetOptions{.in_channels = 1}, rng);
    dim = e->output_dim(), enc = e;
  } else if (s.encoder == "resnet18") {
    auto e = std::make_shared<encoders::ResNet18<float>>(encoders::ResNet18Options{.in_channels = 1}, rng);
    dim = 512, enc = e;
  } else if (s.encoder == "mlp") {
    auto seq = std::make_shared<nn::Sequential<float>>();
    seq->push_back(std::make_shared<nn::Flatten<float>>());
    seq->push_back(std::make_shared<encoders::Mlp<float>>(
        encoders::MlpOptions{.sizes = {784, 512, 256}, .batch_norm = true, .activate_last = true}, rng));
    dim = 256, enc = seq;
  } else {
    throw ValueError("train: --encoder must be smallconv, resnet18 or mlp, got '" + s.encoder + "'");
  }
  auto projector = [&] {
    return std::make_shared<heads::ProjectionHead<float>>(
        heads::ProjectionHeadOptions{.in_features = dim, .hidden_features = s.proj_hidden, .out_features = s.proj_out}, rng);
  };
  Model m;
  m.dim = dim;
  auto predictor = [&] {
    return std::make_shared<heads::PredictionHead<float>>(
        heads::PredictionHeadOptions{.in_features = s.proj_out, .hidden_features = s.proj_hidden, .out_features = s.proj_out},
        rng);
  };
  if (s.method == "simclr") {
    m.recipe = std::make_unique<SimClr<float>>(enc, projector(), SimClrOptions{.temperature = s.temperature});
  } else if (s.method == "byol") {
    auto proj = projector();
    m.recipe = std::make_unique<Byol<float>>(enc, proj, predictor(), ByolOptions{.tau_base = s.ema});
  } else if (s.method == "simsiam") {
    auto proj = projector();
    m.recipe = std::make_unique<SimSiam<float>>(enc, proj, predictor());
  } else if (s.method == "moco") {
    m.recipe = std::make_unique<Moco<float>>(
        enc, projector(), s.proj_out,
        MocoOptions{.momentum = s.ema, .queue_size = s.queue_size, .temperature = s.temperature, .seed = s.seed});
  } else if (s.method == "barlow") {
    m.recipe = std::make_unique<BarlowTwins<float>>(enc, projector());
  } else if (s.method == "vicreg") {
    m.recipe = std::make_unique<VicRegRecipe<float>>(enc, projector());
  } else if (s.method == "supcon") {
    m.recipe = std::make_unique<SupConRecipe<float>>(enc, projector(), SupConRecipeOptions{.temperature = s.temperature});
  } else {
    throw ValueError("train: --method must be simclr, moco, byol, simsiam, barlow, vicreg or supcon, got '" + s.method + "'");
  }
  return m;
}

inline std::unique_ptr<optim::Optimizer<float>> build_optimizer(const Setup& s, nn::Module<float>& model) {
  if (s.optimizer == "adam")
    return std::make_unique<optim::Adam<float>>(model.parameters(), optim::AdamOptions{.lr = s.lr, .weight_decay = s.weight_decay});
  if (s.optimizer == "adamw")
    return std::make_unique<optim::AdamW<float>>(std::vector<optim::ParamGroup<float, optim::AdamWOptions>>{
        {model.parameters(), optim::AdamWOptions{.lr = s.lr, .weight_decay = s.weight_decay}}});
  if (s.optimizer == "sgd")
    return std::make_unique<optim::SGD<float>>(model.parameters(),
                                               optim::SGDOptions{.lr = s.lr, .momentum = 0.9, .weight_decay = s.weight_decay});
  if (s.optimizer == "lars") {
    // Biases and batch-norm parameters (1-D) get neither weight decay nor the trust ratio (SimCLR, BYOL).
    std::vector<Var<float>> adapt, exclude;
    for (auto& [name, p] : model.named_parameters()) (p.shape().rank() > 1 ? adapt : exclude).push_back(p);
    optim::LarsOptions a{.lr = s.lr, .weight_decay = s.weight_decay}, e = a;
    e.weight_decay = 0, e.adaptation = false;
    return std::make_unique<optim::LARS<float>>(std::vector<optim::ParamGroup<float, optim::LarsOptions>>{{adapt, a}, {exclude, e}});
  }
  throw ValueError("train: --optimizer must be adam, adamw, sgd or lars, got '" + s.optimizer + "'");
}

inline TrainerOptions trainer_options(const Setup& s) {
  TrainerOptions o;
  o.epochs = s.epochs;
  o.max_steps = s.max_steps;
  o.budget_seconds = s.budget;
  o.threads = s.threads;
  o.checkpoint_path = s.checkpoint;
  o.checkpoint_every = s.checkpoint_every;
  o.metadata = s.metadata();
  o.profile = s.profile;
  check(s.schedule == "constant" || s.schedule == "cosine", "train: --schedule must be constant or cosine, got '",
        s.schedule, "'");
  o.cosine_lr = s.schedule == "cosine";
  o.warmup_epochs = s.warmup_epochs;
  return o;
}

inline EvaluationOptions evaluation_options(const Setup& s) {
  EvaluationOptions e;
  e.knn.k = static_cast<int>(s.knn_k);
  e.knn.temperature = s.knn_t;
  e.seed = s.seed;
  return e;
}

}  // namespace simile::cli
