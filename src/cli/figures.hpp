#pragma once
// What `simile plot` and `simile report` draw, before any drawing: a run's metrics log read back, the
// charts made of it, representations and labels read from .npy files, and their maps (PCA, t-SNE).
// Every bad input is an error naming the file and the value: an IoError for a file that is not what it
// should be (not JSON lines, no step lines), a BadArgument (status 2) for one that does not fit another
// (labels that do not match the rows), never a crash.

#include <cstdint>
#include <string>
#include <vector>

#include "draw.hpp"
#include "json.hpp"
#include "options.hpp"
#include "simile/core/tensor.hpp"

namespace simile::cli {

/// A metrics log of `simile train --metrics` (metrics_log.hpp), read back. Missing numbers (a diverged loss,
/// written as null) are NaN.
struct RunLog {
  /// A "step" line.
  struct Step {
    double step = 0, epoch = 0, loss = 0, lr = 0, seconds = 0, samples_per_second = 0;
  };
  /// An "epoch" line.
  struct Epoch {
    double epoch = 0, step = 0, mean_loss = 0;
  };
  /// A "representation" line (--health-every).
  struct Health {
    double step = 0, alignment = 0, uniformity = 0;
  };
  std::vector<Step> steps;
  std::vector<Epoch> epochs;
  std::vector<Health> health;
  Json evaluation;  ///< the last "evaluation" line, or null
};

/// Reads `path`. Every non-blank line must be a JSON object with a string "event"; "step", "epoch" and
/// "representation" lines must hold their numbers (or null); lines of other events are skipped. An IoError
/// names the file and the line for a line that is not JSON or lacks a field, and for a log without any "step"
/// line (an empty file, or not a metrics log).
RunLog read_metrics(const std::string& path);

/// A figure and the stem of its file name ("loss" -> loss.png).
struct NamedChart {
  std::string name;
  Chart chart;
};
/// The charts of a run: loss (the logged steps and the epochs' means), learning rate, throughput, and
/// alignment and uniformity when the log has "representation" lines.
std::vector<NamedChart> metric_charts(const RunLog& log);

/// Representations to map and what colours them.
struct Points {
  Tensor<float> h;                   ///< [N, D]
  std::vector<std::int64_t> labels;  ///< N labels, or empty
  std::vector<std::string> classes;  ///< class names, label = index; empty when unknown
  std::string source;                ///< what they are, for titles: "e.npy", "the test set of ..."
};

/// Representations from an .npy (float32 or float64 [N, D], N >= 2, finite; else a BadArgument naming
/// --embeddings and the file) and, when `labels_path` is not empty, their labels (`read_labels`).
Points read_points(const std::string& embeddings_path, const std::string& labels_path);

/// Class labels from an .npy: integers (int64, int32 or uint8) of shape [N] or [N, 1], each in [0, 65535],
/// `rows` of them; else a BadArgument naming --labels, the file and what is wrong.
std::vector<std::int64_t> read_labels(const std::string& path, Index rows);

/// A map of the points and the stem of its file name ("map_pca").
struct NamedScatter {
  std::string name;
  Scatter scatter;
  std::string caption;  ///< how it was made (points, variance explained, t-SNE's settings and fit)
};
/// The maps --map asks for: PCA of every point; exact t-SNE (`tsne`) of at most --tsne-points of them drawn
/// with --seed, at --perplexity and --tsne-iterations, on --threads. A perplexity not below the points mapped
/// is a BadArgument naming --perplexity.
std::vector<NamedScatter> embedding_maps(const Points& p, const Options& o);

}  // namespace simile::cli
