// Declares the tool's options on CLI11 subcommands. Every number has a range: junk, out-of-range and
// overflowing values are errors naming the option, never a silent default.

#include "options.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>

#include <unistd.h>

#include "registry.hpp"
#include "simile/augment/spec.hpp"
#include "simile/core/error.hpp"
#include "simile/ops/precision.hpp"

namespace simile::cli {
namespace {

// CLI11 reads integers with strtoll base 0 (`--epochs 010` would be 8, `0x10` 16) and lets NaN through
// its ranges (NaN < min and NaN > max are both false). These two validators close the gaps; CLI::Range
// then checks the bounds.
const CLI::Validator decimal_integer(
    [](std::string& s) -> std::string {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc::result_out_of_range) return "value " + s + " is too large";
      if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return "'" + s + "' is not a decimal integer";
      // CLI11 would then read 010 as octal 8: a leading zero is refused rather than guessed.
      if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0')))
        return "'" + s + "' has a leading zero (write it without)";
      return {};
    },
    "");

const CLI::Validator finite_number(
    [](std::string& s) -> std::string {
      double v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
        return "'" + s + "' is not a finite number";
      return {};
    },
    "");

// CLI::PositiveNumber and CLI::NonNegativeNumber print DBL_MAX in full; these say it plainly (finite_number,
// checked first, has made sure stod succeeds).
const CLI::Validator positive([](std::string& s) { return std::stod(s) > 0 ? std::string() : "must be > 0, got " + s; },
                              "");
const CLI::Validator non_negative(
    [](std::string& s) { return std::stod(s) >= 0 ? std::string() : "must be >= 0, got " + s; }, "");

template <class T>
CLI::Option* integer_option(CLI::App& app, const std::string& name, T& value, const std::string& help, std::int64_t lo,
                            std::int64_t hi) {
  return app.add_option(name, value, help)->capture_default_str()->check(decimal_integer)->check(CLI::Range(lo, hi));
}

CLI::Option* number_option(CLI::App& app, const std::string& name, double& value, const std::string& help,
                           const CLI::Validator& range) {
  return app.add_option(name, value, help)->capture_default_str()->check(finite_number)->check(range);
}

CLI::Option* choice_option(CLI::App& app, const std::string& name, std::string& value, const std::string& help,
                           const Choices& c) {
  return app.add_option(name, value, help + c.help)->capture_default_str()->check(CLI::IsMember(c.names));
}

// MoCo's queue is allocated up front: its size must fit the machine, not only the option's range.
std::string queue_too_large(const Options& o) {
  const double queue_bytes = double(o.queue_size) * double(o.proj_out) * sizeof(float);
  const double memory = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
  if (o.method != "moco" || memory <= 0 || queue_bytes <= memory / 2) return {};
  return detail::str(o.queue_size, " keys of ", o.proj_out, " floats (--proj-out) take ", queue_bytes / 1e9,
                     " GB, more than half of this machine's ", memory / 1e9, " GB");
}

constexpr std::int64_t big = 1'000'000'000'000;  // steps, epochs: far beyond any run, far from overflow

const std::vector<std::string> modalities{"image", "text", "table"};

// What is wrong with an output path `s` whose file or folder is to be written: empty, or its folder missing.
std::string no_place_for(const std::string& s) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (s.empty()) return "empty path";
  fs::path p(s);
  fs::path folder = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) return "folder '" + folder.string() + "' of '" + s + "' does not exist";
  return {};
}

// An output file: its folder exists, and the path is not a folder or another non-regular file. Checked
// when the command line is read, so that a typo does not surface after an hour of training.
const CLI::Validator output_file(
    [](std::string& s) -> std::string {
      if (std::string why = no_place_for(s); !why.empty()) return why;
      std::error_code ec;
      std::filesystem::file_status st = std::filesystem::status(s, ec);
      if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
        return "'" + s + "' exists and is not a regular file";
      return {};
    },
    "FILE");

}  // namespace

void add_common_options(CLI::App& app, Options& o) {
  app.add_option("--modality", o.modality,
                 "what --data holds: image, text or table (default: the modality of --method or --encoder, else "
                 "image; a checkpoint's own for eval and embed)")
      ->capture_default_str()
      ->check(CLI::IsMember(modalities));
  app.add_option("--data", o.data_dir,
                 std::string("image: folder with the Fashion-MNIST IDX files (gzip or plain), or a folder of PNG "
                             "and JPEG images (one subfolder per class, labels by sorted name; images alone: "
                             "unlabeled; train/ and test/ subfolders: that split, else --test-fraction of each "
                             "class held out), decoded to 28x28 gray; text: a UTF-8 file of one "
                             "sentence a line, or of two tab-separated columns a line (positive pairs), or WordNet's "
                             "folder (default ") + wordnet_dir + "); table: a CSV of numbers (a first line with a field "
                             "that is not a number is a header)")
      ->capture_default_str();
  integer_option(app, "--limit", o.limit,
                 "use only the first N training samples: images, sentences, pairs, WordNet synsets or rows (an image "
                 "folder: N drawn at random, seeded; 0: all)",
                 0, 1'000'000'000);
  app.add_option("--image-fit", o.image_fit,
                 "image folder: resize each image to 28x28 (bilinear), or crop (scale to cover 28x28, keep the "
                 "centre)")
      ->capture_default_str()
      ->check(CLI::IsMember({"resize", "crop"}));
  app.add_option("--bad-images", o.bad_images,
                 "image folder: an image that cannot be decoded fails the command (naming it), or is skipped "
                 "(and counted)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "skip"}));
  app.add_option("--image-cache", o.image_cache,
                 "image folder: folder for the decoded cache (.simile-cache-<hash>.u8; default: the image "
                 "folder itself), or none")
      ->check(CLI::Validator(
          [](std::string& s) { return s == "none" ? std::string() : CLI::ExistingDirectory(s); }, "DIR|none"));
  integer_option(app, "--threads", o.threads, "threads for training and evaluation", 1, 1024);
  app.add_flag("-q,--quiet", o.quiet, "print no progress and no notes on stderr (errors and warnings still)");
  integer_option(app, "--seed", o.seed, "seed of initialization, shuffling, augmentation and the held-out split", 0,
                 std::numeric_limits<std::int64_t>::max());
  choice_option(app, "--encoder", o.encoder,
                "encoder (default smallconv; text transformer; table tabular; a checkpoint's own for eval and embed):",
                encoder_choices());
  choice_option(app, "--method", o.method,
                "method (default simclr; text: pairs on WordNet or a pairs file, simcse on sentences; table: scarf; a "
                "checkpoint's own for eval and embed):",
                method_choices());
  integer_option(app, "--readout-grid", o.readout_grid,
                 "smallconv: where h is read, conv3's 7x7 map averaged over G x G cells (1: global average, h of "
                 "128; 2: quadrants, h of 512; 3, the default: overlapping cells of 3x3 positions, h of 1152)",
                 1, 7);
  integer_option(app, "--proj-hidden", o.proj_hidden, "projection head hidden width", 1, max_width);
  integer_option(app, "--proj-out", o.proj_out, "projection head output width (z)", 1, max_width);
  integer_option(app, "--knn-k", o.knn_k, "neighbours of the kNN evaluation", 1, 1'000'000);
  number_option(app, "--knn-t", o.knn_t, "temperature of the kNN vote", positive);
  integer_option(app, "--vocab", o.vocab, "text: most subword tokens the BPE tokenizer learns from the training text",
                 16, max_vocab);
  integer_option(app, "--max-length", o.max_length, "text: tokens kept of each text", 1, max_tokens);
  integer_option(app, "--width", o.width, "text and table encoders: width of h (and of the transformer and the MLP)", 1,
                 max_width);
  integer_option(app, "--layers", o.layers, "text: transformer layers; table: hidden layers of the MLP", 1, max_layers);
  integer_option(app, "--heads", o.heads, "text: attention heads of the transformer (dividing --width)", 1, max_layers);
  app.add_option("--label-column", o.label_column, "table: the column of integer labels, N (0-based), last or none")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            if (s == "none" || s == "last") return {};
            std::string v = s;
            if (std::string why = decimal_integer(v); !why.empty()) return why + " (or last, none)";
            return CLI::Range(0, 1'000'000)(v);
          },
          "N|last|none"));
  app.add_option("--test-fraction", o.test_fraction,
                 "share held out to evaluate: of WordNet's synsets (default 0.1) or of a labeled table's rows "
                 "(default 0.2), seeded")
      ->check(finite_number)
      ->check(CLI::Validator(
          [](std::string& s) { return std::stod(s) > 0 && std::stod(s) < 1 ? std::string() : "must be in (0, 1), got " + s; },
          ""));
}

void add_train_options(CLI::App& app, Options& o) {
  number_option(app, "--budget-seconds", o.budget, "stop training after this many seconds (0: no budget)",
                CLI::Range(0.0, 1e8));
  integer_option(app, "--epochs", o.epochs, "epochs (with --budget-seconds an upper bound, default 1000)", 1,
                 1'000'000);
  integer_option(app, "--max-steps", o.max_steps, "stop after this many optimizer steps (0: no limit)", 0, big);
  integer_option(app, "--batch", o.batch, "images per batch (each gives two views)", 2, 1 << 20);
  choice_option(app, "--optimizer", o.optimizer, "optimizer:", optimizer_choices());
  app.add_option("--precision", o.precision,
                 "f32, or bf16: convolutions in bfloat16 with float accumulation while training, on CPUs with "
                 "AVX512_BF16 (elsewhere a warning and f32); weights, optimizer, losses, evaluation and checkpoints "
                 "stay float")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16"}));
  app.add_option("--conv-algorithm", o.conv_algorithm,
                 "automatic (Winograd F(4x4,3x3) for the 3x3 layers where oneDNN expects it to be faster, in "
                 "float on AVX-512), direct, or winograd (wherever oneDNN has it)")
      ->capture_default_str()
      ->check(CLI::IsMember({"automatic", "direct", "winograd"}));
  number_option(app, "--lr", o.lr, "base learning rate (SimCLR with Adam: 2e-3 unless given)", positive);
  number_option(app, "--weight-decay", o.weight_decay, "weight decay", non_negative);
  app.add_option("--schedule", o.schedule, "constant, or cosine (linear warmup, then cosine decay to 0)")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "cosine"}));
  integer_option(app, "--warmup-epochs", o.warmup_epochs, "warmup length for --schedule cosine", 0, 1'000'000);
  number_option(app, "--temperature", o.temperature,
                "temperature of NT-Xent / InfoNCE / SupCon (default 0.5; simcse and pairs 0.05, scarf 0.1)",
                CLI::Range(1e-3, 1e3));
  integer_option(app, "--queue-size", o.queue_size, "MoCo: keys in the queue", 1, max_queue);
  number_option(app, "--ema", o.ema, "MoCo / BYOL: momentum of the target network (BYOL: its base value)",
                CLI::Range(0.0, 1.0));
  number_option(app, "--dropout", o.dropout, "text: dropout of the encoder (SimCSE's only noise)",
                CLI::Range(0.0, 0.9));
  number_option(app, "--corruption", o.corruption, "table: share of a row's features SCARF redraws",
                CLI::Range(0.0, 1.0));
  number_option(app, "--token-drop", o.token_views.drop,
                "text: token-level views drop each token with this probability", CLI::Range(0.0, 1.0));
  number_option(app, "--token-crop", o.token_views.crop,
                "text: token-level views keep a random window of at least this share of the tokens (1: no crop)",
                CLI::Range(1e-3, 1.0));
  integer_option(app, "--token-swaps", o.token_views.swaps, "text: token-level views swap this many random pairs", 0,
                 1 << 20);
  app.add_option("--augment", o.augment,
                 "image: the views' augmentation, steps applied in order, name[:numbers][@probability] joined by "
                 "commas: crop:lo[:hi], resize, flip, vflip, rotate:deg, jitter:b[:c[:s[:h]]], gray, solarize[:t], "
                 "blur:lo:hi, noise:s, erase[:lo:hi]; 'default' is " +
                     std::string(kDefaultImageAugmentation) + ", 'reference' " +
                     std::string(kReferenceImageAugmentation) + " (the PyTorch reference recipe)")
      ->capture_default_str();
  app.add_option("--checkpoint", o.checkpoint, "write checkpoints here (periodically, at the end, on SIGINT/SIGTERM)")
      ->check(output_file);
  app.add_option("--checkpoint-every", o.checkpoint_every_text,
                 "steps between checkpoints, or 'epoch' for one at each epoch's end (0: only at the end)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [&o](std::string& s) -> std::string {
            if (s == "epoch") return o.checkpoint_every = 0, o.checkpoint_each_epoch = true, std::string();
            if (std::string why = decimal_integer(s); !why.empty()) return why + " or 'epoch'";
            o.checkpoint_every = std::stoll(s);
            if (o.checkpoint_every < 0 || o.checkpoint_every > big)
              return "must be in [0, " + std::to_string(big) + "] or 'epoch'";
            return std::string();
          },
          "N|epoch"));
  app.add_option("--resume", o.resume,
                 "continue the run saved in this checkpoint (when it is the --checkpoint path and does not exist "
                 "yet: start from the beginning, so one command line both starts and restarts a run)");
  app.add_option("--export-embeddings", o.export_embeddings,
                 "write the test set's representations h to this .npy (WordNet: the test glosses; a text file or a "
                 "table: every line or row, as embed does)")
      ->check(output_file);
  app.add_option("--metrics", o.metrics, "append JSON-lines metrics to this file")->check(output_file);
  integer_option(app, "--log-every", o.log_every, "steps between progress lines", 1, big);
  integer_option(app, "--health-every", o.health_every,
                 "image data with --metrics: steps between measurements of the representation's alignment (two "
                 "views of --augment) and uniformity on 512 test images, logged as 'representation' lines (and at "
                 "the last step; 0: none)",
                 0, big);
  app.add_flag("--no-eval", o.no_eval, "skip the evaluation after training");
  app.add_flag("--profile", o.profile, "print a table of time per op and phase (from the second step on)");
}

void add_eval_options(CLI::App& app, Options& o) {
  app.add_option("--checkpoint", o.checkpoint, "checkpoint written by `simile train` to evaluate")
      ->check(CLI::ExistingFile);
  app.add_option("--baseline", o.baseline, "raw (pixels) or untrained (the encoder at initialization)")
      ->check(CLI::IsMember({"raw", "untrained"}));
  app.add_option("--features", o.feature_files,
                 "TRAIN.npy TEST.npy: representations computed elsewhere (float32 or float64, one row per sample "
                 "of the training and test sets, in --data's order), evaluated as a checkpoint's would be")
      ->expected(2)
      ->check(CLI::ExistingFile);
}

void add_embed_options(CLI::App& app, Options& o, bool out_required) {
  app.add_option("--checkpoint", o.checkpoint, "checkpoint written by `simile train`")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--out", o.out,
                 "output .npy file: float32 [N, D], dataset order (text: a row per line of --data, blank lines "
                 "included; table: a row per CSV row)")
      ->required(out_required)
      ->check(output_file);
  app.add_option("--split", o.split, "which images to embed")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  app.add_option("--labels-out", o.labels_out,
                 "also write the embedded samples' class labels to this .npy, int64 [N] (images with labels, a "
                 "table with --label-column), e.g. for simile plot --labels")
      ->check(output_file);
}

namespace {

// A folder to write figures into: created when missing (its parent must exist); an existing file is refused.
const CLI::Validator output_folder(
    [](std::string& s) -> std::string {
      std::error_code ec;
      if (!s.empty() && std::filesystem::exists(s, ec))
        return std::filesystem::is_directory(s, ec) ? std::string() : "'" + s + "' exists and is not a folder";
      return no_place_for(s);
    },
    "DIR");

// What a plot and a report share: the embeddings to map and how, and the figures' size.
void add_map_options(CLI::App& app, Options& o) {
  app.add_option("--embeddings", o.embeddings,
                 "an .npy of representations to map, float32 or float64 [N, D] (simile embed --out, train "
                 "--export-embeddings)")
      ->check(CLI::ExistingFile);
  app.add_option("--labels", o.labels,
                 "with --embeddings: an .npy of their N class labels, integers >= 0 (int64, int32 or uint8; "
                 "simile embed --labels-out), which colour the map (without: one colour)")
      ->check(CLI::ExistingFile);
  app.add_option("--split", o.split, "with --checkpoint and no --embeddings: which images of --data to embed and map")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  app.add_option("--map", o.map,
                 "the embedding maps: pca (every point), tsne (exact t-SNE of a seeded sample of --tsne-points), "
                 "both or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"pca", "tsne", "both", "none"}));
  integer_option(app, "--tsne-points", o.tsne_points,
                 "t-SNE: at most this many points, drawn at random (--seed); its memory and time grow as the square", 4,
                 1 << 20);
  number_option(app, "--perplexity", o.perplexity,
                "t-SNE: the effective number of neighbours (below the points mapped)", CLI::Range(1.0, 1e6));
  integer_option(app, "--tsne-iterations", o.tsne_iterations, "t-SNE: gradient steps (the first 250 with exaggeration)",
                 1, 100'000);
  integer_option(app, "--figure-width", o.figure_width, "figures' width in pixels (SVG: in points)", 200, 8000);
  integer_option(app, "--figure-height", o.figure_height, "figures' height in pixels (SVG: in points)", 150, 8000);
}

// t-SNE's affinities take N^2 doubles: more than half the machine's memory is refused before any work.
void check_tsne_memory(const Options& o) {
  if (o.map != "tsne" && o.map != "both") return;
  const double bytes = double(o.tsne_points) * double(o.tsne_points) * sizeof(double);
  const double memory = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
  if (memory > 0 && bytes > memory / 2)
    throw CLI::ValidationError("--tsne-points", detail::str(o.tsne_points, " points take ", bytes / 1e9,
                                                            " GB of affinities, more than half of this machine's ",
                                                            memory / 1e9, " GB (exact t-SNE is O(N^2))"));
}

}  // namespace

void add_plot_options(CLI::App& app, Options& o) {
  app.add_option("--metrics", o.metrics, "a run's JSON-lines metrics (simile train --metrics): draws its curves")
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint", o.checkpoint,
                 "with no --embeddings: a checkpoint whose encoder embeds --split of --data, mapped coloured by the "
                 "data's labels")
      ->check(CLI::ExistingFile);
  add_map_options(app, o);
  app.add_option("--out", o.out, "the folder to write the figures into (created when missing)")
      ->required()
      ->check(output_folder);
  app.add_option("--format", o.format, "png, svg or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"png", "svg", "both"}));
}

void add_report_options(CLI::App& app, Options& o) {
  app.add_option("--checkpoint", o.checkpoint,
                 "the run's checkpoint: its configuration, its augmentation (the grid) and, with no --embeddings, "
                 "the map of --split of --data embedded by its encoder")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--metrics", o.metrics,
                 "the run's JSON-lines metrics (simile train --metrics): the curves, and the evaluation it logged")
      ->check(CLI::ExistingFile);
  app.add_option("--result", o.result,
                 "a JSON object with the evaluation (the line simile train or simile eval printed); else the last "
                 "evaluation in --metrics")
      ->check(CLI::ExistingFile);
  app.add_flag("--evaluate", o.evaluate_now,
               "evaluate the checkpoint on --data when neither --result nor --metrics holds an evaluation");
  add_map_options(app, o);
  integer_option(app, "--grid-images", o.grid_images, "augmentation grid: test images (rows)", 1, 64);
  integer_option(app, "--grid-views", o.grid_views,
                 "augmentation grid: views of each image (columns after the original)", 1, 32);
  app.add_option("--out", o.out, "the HTML file to write (one self-contained page)")->required()->check(output_file);
}

namespace {

// The modality: --modality, else that of --method or --encoder when given, else image. Then the defaults
// that follow it, and the fit of --method and --encoder with it.
void settle_modality(const CLI::App& app, Options& o) {
  const Choices methods = method_choices(), encoders = encoder_choices();
  auto given = [&app](const char* name) {  // eval has no --temperature
    const CLI::Option* option = app.get_option_no_throw(name);
    return option && option->count() > 0;
  };
  const bool method = given("--method"), encoder = given("--encoder");
  std::string why = "--modality is " + o.modality;
  if (!given("--modality")) {
    if (method && !methods.modality(o.method).empty()) {
      o.modality = methods.modality(o.method);
      why = "--method " + o.method + " is for " + o.modality;
    } else if (encoder && !encoders.modality(o.encoder).empty()) {
      o.modality = encoders.modality(o.encoder);
      why = "--encoder " + o.encoder + " is for " + o.modality;
    } else {
      why += " (the default)";
    }
  }
  auto fits = [&](const char* option, const std::string& name, const Choices& c, const char* kinds) {
    const std::string m = c.modality(name);
    if (!m.empty() && m != o.modality)
      throw CLI::ValidationError(option, "'" + name + "' is for " + m + ", but " + why + " (" + kinds + " for " +
                                             o.modality + ": " + c.names_for(o.modality) + ")");
  };
  if (method) fits("--method", o.method, methods, "methods");
  else o.method = o.modality == "image" ? "simclr" : o.modality == "table" ? "scarf" : "";  // text: by the data
  if (encoder) fits("--encoder", o.encoder, encoders, "encoders");
  else o.encoder = o.modality == "image" ? "smallconv" : o.modality == "table" ? "tabular" : "transformer";
  if (!given("--temperature") && o.modality != "image") o.temperature = o.modality == "text" ? 0.05 : 0.1;
  // SimCLR with Adam learns faster at twice the shared default rate (docs/RECIPES.md: probe and kNN up on both
  // seeds at 1,100 and 2,000 steps); the other methods' defaults were measured at 1e-3 and keep it.
  if (!given("--lr") && o.method == "simclr" && o.optimizer == "adam") o.lr = simclr_adam_lr;
  // The readout grid is smallconv's; its default 2 is the study's (docs/RECIPES.md): +3.4 points of linear probe.
  if (!given("--readout-grid")) o.readout_grid = o.encoder == "smallconv" ? smallconv_readout_grid : 1;
  else if (o.encoder != "smallconv")
    throw CLI::ValidationError("--readout-grid", "the readout grid is smallconv's, not " + o.encoder + "'s");
  if (o.test_fraction == 0) o.test_fraction = o.modality == "table" ? 0.2 : 0.1;
  if (o.encoder == "transformer" && o.width % o.heads != 0)
    throw CLI::ValidationError("--heads", std::to_string(o.heads) + " heads must divide --width " + std::to_string(o.width));
}

}  // namespace

void check_data(Options& o) {
  namespace fs = std::filesystem;
  if (!o.data_given) {
    if (o.modality == "text") o.data_dir = wordnet_dir;
    if (o.modality == "table") throw BadArgument("--data: a table needs --data FILE.csv");
    return;  // a default folder that is missing is reported by the reader, like any missing file
  }
  std::string path = o.data_dir, why;
  if (o.modality == "image") {
    why = CLI::ExistingDirectory(path);
  } else if (o.modality == "table") {
    why = CLI::ExistingFile(path);
  } else {
    why = CLI::ExistingPath(path);
    std::error_code ec;
    if (why.empty() && fs::is_directory(o.data_dir, ec) && !fs::exists(fs::path(o.data_dir) / "data.noun", ec))
      why = "'" + o.data_dir + "' is a folder without WordNet's data.noun (text reads a file, or WordNet's folder)";
  }
  if (!why.empty()) throw BadArgument("--data: " + why);
}

void check_train_options(const CLI::App& app, Options& o) {
  settle_modality(app, o);
  o.data_given = app.count("--data") > 0;
  check_data(o);
  // With a budget, the budget decides how long to train unless epochs are asked for as well.
  if (o.budget > 0 && app.count("--epochs") == 0) o.epochs = 1000;
  if (o.precision == "bf16" && !bf16_available()) {
    std::fprintf(stderr, "simile train: warning: --precision bf16: %s; training in f32\n",
                 bf16_unavailable_reason().c_str());
    o.precision = "f32";
  }
  if (std::string why = queue_too_large(o); !why.empty()) throw CLI::ValidationError("--queue-size", why);
  if (const int ranks = o.comm ? o.comm->size() : 1; o.batch % ranks != 0)
    throw CLI::ValidationError("--batch",
                               std::to_string(o.batch) + " is the global batch and must split evenly over the " +
                                   std::to_string(ranks) + " ranks (each trains on --batch / ranks samples)");
  if (o.modality != "text")
    for (const char* name : {"--token-drop", "--token-crop", "--token-swaps"})
      if (app.count(name) > 0)
        throw CLI::ValidationError(name, "token-level views are for --modality text, not " + o.modality);
  if (app.count("--augment") > 0) {
    if (o.modality != "image")
      throw CLI::ValidationError("--augment", "image augmentation is for --modality image, not " + o.modality);
    try {
      image_pipeline(o.augment, 28, 28);
    } catch (const ValueError& e) {
      throw CLI::ValidationError("--augment", e.what());
    }
    // Evaluation and `embed` feed the encoder [0, 1] pixels: a normalization of the training views alone
    // would train it on inputs it never sees again.
    for (const AugmentationStep& step : image_augmentation_steps(o.augment))
      if (step.name == "normalize")
        throw CLI::ValidationError("--augment", "'" + step.text +
                                                    "': the tool trains, evaluates and embeds on [0, 1] pixels; a "
                                                    "normalization of the training views only is refused");
  }
  if (o.warmup_epochs >= o.epochs)
    throw CLI::ValidationError("--warmup-epochs", std::to_string(o.warmup_epochs) + " must be below --epochs (" +
                                                      std::to_string(o.epochs) + ")");
  if (!o.resume.empty()) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(o.resume, ec);
    if (!exists && o.resume != o.checkpoint)
      throw CLI::ValidationError("--resume", "'" + o.resume + "' does not exist");
    if (exists && !std::filesystem::is_regular_file(o.resume, ec))
      throw CLI::ValidationError("--resume", "'" + o.resume + "' is not a regular file");
  }
}

void check_eval_options(const CLI::App& app, Options& o) {
  if (!o.checkpoint.empty() + !o.baseline.empty() + !o.feature_files.empty() != 1)
    throw CLI::ValidationError("--checkpoint, --baseline, --features", "give exactly one of them");
  o.data_given = app.count("--data") > 0;
  if (o.checkpoint.empty()) {  // a baseline: the command line says what it is; a checkpoint says it itself
    settle_modality(app, o);
    if (o.method.empty()) o.method = "simcse";  // an untrained text encoder: any text method
    check_data(o);
  }
}

void check_embed_options(const CLI::App& app, Options& o) { o.data_given = app.count("--data") > 0; }

void check_plot_options(const CLI::App& app, Options& o) {
  o.data_given = app.count("--data") > 0;
  if (o.metrics.empty() && o.embeddings.empty() && o.checkpoint.empty())
    throw CLI::ValidationError("--metrics, --embeddings, --checkpoint", "give at least one: nothing to draw");
  if (!o.embeddings.empty() && !o.checkpoint.empty())
    throw CLI::ValidationError("--embeddings, --checkpoint",
                               "give one of them: the map is of --embeddings, or of what the checkpoint embeds");
  if (!o.labels.empty() && o.embeddings.empty())
    throw CLI::ValidationError("--labels", "labels the rows of --embeddings, which is not given");
  if (o.map == "none" && o.metrics.empty())
    throw CLI::ValidationError("--map", "none, and no --metrics: nothing to draw");
  check_tsne_memory(o);
}

void check_report_options(const CLI::App& app, Options& o) {
  o.data_given = app.count("--data") > 0;
  if (!o.labels.empty() && o.embeddings.empty())
    throw CLI::ValidationError("--labels", "labels the rows of --embeddings, which is not given");
  check_tsne_memory(o);
}

std::map<std::string, std::string> checkpoint_metadata(const Options& o) {
  std::map<std::string, std::string> m{{"method", o.method},
                                       {"encoder", o.encoder},
                                       {"proj_hidden", std::to_string(o.proj_hidden)},
                                       {"proj_out", std::to_string(o.proj_out)},
                                       {"queue_size", std::to_string(o.queue_size)}};
  if (o.readout_grid != 1) m["readout_grid"] = std::to_string(o.readout_grid);  // absent: 1, as before
  // How the run trained, for the record (`simile report` shows it; nothing reads it back).
  auto decimal = [](double v) {
    char text[32];
    return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);
  };
  m["optimizer"] = o.optimizer;
  m["lr"] = decimal(o.lr);
  m["weight_decay"] = decimal(o.weight_decay);
  m["schedule"] = o.schedule;
  m["batch"] = std::to_string(o.batch);
  m["temperature"] = decimal(o.temperature);
  // Images: the views' augmentation, so that a report shows what the encoder was trained on.
  if (o.modality == "image") m["augment"] = expand_image_augmentation(o.augment);
  if (o.modality == "image") return m;  // no modality key: images' checkpoints read as before
  m["modality"] = o.modality;
  // The held-out split's seed is the trainer's "seed"; with this, eval holds out what training did.
  char fraction[32];
  m["test_fraction"] = std::string(fraction, std::to_chars(fraction, fraction + sizeof fraction, o.test_fraction).ptr);
  m["width"] = std::to_string(o.width);
  m["layers"] = std::to_string(o.layers);
  if (o.modality == "text") {
    m["tokenizer"] = o.tokenizer;
    m["vocab"] = std::to_string(o.vocab);
    m["max_length"] = std::to_string(o.max_length);
    m["heads"] = std::to_string(o.heads);
  } else {
    m["features"] = std::to_string(o.features);
  }
  return m;
}

Options checkpoint_options(const Options& o, const std::string& path, const std::map<std::string, std::string>& m) {
  auto get = [&](const char* key) {
    auto it = m.find(key);
    check<IoError>(it != m.end(), "'", path, "': checkpoint metadata lacks '", key,
                   "' (not written by `simile train`?)");
    return it->second;
  };
  auto member = [&](const char* key, const std::vector<std::string>& names) {
    std::string v = get(key);
    check<IoError>(std::find(names.begin(), names.end(), v) != names.end(), "'", path, "': checkpoint metadata '",
                   key, "' is '", v, "', which this build of simile does not know");
    return v;
  };
  // The same ranges as the options that set them.
  auto integer = [&](const char* key, std::int64_t hi) {
    std::string v = get(key);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    check<IoError>(ec == std::errc() && end == v.data() + v.size() && n >= 1 && n <= hi, "'", path,
                   "': checkpoint metadata '", key, "' is '", v, "', expected an integer in [1, ", hi, "]");
    return n;
  };
  Options c = o;
  c.modality = m.count("modality") ? member("modality", modalities) : "image";
  const Choices methods = method_choices(), encoders = encoder_choices();
  c.method = member("method", methods.names);
  c.encoder = member("encoder", encoders.names);
  auto fits = [&](const char* key, const std::string& name, const Choices& choices) {
    const std::string theirs = choices.modality(name);
    check<IoError>(theirs.empty() || theirs == c.modality, "'", path, "': checkpoint metadata '", key, "' is '", name,
                   "', which is for ", theirs, ", but the checkpoint's modality is ", c.modality);
  };
  fits("method", c.method, methods);
  fits("encoder", c.encoder, encoders);
  c.proj_hidden = integer("proj_hidden", max_width);
  c.proj_out = integer("proj_out", max_width);
  c.queue_size = integer("queue_size", max_queue);
  c.readout_grid = m.count("readout_grid") ? integer("readout_grid", 7) : 1;
  check<IoError>(c.readout_grid == 1 || c.encoder == "smallconv", "'", path, "': checkpoint metadata 'readout_grid' ",
                 c.readout_grid, " is for smallconv, but the encoder is ", c.encoder);
  if (std::string why = queue_too_large(c); !why.empty())
    throw IoError(detail::str("'", path, "': checkpoint metadata 'queue_size': ", why));
  if (c.modality != "image") {
    c.width = integer("width", max_width);
    c.layers = integer("layers", max_layers);
    // Text and tables hold out what training held out: its seed and share.
    std::string seed = get("seed"), fraction = get("test_fraction");
    auto [s_end, s_ec] = std::from_chars(seed.data(), seed.data() + seed.size(), c.seed);
    check<IoError>(s_ec == std::errc() && s_end == seed.data() + seed.size(), "'", path,
                   "': checkpoint metadata 'seed' is '", seed, "', expected an integer >= 0");
    auto [f_end, f_ec] = std::from_chars(fraction.data(), fraction.data() + fraction.size(), c.test_fraction);
    check<IoError>(f_ec == std::errc() && f_end == fraction.data() + fraction.size() && c.test_fraction > 0 &&
                       c.test_fraction < 1,
                   "'", path, "': checkpoint metadata 'test_fraction' is '", fraction, "', expected a number in (0, 1)");
  }
  if (c.modality == "text") {
    c.vocab = integer("vocab", max_vocab);
    c.max_length = integer("max_length", max_tokens);
    c.heads = integer("heads", max_layers);
    check<IoError>(c.encoder != "transformer" || c.width % c.heads == 0, "'", path, "': checkpoint metadata 'heads' ",
                   c.heads, " does not divide 'width' ", c.width);
    c.tokenizer = get("tokenizer");
    if (std::string why = tokenizer_problem(c.tokenizer); !why.empty())
      throw IoError(detail::str("'", path, "': checkpoint metadata 'tokenizer' is corrupted: ", why));
  }
  if (c.modality == "table") c.features = integer("features", max_features);
  return c;
}

Options resume_options(const Options& o, const std::string& path, const std::map<std::string, std::string>& m) {
  Options c = checkpoint_options(o, path, m);
  auto same = [&](const char* option, const auto& mine, const auto& theirs) {
    if (mine != theirs)
      throw BadArgument(detail::str(option, ": the run in '", path, "' was trained with ", option, " ", theirs,
                                    ", this command asks for ", mine, " (resume with the same options)"));
  };
  same("--modality", o.modality, c.modality);
  // A text run that left --method to the data continues with the checkpoint's method.
  if (!(o.modality == "text" && o.method.empty())) same("--method", o.method, c.method);
  same("--encoder", o.encoder, c.encoder);
  same("--proj-hidden", o.proj_hidden, c.proj_hidden);
  same("--proj-out", o.proj_out, c.proj_out);
  same("--readout-grid", o.readout_grid, c.readout_grid);
  if (o.method == "moco") same("--queue-size", o.queue_size, c.queue_size);
  if (o.modality != "image") {
    same("--test-fraction", o.test_fraction, c.test_fraction);
    same("--width", o.width, c.width);
    same("--layers", o.layers, c.layers);
  }
  if (o.modality == "text") {
    same("--vocab", o.vocab, c.vocab);
    same("--max-length", o.max_length, c.max_length);
    if (o.encoder == "transformer") same("--heads", o.heads, c.heads);
  }
  Options r = o;  // with what the checkpoint's data decided: the tokenizer, the table's features
  r.method = c.method;
  r.tokenizer = c.tokenizer;
  r.features = c.features;
  return r;
}

}  // namespace simile::cli
