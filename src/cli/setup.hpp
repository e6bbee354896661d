#pragma once
// How the tool turns its options into the library's parts: data, views, a model (encoder + recipe), an
// optimizer, a loader and a trainer, for each modality (images, text, tables). Everything that calls those
// constructors is in setup.cpp, so a change of the library's API is a change of that one file.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "json.hpp"
#include "options.hpp"
#include "simile/simile.hpp"

namespace simile::cli {

/// Text: what --data held and the texts a run trains on.
struct TextData {
  std::string kind;  ///< "wordnet" (WordNet's folder), "pairs" (two tab-separated columns a line) or "sentences"
  std::vector<std::string> sentences;           ///< simcse's texts, and the text the tokenizer learns from
  std::vector<std::string> anchors, positives;  ///< the pairs (WordNet: see `wordnet_text`)
  std::vector<Synset> synsets;                  ///< WordNet
  SynsetSplit split;                            ///< WordNet: training and test synsets, cut by --limit
};

struct Data {
  ImageDataset train, test;  ///< images: Fashion-MNIST or an image folder (test empty when unlabeled)
  /// images: the class names, label = index (an image folder's class folders; Fashion-MNIST's ten from its
  /// default folder or one whose path names it); empty when unknown.
  std::vector<std::string> classes;
  TextData text;
  /// table: the training rows and the held-out rows (none without a label column).
  VectorDataset table_train, table_test;
};
/// The data of `o.modality` from --data, the training part cut to --limit samples:
/// - image: Fashion-MNIST's IDX files; train and test images of different sizes are an IoError. A --data folder
///   without them is a folder of PNG and JPEG images (`load_image_folder`, 28x28 gray): train/ and test/
///   subfolders, else --test-fraction of each class held out (seeded), else unlabeled (no test set);
///   --limit then draws its training images at random (seeded);
/// - text: WordNet's folder (split by synset, --test-fraction held out), a file of two tab-separated columns
///   a line (its first non-blank line has a tab: positive pairs), or one sentence a line. No text, a pairs
///   line without exactly two columns or invalid UTF-8 is an IoError naming the file and the line;
/// - table: a CSV of numbers (a first line holding a field that is not a number is a header), labels in
///   --label-column; with labels, --test-fraction of each class is held out to evaluate. A file with another
///   number of features than the checkpoint's encoder (`o.features`) is a BadArgument.
/// --limit beyond the training set is a BadArgument.
Data load_data(const Options& o);

/// The image views: two of --augment's pipeline (`image_pipeline`; by default a random resized crop, a
/// flip, brightness/contrast jitter and noise).
MultiView views_for(const Options& o);

struct Model {
  std::unique_ptr<Recipe<float>> recipe;
  Index dim = 0;  ///< size of h
  std::shared_ptr<const BpeTokenizer> tokenizer;  ///< text: turns text into the encoder's token ids
};
/// The encoder and recipe named by --encoder and --method (from the registries), initialized from --seed;
/// text reads its vocabulary from `o.tokenizer`, a table its width from `o.features`.
Model build_model(const Options& o);
/// A new model for `data`: completes `o` with what the data decides unless a checkpoint did (the text method
/// when --method was not given, the tokenizer learned from the training text, the table's features), builds
/// it and fits the table encoder's standardization to the training rows.
Model model_for(Options& o, const Data& data);
/// The model saved in the checkpoint `path` by `simile train`: `o` takes the architecture recorded in it,
/// then its weights are loaded. Every error names `path`.
Model load_checkpoint_model(Options& o, const std::string& path);

/// A training run: the data, model, optimizer, view source and trainer it owns. It does not move (the trainer
/// holds references to the rest).
struct Run {
  Data data;
  Model model;
  std::unique_ptr<optim::Optimizer<float>> optimizer;
  std::unique_ptr<ViewSource> source;
  std::unique_ptr<Trainer<float>> trainer;
};
/// Completes `o` as `model_for` does (the checkpoint's metadata then records it).
std::unique_ptr<Run> make_run(Options& o);

EvaluationOptions evaluation_options(const Options& o);
/// The evaluation's options must fit the data: --knn-k within the training set, else a BadArgument.
void check_evaluation_options(const Options& o, const Data& d);
/// Whether `d` can be evaluated: images, WordNet and a table with labels can; a file of sentences or pairs
/// and a table without labels cannot. `why` says why not.
bool can_evaluate(const Options& o, const Data& d, std::string* why = nullptr);

/// An evaluation's JSON fields and the width of the representation it measured.
struct Evaluation {
  Index dim = 0;
  Json fields = Json::object();
};
/// Evaluates the model's frozen encoder on `d` (which `can_evaluate`): images and tables the linear probe
/// (all labels, 10 % and 1 % of them), kNN and the representation's statistics; WordNet the linear probe of
/// the lexicographer file and retrieval of glosses by example sentences (recall@1, recall@10, MRR).
Evaluation evaluate(const Options& o, Model& m, const Data& d);
/// The raw baseline: the pixels, the table's features, or TF-IDF of the texts; `what` names it.
Evaluation evaluate_raw(const Options& o, const Data& d, std::string& what);
/// Evaluates the representations in --features' two .npy files (float32 or float64 [N, D], the training and
/// the test set in --data's order, after --limit) with the data's labels, as `evaluate` does a model's. Rows
/// that do not match the sets, a NaN or infinity, or text data is a BadArgument naming the file.
Evaluation evaluate_feature_files(const Options& o, const Data& d);

/// The run's data in the final JSON line (text and tables; nothing for images): the modality, the kind of
/// data, the training samples and the vocabulary or features.
void describe_data(const Options& o, const Run& run, Json& j);

/// `simile embed`'s representations: images the --split set; text one row per line of the --data file (blank
/// lines included); a table one row per CSV row. float [N, D]. With `labels`, also their labels (images with
/// labels, a table with a label column; empty for text and unlabeled data) and, with `classes`, the class
/// names when known (`Data::classes`).
Tensor<float> embed_data(const Options& o, Model& m, std::vector<std::int64_t>* labels = nullptr,
                         std::vector<std::string>* classes = nullptr);
/// `train --metrics` with --health-every: what measures the representation during training, for
/// `JsonLinesLog`'s "representation" lines: alignment (`view_alignment`, two views of --augment) and
/// uniformity of h on the first 512 test images (training images when there is no test set), in eval mode,
/// the views seeded by --seed, so that the measurements of a run are comparable. Empty (no measurement)
/// for text and tables, --health-every 0, or fewer than two images.
std::function<Json()> health_probe(const Options& o, Run& run);

/// `train --export-embeddings`: the images' and WordNet's test sets; for a text file or a table what
/// `embed_data` gives.
Tensor<float> export_embeddings(const Options& o, Model& m, const Data& d);

}  // namespace simile::cli
