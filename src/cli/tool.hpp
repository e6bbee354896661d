#pragma once
// The tool's command line as an object: one CLI11 app with the train, eval and embed subcommands (and plot
// and report, in a build with cairo: SIMILE_WITH_CAIRO) declared on one `Options`, parsed and run. `simile`
// (main.cpp) and the Python module (python/simile_module.cpp) both use it, so a keyword argument of
// `simile.train(...)` is the tool's option of the same name, checked and run by the same code.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "commands.hpp"
#include "options.hpp"

namespace simile::cli {

class Tool {
 public:
  /// `out_required`: embed's --out is required (the tool) or optional (the Python module, which returns the
  /// array).
  explicit Tool(bool out_required = true);
  Tool(const Tool&) = delete;
  Tool& operator=(const Tool&) = delete;

  /// Parses argv (argv[0] the program's name) and checks the options across each other. Throws
  /// CLI::Success for --help and --version, CLI::ParseError for a bad command line.
  void parse(int argc, const char* const* argv);
  /// The same with the arguments after the program's name, e.g. {"train", "--max-steps", "100"}.
  void parse(std::vector<std::string> args);

  /// The subcommand parsed: "train", "eval", "embed", "plot" or "report" (empty before parsing).
  std::string command() const;
  /// The subcommands of this build, in the order of `--help`.
  std::vector<std::string> commands() const;
  /// Runs the parsed command (train on every rank; eval and embed on rank 0, the others return status 0).
  Outcome run();

  CLI::App app;
  Options o;

 private:
  void check();
  CLI::App *train_ = nullptr, *eval_ = nullptr, *embed_ = nullptr;
  CLI::App *plot_ = nullptr, *report_ = nullptr;  ///< null in a build without cairo
};

}  // namespace simile::cli
