#pragma once
// The `simile` tool's options: one plain struct with every value, and the functions that declare them on
// a CLI11 subcommand with their defaults, help text and range checks. A value outside its range, junk
// (`--epochs 12x`) or an unknown option is a CLI11 error, reported by main with exit status 2.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "simile/core/communicator.hpp"
#include "simile/augment/text.hpp"
#include "simile/core/error.hpp"
#include "simile/data/idx.hpp"

namespace CLI {
class App;
}

namespace simile::cli {

struct Options {
  // Every command: data, model and evaluation.
  /// image (Fashion-MNIST), text (lines, pairs or WordNet) or table (CSV); a checkpoint's own for eval and embed.
  std::string modality = "image";
  std::string data_dir = fashion_mnist_dir, method = "simclr", encoder = "smallconv";
  std::string label_column = "none";  ///< table: the column of integer labels: N (0-based), last or none
  std::int64_t limit = 0, proj_hidden = 128, proj_out = 64, knn_k = 200;
  /// smallconv: h is conv3's map averaged over readout_grid x readout_grid cells (recorded in checkpoints);
  /// settled to smallconv_readout_grid for smallconv unless given, 1 (unused) for other encoders.
  std::int64_t readout_grid = 1;
  // Text and table encoders (recorded in checkpoints).
  std::int64_t vocab = 8000, max_length = 32, width = 128, layers = 2, heads = 4;
  int threads = 2;
  std::uint64_t seed = 0;
  double knn_t = 0.1;
  double test_fraction = 0;  ///< held-out share of WordNet's synsets or a labeled table (0: the modality's default)
  bool data_given = false;   ///< --data was given (else the modality's default folder, if it has one)
  bool quiet = false;        ///< --quiet: no progress and no notes on stderr (errors and warnings still)
  // An image folder (PNG/JPEG) as --data: decoded to 28x28 gray, what the image encoders read.
  std::string image_fit = "resize";  ///< resize (bilinear) or crop (scale, then the centre)
  std::string bad_images = "fail";   ///< fail (an error naming the image) or skip (left out, counted)
  std::string image_cache;           ///< folder of the decoded cache (empty: the image folder), or none

  // Derived from the data, or from a checkpoint, and recorded in checkpoints.
  std::string tokenizer;      ///< text: the BPE tokenizer learned from the training text, serialized
  std::int64_t features = 0;  ///< table: the number of feature columns the encoder reads

  // train
  std::string optimizer = "adam", schedule = "cosine", checkpoint, resume, export_embeddings, metrics,
              checkpoint_every_text = "0";  // --checkpoint-every as given: N or "epoch"
  std::int64_t epochs = 10, batch = 256, log_every = 50, queue_size = 4096, warmup_epochs = 0, max_steps = 0,
               checkpoint_every = 0;
  double budget = 0, lr = 1e-3, weight_decay = 1e-6, temperature = 0.5, ema = 0.99;
  double dropout = 0.1, corruption = 0.6;  ///< text encoder's dropout (SimCSE's noise); SCARF's corrupted share
  TokenViewOptions token_views;            ///< text: token-level views of each training text (default: none)
  std::string augment = "default";         ///< image: the views' augmentation (`image_pipeline`'s spec)
  /// --precision: f32, or bf16 (convolutions in bfloat16 while training; settled to f32 with a warning
  /// where the CPU lacks it). Evaluation and embedding run in float.
  std::string precision = "f32";
  /// --conv-algorithm: automatic, direct or winograd (`ops/conv_algorithm.hpp`), while training.
  std::string conv_algorithm = "automatic";
  bool no_eval = false, profile = false, checkpoint_each_epoch = false;
  /// --health-every: steps between measurements of the representation's alignment and uniformity written to
  /// --metrics (images; 0: none).
  std::int64_t health_every = 200;
  const std::atomic<bool>* stop_requested = nullptr;  ///< set by SIGINT / SIGTERM (see commands.cpp)
  /// The ranks training together: more than one under mpirun or srun, where --batch is the global batch.
  std::shared_ptr<Communicator> comm;

  // eval (checkpoint is shared with train and embed) and embed
  std::string baseline, out, split = "test";
  std::vector<std::string> feature_files;  ///< eval --features: two .npy files of representations, the training and test sets
  std::string labels_out;                  ///< embed --labels-out: the embedded samples' labels, int64 [N]

  // plot and report (--metrics, --checkpoint and --out are shared with train and embed; here they are read,
  // and --out is plot's folder or report's HTML file)
  std::string embeddings, labels, result;  ///< .npy [N, D] to map, .npy of its N labels, a JSON result line
  std::string format = "png";              ///< plot: png, svg or both
  std::string map = "both";                ///< pca, tsne, both or none
  std::int64_t tsne_points = 2000, tsne_iterations = 1000, figure_width = 800, figure_height = 500;
  std::int64_t grid_images = 6, grid_views = 7;  ///< report: the augmentation grid's rows and views
  double perplexity = 30;
  bool evaluate_now = false;  ///< report --evaluate: evaluate the checkpoint when no result is recorded
};

/// WordNet's folder in Debian's wordnet-base: the text modality's default --data.
inline constexpr const char* wordnet_dir = "/usr/share/wordnet";

/// Data, model and evaluation options (every command).
void add_common_options(CLI::App& app, Options& o);
/// Training options; with --budget-seconds and no --epochs, the epochs become an upper bound of 1000.
void add_train_options(CLI::App& app, Options& o);
/// `eval`: --checkpoint or --baseline (exactly one, checked by `check_eval_options`).
void add_eval_options(CLI::App& app, Options& o);
/// `embed`: --checkpoint, --split and --out (required unless `out_required` is false: the Python module's
/// `embed` returns the array instead).
void add_embed_options(CLI::App& app, Options& o, bool out_required = true);
/// `plot`: what to draw (--metrics, --embeddings [--labels] or --checkpoint), --out FOLDER, the format, the
/// maps and their options.
void add_plot_options(CLI::App& app, Options& o);
/// `report`: --checkpoint, --out FILE.html, and what else goes in (--metrics, --embeddings, --result).
void add_report_options(CLI::App& app, Options& o);

/// Checks across options that CLI11 cannot express; throws CLI::ValidationError (exit status 2). For train
/// and eval they also settle the modality (--modality, else that of --method or --encoder, else image), the
/// defaults that follow it (encoder, method, temperature, --data) and check that --method and --encoder fit it.
void check_train_options(const CLI::App& app, Options& o);
void check_eval_options(const CLI::App& app, Options& o);
void check_embed_options(const CLI::App& app, Options& o);
void check_plot_options(const CLI::App& app, Options& o);
void check_report_options(const CLI::App& app, Options& o);

/// --data for `o.modality`: the modality's default when not given (Fashion-MNIST's folder, WordNet's folder;
/// a table has none), and the kind of path it reads (image: a folder; text: a file or WordNet's folder;
/// table: a file). Else a BadArgument naming --data. eval and embed call it once a checkpoint has told the
/// modality.
void check_data(Options& o);

/// A bad command line found after parsing (an option that does not fit the data or a checkpoint):
/// exit status 2 like CLI11's own errors. The message starts with the option.
class BadArgument : public Error {
 public:
  using Error::Error;
};

/// Largest projection width and MoCo queue, for options and checkpoint metadata alike; and of the text and
/// table encoders: vocabulary, tokens a text, layers (and heads), a table's feature columns.
inline constexpr std::int64_t max_width = 8192, max_queue = 1 << 24, max_vocab = 1 << 20, max_tokens = 4096,
                              max_layers = 64, max_features = 1 << 24;
/// smallconv's readout grid when --readout-grid is not given: h from 3x3 overlapping cells of conv3's 7x7 map,
/// 1,152 wide (issue 13's study, docs/RECIPES.md: above the quadrants on every probe at the same training).
inline constexpr std::int64_t smallconv_readout_grid = 3;

/// --lr when not given for SimCLR with Adam (every other method and optimizer: Options::lr, 1e-3): issue 13's
/// study, docs/RECIPES.md.
inline constexpr double simclr_adam_lr = 2e-3;

/// Architecture options recorded in a checkpoint, so `eval` and `embed` rebuild the same model.
std::map<std::string, std::string> checkpoint_metadata(const Options& o);
/// `o` with the architecture recorded in the checkpoint `path`; a missing key or a bad value is an
/// IoError naming the file and the key.
Options checkpoint_options(const Options& o, const std::string& path,
                           const std::map<std::string, std::string>& metadata);
/// `--resume`: the checkpoint's architecture must be the command's; else a BadArgument naming the option.
/// Returns `o` with what the checkpoint derived from its data (the text tokenizer, the table's features).
Options resume_options(const Options& o, const std::string& path, const std::map<std::string, std::string>& metadata);

}  // namespace simile::cli
