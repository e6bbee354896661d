#pragma once
// The tool's three commands, each given its parsed options; each returns its exit status and its result
// (the JSON object the tool prints) and throws on failure (main, or the Python module, reports it). Notes
// and progress go to stderr unless `o.quiet`.

#include <cstdint>
#include <string>
#include <vector>

#include "json.hpp"
#include "options.hpp"
#include "simile/core/tensor.hpp"

namespace simile::cli {

/// What a command gave: its exit status and the JSON object the tool prints on stdout (null: nothing).
struct Outcome {
  int status = 0;
  Json result;
};

/// Trains, optionally exports the test set's representations, evaluates; the result is the run's JSON
/// object. On SIGINT or SIGTERM it stops after the current step, writes the checkpoint and returns 128 + the
/// signal (the handlers in place before are restored on return).
Outcome train(Options o);
/// Evaluates a checkpoint's encoder or a baseline.
Outcome eval(Options o);
/// A checkpoint's representations of --split's images, or of the lines or rows of --data: float [N, D]; with
/// `labels`, their labels too, and with `classes` the class names when known (see `embed_data`).
Tensor<float> embeddings(Options o, std::vector<std::int64_t>* labels = nullptr,
                         std::vector<std::string>* classes = nullptr);
/// Writes `embeddings(o)` to the .npy file --out (and their labels to --labels-out).
Outcome embed(Options o);

}  // namespace simile::cli
