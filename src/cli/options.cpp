// Declares the tool's options on CLI11 subcommands. Every number has a range: junk, out-of-range and
// overflowing values are errors naming the option, never a silent default.

#include "options.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>

#include <unistd.h>

#include "registry.hpp"
#include "simile/core/error.hpp"

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
CLI::Option* integer(CLI::App& app, const std::string& name, T& value, const std::string& help, std::int64_t lo,
                     std::int64_t hi) {
  return app.add_option(name, value, help)->capture_default_str()->check(decimal_integer)->check(CLI::Range(lo, hi));
}

CLI::Option* number(CLI::App& app, const std::string& name, double& value, const std::string& help,
                    const CLI::Validator& range) {
  return app.add_option(name, value, help)->capture_default_str()->check(finite_number)->check(range);
}

CLI::Option* choice(CLI::App& app, const std::string& name, std::string& value, const std::string& help,
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

// An output file: its folder exists, and the path is not a folder or another non-regular file. Checked
// when the command line is read, so that a typo does not surface after an hour of training.
const CLI::Validator output_file(
    [](std::string& s) -> std::string {
      namespace fs = std::filesystem;
      std::error_code ec;
      if (s.empty()) return "empty path";
      fs::path p(s);
      fs::path folder = p.has_parent_path() ? p.parent_path() : fs::path(".");
      if (!fs::is_directory(folder, ec)) return "folder '" + folder.string() + "' of '" + s + "' does not exist";
      fs::file_status st = fs::status(p, ec);
      if (fs::exists(st) && !fs::is_regular_file(st)) return "'" + s + "' exists and is not a regular file";
      return {};
    },
    "FILE");

}  // namespace

void add_common_options(CLI::App& app, Options& o) {
  app.add_option("--data", o.data_dir, "folder with the Fashion-MNIST IDX files (gzip or plain)")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  integer(app, "--limit", o.limit, "use only the first N training images (0: all)", 0, 1'000'000'000);
  integer(app, "--threads", o.threads, "threads for training and evaluation", 1, 1024);
  integer(app, "--seed", o.seed, "seed of initialization, shuffling and augmentation", 0,
          std::numeric_limits<std::int64_t>::max());
  choice(app, "--encoder", o.encoder, "encoder (a checkpoint's own for eval and embed):", encoder_choices());
  choice(app, "--method", o.method, "method (a checkpoint's own for eval and embed):", method_choices());
  integer(app, "--proj-hidden", o.proj_hidden, "projection head hidden width", 1, max_width);
  integer(app, "--proj-out", o.proj_out, "projection head output width (z)", 1, max_width);
  integer(app, "--knn-k", o.knn_k, "neighbours of the kNN evaluation", 1, 1'000'000);
  number(app, "--knn-t", o.knn_t, "temperature of the kNN vote", positive);
}

void add_train_options(CLI::App& app, Options& o) {
  number(app, "--budget-seconds", o.budget, "stop training after this many seconds (0: no budget)",
         CLI::Range(0.0, 1e8));
  integer(app, "--epochs", o.epochs, "epochs (with --budget-seconds an upper bound, default 1000)", 1, 1'000'000);
  integer(app, "--max-steps", o.max_steps, "stop after this many optimizer steps (0: no limit)", 0, big);
  integer(app, "--batch", o.batch, "images per batch (each gives two views)", 2, 1 << 20);
  choice(app, "--optimizer", o.optimizer, "optimizer:", optimizer_choices());
  number(app, "--lr", o.lr, "base learning rate", positive);
  number(app, "--weight-decay", o.weight_decay, "weight decay", non_negative);
  app.add_option("--schedule", o.schedule, "constant, or cosine (linear warmup, then cosine decay to 0)")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "cosine"}));
  integer(app, "--warmup-epochs", o.warmup_epochs, "warmup length for --schedule cosine", 0, 1'000'000);
  number(app, "--temperature", o.temperature, "temperature of NT-Xent / InfoNCE / SupCon", CLI::Range(1e-3, 1e3));
  integer(app, "--queue-size", o.queue_size, "MoCo: keys in the queue", 1, max_queue);
  number(app, "--ema", o.ema, "MoCo / BYOL: momentum of the target network (BYOL: its base value)",
         CLI::Range(0.0, 1.0));
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
  app.add_option("--export-embeddings", o.export_embeddings, "write the test set's representations h to this .npy")
      ->check(output_file);
  app.add_option("--metrics", o.metrics, "append JSON-lines metrics to this file")->check(output_file);
  integer(app, "--log-every", o.log_every, "steps between progress lines", 1, big);
  app.add_flag("--no-eval", o.no_eval, "skip the evaluation after training");
  app.add_flag("--profile", o.profile, "print a table of time per op and phase (from the second step on)");
}

void add_eval_options(CLI::App& app, Options& o) {
  app.add_option("--checkpoint", o.checkpoint, "checkpoint written by `simile train` to evaluate")
      ->check(CLI::ExistingFile);
  app.add_option("--baseline", o.baseline, "raw (pixels) or untrained (the encoder at initialization)")
      ->check(CLI::IsMember({"raw", "untrained"}));
}

void add_embed_options(CLI::App& app, Options& o) {
  app.add_option("--checkpoint", o.checkpoint, "checkpoint written by `simile train`")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--out", o.out, "output .npy file: float32 [N, D], dataset order")->required()->check(output_file);
  app.add_option("--split", o.split, "which images to embed")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
}

void check_train_options(const CLI::App& app, Options& o) {
  // With a budget, the budget decides how long to train unless epochs are asked for as well.
  if (o.budget > 0 && app.count("--epochs") == 0) o.epochs = 1000;
  if (std::string why = queue_too_large(o); !why.empty()) throw CLI::ValidationError("--queue-size", why);
  if (const int ranks = o.comm ? o.comm->size() : 1; o.batch % ranks != 0)
    throw CLI::ValidationError("--batch", std::to_string(o.batch) + " is the global batch and must split evenly over the " +
                                              std::to_string(ranks) + " ranks (each trains on --batch / ranks samples)");
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

void check_eval_options(const Options& o) {
  if (o.checkpoint.empty() == o.baseline.empty())
    throw CLI::ValidationError("--checkpoint, --baseline", "give exactly one of them");
}

std::map<std::string, std::string> checkpoint_metadata(const Options& o) {
  return {{"method", o.method},
          {"encoder", o.encoder},
          {"proj_hidden", std::to_string(o.proj_hidden)},
          {"proj_out", std::to_string(o.proj_out)},
          {"queue_size", std::to_string(o.queue_size)}};
}

Options checkpoint_options(const Options& o, const std::string& path, const std::map<std::string, std::string>& m) {
  auto get = [&](const char* key) {
    auto it = m.find(key);
    check<IoError>(it != m.end(), "'", path, "': checkpoint metadata lacks '", key,
                   "' (not written by `simile train`?)");
    return it->second;
  };
  auto choice = [&](const char* key, const Choices& c) {
    std::string v = get(key);
    check<IoError>(std::find(c.names.begin(), c.names.end(), v) != c.names.end(), "'", path, "': checkpoint metadata '",
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
  c.method = choice("method", method_choices());
  c.encoder = choice("encoder", encoder_choices());
  c.proj_hidden = integer("proj_hidden", max_width);
  c.proj_out = integer("proj_out", max_width);
  c.queue_size = integer("queue_size", max_queue);
  if (std::string why = queue_too_large(c); !why.empty())
    throw IoError(detail::str("'", path, "': checkpoint metadata 'queue_size': ", why));
  return c;
}

void check_resume_options(const Options& o, const std::string& path, const std::map<std::string, std::string>& m) {
  Options c = checkpoint_options(o, path, m);
  auto same = [&](const char* option, const auto& mine, const auto& theirs) {
    if (mine != theirs)
      throw BadArgument(detail::str(option, ": the run in '", path, "' was trained with ", option, " ", theirs,
                                    ", this command asks for ", mine, " (resume with the same options)"));
  };
  same("--method", o.method, c.method);
  same("--encoder", o.encoder, c.encoder);
  same("--proj-hidden", o.proj_hidden, c.proj_hidden);
  same("--proj-out", o.proj_out, c.proj_out);
  if (o.method == "moco") same("--queue-size", o.queue_size, c.queue_size);
}

}  // namespace simile::cli
