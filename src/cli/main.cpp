// `simile`: the command-line tool. Subcommands:
//   simile train  --method simclr|moco|byol|... [options]       train, evaluate, print one JSON line
//                 (--modality text|table: sentences, pairs, WordNet or a CSV; methods simcse, pairs, scarf)
//   simile eval   --checkpoint PATH | --baseline raw|untrained  evaluate an encoder or a baseline
//   simile embed  --checkpoint PATH --out FILE.npy               export representations h (of images, or of
//                                                               the lines or rows of --data)
//   simile plot   --metrics RUN.jsonl | --embeddings E.npy | --checkpoint PATH --out DIR
//                                                               curves and embedding maps, PNG or SVG (cairo)
//   simile report --checkpoint PATH [--metrics RUN.jsonl] --out RUN.html
//                                                               one self-contained HTML page of a run (cairo)
// Exit status: 0 on success, 2 for a bad command line (CLI11's parse and validation errors, and options that
// do not fit the data or a checkpoint), 1 for any other failure; either way one line `simile <command>: <what>`
// on stderr. `train` interrupted by SIGINT / SIGTERM saves its checkpoint and exits with 128 + the signal.
// Under an MPI launcher (`mpirun -np N simile train ...`, Slurm's srun), the N processes train one model
// data-parallel with --batch as the global batch; rank 0 reports and evaluates, and an error on any rank
// ends all of them.
// It uses only the public headers.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "tool.hpp"
#include "simile/core/error.hpp"
#include "simile/core/mpi.hpp"

int main(int argc, char** argv) {
  using namespace simile::cli;
  Tool tool;
  Options& o = tool.o;

  // Messages name the command when argv names one, also when parsing it failed.
  std::string who = "simile";
  if (argc > 1) {
    const std::string first = argv[1];
    const std::vector<std::string> commands = tool.commands();
    if (std::find(commands.begin(), commands.end(), first) != commands.end()) {
      who += " " + first;
    } else if (!first.empty() && first[0] != '-') {
      std::string list;
      for (std::size_t i = 0; i < commands.size(); ++i)
        list += (i == 0 ? "" : i + 1 == commands.size() ? " and " : ", ") + commands[i];
      std::cerr << "simile: unknown command '" << first << "' (the commands are " << list << "; see simile --help)\n";
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
      tool.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
      return tool.app.exit(e);
    } catch (const CLI::ParseError& e) {
      if (lead()) std::cerr << who << ": " << e.what() << " (see " << who << " --help)\n";
      return failed(2);
    }
    Outcome r = tool.run();
    if (!r.result.is_null()) std::cout << r.result.dump() << std::endl;
    return r.status;
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
