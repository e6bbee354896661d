#pragma once
// How the tool turns its options into the library's parts: data, views, a model (encoder + recipe), an
// optimizer, a loader and a trainer. Everything that calls those constructors is in setup.cpp, so a change
// of the library's API is a change of that one file.

#include <memory>

#include "options.hpp"
#include "simile/simile.hpp"

namespace simile::cli {

struct Data {
  ImageDataset train, test;
};
/// Fashion-MNIST from --data, the training set cut to --limit images. Train and test images of different
/// sizes are an IoError; --limit beyond the training set a BadArgument.
Data load_data(const Options& o);

/// The Fashion-MNIST view pipeline: random resized crop, flip, brightness/contrast jitter, noise.
MultiView views_for(const Options& o);

struct Model {
  std::unique_ptr<Recipe<float>> recipe;
  Index dim = 0;  ///< size of h
};
/// The encoder and recipe named by --encoder and --method (from the registries), initialized from --seed.
Model build_model(const Options& o);
/// The model saved in the checkpoint `path` by `simile train`: `o` takes the architecture recorded in it,
/// then its weights are loaded. Every error names `path`.
Model load_checkpoint_model(Options& o, const std::string& path);

/// A training run: the data, model, optimizer, view source and trainer it owns. It does not move (the trainer
/// holds references to the rest).
struct Run {
  Data data;
  Model model;
  std::unique_ptr<optim::Optimizer<float>> optimizer;
  std::unique_ptr<ImageViewSource> source;
  std::unique_ptr<Trainer<float>> trainer;
};
std::unique_ptr<Run> make_run(const Options& o);

EvaluationOptions evaluation_options(const Options& o);
/// The evaluation's options must fit the data: --knn-k within the training set, else a BadArgument.
void check_evaluation_options(const Options& o, const Data& d);

}  // namespace simile::cli
