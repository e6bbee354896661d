// A run's metrics and representations made into charts and maps (see figures.hpp).

#include "figures.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "simile/core/parallel.hpp"
#include "simile/data/npy.hpp"
#include "simile/eval/embedding_map.hpp"

namespace simile::cli {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// A JSON value for a message, cut short.
std::string shown(const Json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

RunLog read_metrics(const std::string& path) {
  std::error_code ec;
  check<IoError>(std::filesystem::is_regular_file(path, ec), "'", path, "' is not a regular file (a metrics log?)");
  std::ifstream in(path, std::ios::binary);
  check<IoError>(in.good(), "'", path, "' cannot be read");
  RunLog log;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json j;
    try {
      j = Json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw IoError(detail::str("'", path, "' line ", line, " is not JSON (", e.what(),
                                "): not a metrics log of simile train --metrics?"));
    }
    check<IoError>(j.is_object() && j.contains("event") && j["event"].is_string(), "'", path, "' line ", line,
                   " is not a JSON object with an \"event\": ", shown(j));
    const std::string event = j["event"].get<std::string>();
    auto number = [&](const char* key) {
      auto it = j.find(key);
      check<IoError>(it != j.end(), "'", path, "' line ", line, ": a \"", event, "\" line without \"", key, "\"");
      if (it->is_null()) return nan;  // a non-finite value is logged as null
      check<IoError>(it->is_number(), "'", path, "' line ", line, ": \"", key, "\" is ", shown(*it),
                     ", expected a number");
      return it->get<double>();
    };
    if (event == "step") {
      log.steps.push_back({number("step"), number("epoch"), number("loss"), number("lr"), number("seconds"),
                           number("samples_per_second")});
    } else if (event == "epoch") {
      log.epochs.push_back({number("epoch"), number("step"), number("mean_loss")});
    } else if (event == "representation") {
      log.health.push_back({number("step"), number("alignment"), number("uniformity")});
    } else if (event == "evaluation") {
      log.evaluation = j;
    }
  }
  check<IoError>(!in.bad(), "'", path, "': reading failed");
  check<IoError>(!log.steps.empty(), "'", path,
                 "' holds no \"step\" lines: not a metrics log of simile train --metrics, or an empty one");
  return log;
}

std::vector<NamedChart> metric_charts(const RunLog& log) {
  std::vector<NamedChart> charts;
  auto column = [&](double RunLog::Step::*field) {
    std::vector<double> v;
    for (const auto& s : log.steps) v.push_back(s.*field);
    return v;
  };
  const std::vector<double> steps = column(&RunLog::Step::step);
  Chart loss{"Loss", "step", "loss", {{"logged steps", steps, column(&RunLog::Step::loss)}}};
  if (!log.epochs.empty()) {
    Series mean{"epoch mean", {}, {}};
    for (const auto& e : log.epochs) mean.x.push_back(e.step), mean.y.push_back(e.mean_loss);
    loss.series.push_back(std::move(mean));
  }
  charts.push_back({"loss", std::move(loss)});
  charts.push_back({"lr", {"Learning rate", "step", "learning rate", {{"lr", steps, column(&RunLog::Step::lr)}}}});
  charts.push_back({"throughput",
                    {"Throughput (mean since the run started)",
                     "step",
                     "samples / s",
                     {{"samples/s", steps, column(&RunLog::Step::samples_per_second)}}}});
  if (!log.health.empty()) {
    Series a{"alignment (lower: views closer)", {}, {}}, u{"uniformity (lower: more spread)", {}, {}};
    for (const auto& h : log.health)
      a.x.push_back(h.step), a.y.push_back(h.alignment), u.x.push_back(h.step), u.y.push_back(h.uniformity);
    charts.push_back(
        {"alignment_uniformity",
         {"Alignment and uniformity of h (512 test images)", "step", "value", {std::move(a), std::move(u)}}});
  }
  return charts;
}

std::vector<std::int64_t> read_labels(const std::string& path, Index rows) {
  const NpyHeader h = read_npy_header(path);
  const bool rank_ok = h.shape.rank() == 1 || (h.shape.rank() == 2 && h.shape[1] == 1);
  if (!rank_ok)
    throw BadArgument(detail::str("--labels: '", path, "' holds shape ", h.shape, ", expected [N] or [N, 1]"));
  std::vector<std::int64_t> labels;
  if (h.descr == "<i8") {
    Tensor<std::int64_t> t = read_npy<std::int64_t>(path);
    labels.assign(t.data(), t.data() + t.numel());
  } else if (h.descr == "<i4") {
    Tensor<std::int32_t> t = read_npy<std::int32_t>(path);
    labels.assign(t.data(), t.data() + t.numel());
  } else if (h.descr == "|u1" || h.descr == "<u1" || h.descr == "u1") {
    Tensor<std::uint8_t> t = read_npy<std::uint8_t>(path);
    labels.assign(t.data(), t.data() + t.numel());
  } else {
    throw BadArgument(detail::str("--labels: '", path, "' has dtype '", h.descr,
                                  "', expected integers: '<i8' (int64), '<i4' (int32) or '|u1' (uint8)"));
  }
  if (Index(labels.size()) != rows)
    throw BadArgument(
        detail::str("--labels: '", path, "' holds ", labels.size(), " labels for the ", rows, " rows of --embeddings"));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] > 65535)
      throw BadArgument(detail::str("--labels: '", path, "' label ", i, " is ", labels[i], ", expected 0 to 65535"));
  return labels;
}

Points read_points(const std::string& embeddings_path, const std::string& labels_path) {
  Points p;
  const NpyHeader h = read_npy_header(embeddings_path);
  if (h.descr != "<f4" && h.descr != "<f8")
    throw BadArgument(detail::str("--embeddings: '", embeddings_path, "' has dtype '", h.descr,
                                  "', expected float32 ('<f4') or float64 ('<f8')"));
  if (h.shape.rank() != 2 || h.shape[0] < 2 || h.shape[1] < 1)
    throw BadArgument(detail::str("--embeddings: '", embeddings_path, "' holds shape ", h.shape,
                                  ", expected [N, D] with N >= 2 rows"));
  p.h = h.descr == "<f8" ? read_npy<double>(embeddings_path).to<float>() : read_npy<float>(embeddings_path);
  if (!p.h.array().isFinite().all())
    throw BadArgument(detail::str("--embeddings: '", embeddings_path, "' holds a NaN or infinity"));
  if (!labels_path.empty()) p.labels = read_labels(labels_path, p.h.dim(0));
  p.source = std::filesystem::path(embeddings_path).filename().string();
  return p;
}

std::vector<NamedScatter> embedding_maps(const Points& p, const Options& o) {
  std::vector<NamedScatter> maps;
  const Index n = p.h.dim(0), d = p.h.dim(1);
  ThreadScope threads(o.threads);
  const bool want_pca = o.map == "pca" || o.map == "both", want_tsne = o.map == "tsne" || o.map == "both";
  if (want_pca) {
    auto t0 = std::chrono::steady_clock::now();
    Pca r = pca(p.h, std::min<Index>(2, d));
    Tensor<float> xy = Tensor<float>::zeros({n, 2});  // one-dimensional points: on the x axis
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < r.scores.dim(1); ++c) xy.data()[2 * i + c] = r.scores.data()[i * r.scores.dim(1) + c];
    auto share = [&](std::size_t c) {
      return c < r.variance.size() && r.total_variance > 0 ? fixed(100 * r.variance[c] / r.total_variance, 1) + " %"
                                                           : std::string("0 %");
    };
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    maps.push_back({"map_pca",
                    {"PCA of " + std::to_string(n) + " representations (" + p.source + ")",
                     "PC 1 (" + share(0) + " of the variance)", "PC 2 (" + share(1) + " of the variance)", xy, p.labels,
                     p.classes},
                    "PCA of all " + std::to_string(n) + " points (" + std::to_string(d) +
                        " dimensions): PC 1 and PC 2 " + "explain " + share(0) + " and " + share(1) +
                        " of the variance; " + fixed(seconds, 2) + " s."});
  }
  if (want_tsne) {
    const std::vector<Index> rows = sample_rows(n, o.tsne_points, o.seed);
    const Index m = Index(rows.size());
    if (m < 4 || o.perplexity >= double(m))
      throw BadArgument(detail::str("--perplexity: ", o.perplexity, " must be below the ", m,
                                    " points t-SNE maps (and t-SNE needs at least 4): lower it, or use --map pca"));
    std::vector<std::int64_t> labels;
    for (Index i : rows)
      if (!p.labels.empty()) labels.push_back(p.labels[std::size_t(i)]);
    auto t0 = std::chrono::steady_clock::now();
    Tsne t = tsne(gather_rows(p.h, rows),
                  {.perplexity = o.perplexity, .iterations = int(o.tsne_iterations), .seed = o.seed});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string which = m == n ? "all " + std::to_string(n) : std::to_string(m) + " of " + std::to_string(n);
    maps.push_back({"map_tsne",
                    {"t-SNE of " + which + " representations (" + p.source + ")", "t-SNE 1", "t-SNE 2", t.embedding,
                     labels, p.classes},
                    "Exact t-SNE of " + which + " points (drawn with seed " + std::to_string(o.seed) +
                        "), perplexity " + fixed(o.perplexity, 1) + ", " + std::to_string(o.tsne_iterations) +
                        " iterations: KL divergence " + fixed(t.kl_divergence, 3) + "; " + fixed(seconds, 1) +
                        " s on " + std::to_string(o.threads) + " threads."});
  }
  return maps;
}

}  // namespace simile::cli
