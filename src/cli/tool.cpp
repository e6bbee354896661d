// The tool's command line: the subcommands, their options and their dispatch (see tool.hpp).

#include "tool.hpp"

#include <algorithm>

#include "simile/version.hpp"
#if SIMILE_WITH_CAIRO
#include "report.hpp"
#endif

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
#if SIMILE_WITH_CAIRO
  plot_ = app.add_subcommand("plot", "draw a run's metrics and a map of embeddings (PCA, t-SNE) to PNG or SVG");
  add_common_options(*plot_, o);
  add_plot_options(*plot_, o);
  report_ = app.add_subcommand("report", "write a run's report: one self-contained HTML page");
  add_common_options(*report_, o);
  add_report_options(*report_, o);
#endif
}

void Tool::check() {
  if (train_->parsed()) check_train_options(*train_, o);
  if (eval_->parsed()) check_eval_options(*eval_, o);
  if (embed_->parsed()) check_embed_options(*embed_, o);
  if (plot_ && plot_->parsed()) check_plot_options(*plot_, o);
  if (report_ && report_->parsed()) check_report_options(*report_, o);
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
  for (const CLI::App* c : {train_, eval_, embed_, plot_, report_})
    if (c && c->parsed()) return c->get_name();
  return "";
}

std::vector<std::string> Tool::commands() const {
  std::vector<std::string> names;
  for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(c->get_name());
  return names;
}

Outcome Tool::run() {
  if (train_->parsed()) return train(o);
  if (o.comm && o.comm->rank() != 0) return {};  // eval and embed run once, on rank 0
  if (eval_->parsed()) return eval(o);
#if SIMILE_WITH_CAIRO
  if (plot_->parsed()) return plot(o);
  if (report_->parsed()) return report(o);
#endif
  return embed(o);
}

}  // namespace simile::cli
