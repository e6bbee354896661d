#pragma once
// The tool's three commands, each given its parsed options; each returns the exit status and throws on
// failure (main reports it).

#include "options.hpp"

namespace simile::cli {

/// Trains, optionally exports the test set's representations, evaluates, prints one JSON line. On
/// SIGINT or SIGTERM it stops after the current step, writes the checkpoint and returns 128 + the signal.
int train(Options o);
/// Evaluates a checkpoint's encoder or a baseline, prints one JSON line.
int eval(Options o);
/// Writes a checkpoint's representations of a split to a .npy file.
int embed(Options o);

}  // namespace simile::cli
