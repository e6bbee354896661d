// `simile`: the command-line tool. Subcommands:
//   simile train  --method simclr|moco|byol|... [options]       train, evaluate, print one JSON line
//                 (--modality text|table: sentences, pairs, WordNet or a CSV; methods simcse, pairs, scarf)
//   simile eval   --checkpoint PATH | --baseline raw|untrained  evaluate an encoder or a baseline
//   simile embed  --checkpoint PATH --out FILE.npy               export representations h (of images, or of
//                                                               the lines or rows of --data)
// Exit status: 0 on success, 2 for a bad command line (CLI11's parse and validation errors, and options that
// do not fit the data or a checkpoint), 1 for any other failure; either way one line `simile <command>: <what>`
// on stderr. `train` interrupted by SIGINT / SIGTERM saves its checkpoint and exits with 128 + the signal.
// Under an MPI launcher (`mpirun -np N simile train ...`, Slurm's srun), the N processes train one model
// data-parallel with --batch as the global batch; rank 0 reports and evaluates, and an error on any rank
// ends all of them.
// It uses only the public headers.

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "commands.hpp"
#include "options.hpp"
#include "simile/core/error.hpp"
#include "simile/core/mpi.hpp"
#include "simile/version.hpp"

int main(int argc, char** argv) {
  using namespace simile::cli;
  CLI::App app("simile: contrastive representation learning on images (Fashion-MNIST), text and tables", "simile");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("simile ") + simile::simile_version);
  Options o;
  CLI::App* train_cmd =
      app.add_subcommand("train", "train a self-supervised encoder, evaluate it, print one JSON line");
  add_common_options(*train_cmd, o);
  add_train_options(*train_cmd, o);
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "evaluate a checkpoint's encoder, or a baseline (--baseline raw|untrained)");
  add_common_options(*eval_cmd, o);
  add_eval_options(*eval_cmd, o);
  CLI::App* embed_cmd = app.add_subcommand("embed", "write an encoder's representations to a .npy file");
  add_common_options(*embed_cmd, o);
  add_embed_options(*embed_cmd, o);

  // Messages name the command when argv names one, also when parsing it failed.
  std::string who = "simile";
  if (argc > 1) {
    const std::string first = argv[1];
    if (first == "train" || first == "eval" || first == "embed") {
      who += " " + first;
    } else if (!first.empty() && first[0] != '-') {
      std::cerr << "simile: unknown command '" << first
                << "' (the commands are train, eval and embed; see simile --help)\n";
      return 2;
    }
  }
  // Under mpirun or srun, the ranks train together; an error on one rank then ends them all (the others
  // would wait for it in their next collective).
  // A bad command line is the same on every rank: rank 0 alone says so.
  auto lead = [&o] { return !o.comm || o.comm->rank() == 0; };
  auto failed = [&o](int code) {
    if (o.comm && o.comm->size() > 1) o.comm->abort(code);
    return code;
  };
  try {
    try {
      o.comm = simile::launch_world();
      app.parse(argc, argv);
      if (train_cmd->parsed()) check_train_options(*train_cmd, o);
      if (eval_cmd->parsed()) check_eval_options(*eval_cmd, o);
      if (embed_cmd->parsed()) check_embed_options(*embed_cmd, o);
    } catch (const CLI::Success& e) {  // --help, --version
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      if (lead()) std::cerr << who << ": " << e.what() << " (see " << who << " --help)\n";
      return failed(2);
    }
    if (train_cmd->parsed()) return train(o);
    if (o.comm->rank() != 0) return 0;  // eval and embed run once, on rank 0
    if (eval_cmd->parsed()) return eval(o);
    return embed(o);
  } catch (const BadArgument& e) {
    if (lead()) std::cerr << who << ": " << e.what() << " (see " << who << " --help)\n";
    return failed(2);
  } catch (const simile::Error& e) {
    std::cerr << who << ": " << e.what() << "\n";
  } catch (const std::bad_alloc&) {
    std::cerr << who
              << ": out of memory (std::bad_alloc): the data, --batch or the model's widths need more memory "
                 "than this machine gives\n";
  } catch (const std::exception& e) {
    std::cerr << who << ": " << e.what() << "\n";
  } catch (...) {
    std::cerr << who << ": unknown exception\n";
  }
  return failed(1);
}
