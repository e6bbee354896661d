// The tool's command line: the three subcommands, their options and their dispatch (see tool.hpp).

#include "tool.hpp"

#include <algorithm>

#include "simile/version.hpp"

namespace simile::cli {

Tool::Tool(bool out_required)
    : app("simile: contrastive representation learning on images (Fashion-MNIST), text and tables", "simile") {
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("simile ") + simile::simile_version);
  train_ = app.add_subcommand("train", "train a self-supervised encoder, evaluate it, print one JSON line");
  add_common_options(*train_, o);
  add_train_options(*train_, o);
  eval_ = app.add_subcommand("eval", "evaluate a checkpoint's encoder, or a baseline (--baseline raw|untrained)");
  add_common_options(*eval_, o);
  add_eval_options(*eval_, o);
  embed_ = app.add_subcommand("embed", "write an encoder's representations to a .npy file");
  add_common_options(*embed_, o);
  add_embed_options(*embed_, o, out_required);
}

void Tool::check() {
  if (train_->parsed()) check_train_options(*train_, o);
  if (eval_->parsed()) check_eval_options(*eval_, o);
  if (embed_->parsed()) check_embed_options(*embed_, o);
}

void Tool::parse(int argc, const char* const* argv) {
  app.parse(argc, argv);
  check();
}

void Tool::parse(std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  app.parse(args);
  check();
}

std::string Tool::command() const {
  return train_->parsed() ? "train" : eval_->parsed() ? "eval" : embed_->parsed() ? "embed" : "";
}

Outcome Tool::run() {
  if (train_->parsed()) return train(o);
  if (o.comm && o.comm->rank() != 0) return {};  // eval and embed run once, on rank 0
  if (eval_->parsed()) return eval(o);
  return embed(o);
}

}  // namespace simile::cli
