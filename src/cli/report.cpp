// `simile plot` and `simile report` (see report.hpp): figures from figures.hpp drawn by draw.hpp.

#include "report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "draw.hpp"
#include "figures.hpp"
#include "setup.hpp"
#include "simile/core/atomic_file.hpp"
#include "simile/version.hpp"

namespace simile::cli {
namespace {

void note(const Options& o, const std::string& text) {
  if (!o.quiet) std::fprintf(stderr, "%s\n", text.c_str());
}

void write_file(const std::string& path, const std::string& bytes, const char* who) {
  AtomicFile f(path, who);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

std::vector<Format> formats_of(const Options& o) {
  if (o.format == "both") return {Format::png, Format::svg};
  return {o.format == "svg" ? Format::svg : Format::png};
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What a checkpoint's encoder makes of --split of --data (or of the file of lines or rows it reads), with the
// data's labels and class names: `o` takes the checkpoint's architecture.
Points checkpoint_points(const Options& o) {
  Points p;
  p.h = embeddings(o, &p.labels, &p.classes);
  check<ValueError>(p.h.dim(0) >= 2, "'", o.checkpoint, "' embedded ", p.h.dim(0), " samples: too few to map");
  const std::string data = std::filesystem::path(o.data_dir).filename().string();
  p.source = o.modality == "image" ? "the " + o.split + " set of " + data : data;
  return p;
}

// The representations --map asks for: --embeddings (with --labels) or those of the checkpoint.
std::vector<NamedScatter> maps_for(const Options& o) {
  if (o.map == "none") return {};
  Points p = o.embeddings.empty() ? checkpoint_points(o) : read_points(o.embeddings, o.labels);
  return embedding_maps(p, o);
}

// A number for a table: integers as they are, others with four decimals; null as a dash.
std::string cell(const Json& v) {
  if (v.is_null()) return "&#8212;";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    char buf[64];
    std::snprintf(buf, sizeof buf, std::abs(d) >= 1e5 || (d != 0 && std::abs(d) < 1e-3) ? "%.4g" : "%.4f", d);
    return buf;
  }
  if (v.is_string()) return html_escape(v.get<std::string>());
  return html_escape(v.dump());
}

// The evaluation: --result, else the metrics log's last, else evaluated now (--evaluate), else null; `from`
// says where it came from.
Json evaluation_for(Options o, const RunLog* log, std::string& from) {
  if (!o.result.empty()) {
    std::ifstream in(o.result, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    Json j;
    try {
      j = Json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      throw BadArgument(detail::str("--result: '", o.result, "' is not JSON: ", e.what()));
    }
    if (!j.is_object())
      throw BadArgument(detail::str("--result: '", o.result, "' holds ", j.type_name(),
                                    ", expected the JSON object simile train or simile eval prints"));
    from = "the result line " + o.result;
    return j;
  }
  if (log && !log->evaluation.is_null()) {
    from = "the evaluation logged in " + o.metrics;
    return log->evaluation;
  }
  if (!o.evaluate_now) return nullptr;
  auto t0 = std::chrono::steady_clock::now();
  Json j = eval(o).result;  // `simile eval --checkpoint` as it is
  from = "evaluated now on " + o.data_dir + " (" + std::to_string(int(std::round(since(t0)))) + " s)";
  return j;
}

// The augmentation grid of an image run: the checkpoint's spec (else the default, said so) on test images,
// one per class as far as the rows go.
std::string augmentation_section(Options o, const std::map<std::string, std::string>& meta) {
  if (o.modality != "image")
    return "<p>A " + html_escape(o.modality) + " run: its views are not images, so there is no grid.</p>\n";
  std::string spec, said;
  if (auto it = meta.find("augment"); it != meta.end()) {
    spec = it->second;
    said = "The run's augmentation, recorded in the checkpoint";
  } else {
    spec = expand_image_augmentation("default");
    said = "The default augmentation: this checkpoint does not record its own (written before simile recorded it)";
  }
  Data data = load_data(o);
  const ImageDataset& images = data.test.size() > 0 ? data.test : data.train;
  std::vector<Index> pick;
  std::vector<std::string> row_labels;
  const Index rows = std::min<Index>(o.grid_images, images.size());
  if (images.has_labels()) {  // the first image of each class, then the first others
    std::vector<bool> seen;
    for (Index i = 0; i < images.size() && Index(pick.size()) < rows; ++i) {
      const std::size_t c = std::size_t(images.labels()[std::size_t(i)]);
      if (c >= seen.size()) seen.resize(c + 1, false);
      if (!seen[c]) seen[c] = true, pick.push_back(i);
    }
  }
  for (Index i = 0; i < images.size() && Index(pick.size()) < rows; ++i)
    if (std::find(pick.begin(), pick.end(), i) == pick.end()) pick.push_back(i);
  if (images.has_labels())  // rows in class order
    std::stable_sort(pick.begin(), pick.end(), [&](Index a, Index b) {
      return images.labels()[std::size_t(a)] < images.labels()[std::size_t(b)];
    });
  MultiView views = MultiView::same(image_pipeline(spec, images.height(), images.width()), int(o.grid_views));
  ViewWorkspace ws;
  std::vector<Tensor<float>> v = views.make_batch(images, pick, o.seed, 0, ws);
  ImageGrid grid;
  grid.columns = 1 + o.grid_views;
  grid.column_labels.push_back("original");
  for (Index c = 1; c <= o.grid_views; ++c) grid.column_labels.push_back("view " + std::to_string(c));
  const Index ch = images.channels(), h = images.height(), w = images.width(), n = ch * h * w;
  for (std::size_t r = 0; r < pick.size(); ++r) {
    const Index i = pick[r];
    std::string label = "image " + std::to_string(i);
    if (images.has_labels()) {
      const std::size_t c = std::size_t(images.labels()[std::size_t(i)]);
      label = c < data.classes.size() ? data.classes[c] : "class " + std::to_string(c);
    }
    grid.row_labels.push_back(label);
    Tensor<std::uint8_t> original = Tensor<std::uint8_t>::empty({ch, h, w});
    std::copy(images.get(i).pixels, images.get(i).pixels + n, original.data());
    grid.cells.push_back(original);
    for (Index c = 0; c < o.grid_views; ++c) {
      Tensor<std::uint8_t> view = Tensor<std::uint8_t>::empty({ch, h, w});
      const float* src = v[std::size_t(c)].data() + Index(r) * n;
      for (Index k = 0; k < n; ++k)
        view.data()[k] = static_cast<std::uint8_t>(std::lround(std::clamp(src[k], 0.0f, 1.0f) * 255.0f));
      grid.cells.push_back(view);
    }
  }
  grid.scale = 3;
  const std::string png = draw_image_grid(grid, Format::png);
  return "<p>" + html_escape(said) + ": <code id=\"augmentation-spec\">" + html_escape(spec) + "</code>, applied to " +
         std::to_string(pick.size()) + " test images (rows) with seed " + std::to_string(o.seed) +
         ".</p>\n<figure id=\"augmentation-grid\"><img alt=\"augmentation grid\" src=\"data:image/png;base64," +
         base64(png) + "\"></figure>\n";
}

constexpr const char* style =
    R"(body{font-family:"DejaVu Sans",sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .7em;text-align:left}
td.number{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 1em}
figure{margin:1em 0}figure svg,figure img{max-width:100%;height:auto;display:block}
figcaption,.note{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}nav a{margin-right:1em}
)";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (left > 1) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    if (left > 2) v |= std::uint32_t(std::uint8_t(bytes[i + 2]));
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += left > 1 ? digits[(v >> 6) & 63] : '=';
    out += left > 2 ? digits[v & 63] : '=';
  }
  return out;
}

std::string inline_svg(const std::string& svg, const std::string& prefix) {
  std::string s = svg;
  if (s.compare(0, 5, "<?xml") == 0) s.erase(0, s.find("?>") + 2);
  s.erase(0, s.find_first_not_of(" \r\n"));
  for (const char* pattern : {"id=\"", "href=\"#", "url(#"}) {
    const std::string from = pattern, to = from + prefix;
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  }
  return s;
}

Outcome plot(Options o) {
  auto t0 = std::chrono::steady_clock::now();
  DrawingCachesReleaser release;
  std::filesystem::create_directories(o.out);
  Json files = Json::array();
  auto save = [&](const std::string& name, auto&& draw) {
    for (Format f : formats_of(o)) {
      const std::string path = (std::filesystem::path(o.out) / (name + "." + extension(f))).string();
      write_file(path, draw(f), "simile plot");
      files.push_back(path);
    }
  };
  const int w = int(o.figure_width), h = int(o.figure_height);
  if (!o.metrics.empty()) {
    for (const NamedChart& c : metric_charts(read_metrics(o.metrics)))
      save(c.name, [&](Format f) { return draw_chart(c.chart, f, w, h); });
  }
  Json maps = Json::array();
  if (!o.embeddings.empty() || !o.checkpoint.empty()) {
    for (const NamedScatter& m : maps_for(o)) {
      save(m.name, [&](Format f) { return draw_scatter(m.scatter, f, w, std::max(h, w * 3 / 4)); });
      maps.push_back({{"map", m.name}, {"points", m.scatter.points.dim(0)}, {"about", m.caption}});
    }
  }
  note(o, "wrote " + std::to_string(files.size()) + " figures to " + o.out);
  return {0, Json{{"figures", files}, {"maps", maps}, {"seconds", number(since(t0))}}};
}

Outcome report(Options o) {
  auto t0 = std::chrono::steady_clock::now();
  DrawingCachesReleaser release;
  // The checkpoint first: it says what the run is (its modality and architecture), and holds its configuration.
  const TensorDict checkpoint = load_safetensors(o.checkpoint);
  const std::map<std::string, std::string>& meta = checkpoint.metadata;
  o = checkpoint_options(o, o.checkpoint, meta);
  check_data(o);
  const std::string name = std::filesystem::path(o.checkpoint).filename().string();
  Json sections = Json::array();
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>simile report: " +
                     html_escape(name) + "</title>\n<style>" + style + "</style>\n</head>\n<body>\n";
  html += "<header><h1 id=\"title\">simile report: " + html_escape(name) + "</h1>\n<p class=\"note\">" +
          html_escape(meta.count("method") ? meta.at("method") : std::string("?")) + " with a " +
          html_escape(o.encoder) + " encoder on " + html_escape(o.modality) + " data; checkpoint <code>" +
          html_escape(o.checkpoint) + "</code>; written by simile " + simile_version + ".</p></header>\n";
  html +=
      "<nav><a href=\"#configuration\">Configuration</a><a href=\"#curves\">Curves</a><a href=\"#embedding-map\">"
      "Embedding map</a><a href=\"#augmentation\">Augmentation</a><a href=\"#evaluation\">Evaluation</a></nav>\n";
  auto section = [&](const char* id, const char* title, const std::string& body) {
    html += std::string("<section id=\"") + id + "\">\n<h2>" + title + "</h2>\n" + body + "</section>\n";
    sections.push_back(id);
  };

  // Configuration: every key the checkpoint's metadata holds (a text run's tokenizer shortened).
  std::string table = "<table id=\"configuration-table\">\n<tr><th>setting</th><th>value</th></tr>\n";
  for (const auto& [key, value] : meta) {
    std::string shown = value;
    if (key == "tokenizer") shown = "(a BPE tokenizer of " + std::to_string(value.size()) + " bytes)";
    else if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
    table += "<tr><td>" + html_escape(key) + "</td><td>" + html_escape(shown) + "</td></tr>\n";
  }
  section("configuration", "Configuration",
          table +
              "</table>\n<p class=\"note\">As recorded in the checkpoint by "
              "<code>simile train</code>; the data: <code>" +
              html_escape(o.data_dir) + "</code>.</p>\n");

  // Curves.
  std::optional<RunLog> log;
  std::string curves;
  if (o.metrics.empty()) {
    curves =
        "<p class=\"note\">No metrics log given (<code>--metrics</code>): train with <code>simile train "
        "--metrics RUN.jsonl</code> to have curves.</p>\n";
  } else {
    log = read_metrics(o.metrics);
    curves = "<div class=\"charts\">\n";
    int k = 0;
    for (const NamedChart& c : metric_charts(*log)) {
      const std::string svg = draw_chart(c.chart, Format::svg, int(o.figure_width), int(o.figure_height));
      curves += "<figure class=\"chart\" id=\"chart-" + c.name + "\">" +
                inline_svg(svg, "c" + std::to_string(k++) + "-") + "</figure>\n";
    }
    curves += "</div>\n";
    if (log->health.empty())
      curves +=
          "<p class=\"note\">No alignment and uniformity in this log (image runs log them with "
          "<code>--health-every</code>).</p>\n";
    curves += "<p class=\"note\">From <code>" + html_escape(o.metrics) +
              "</code>: " + std::to_string(log->steps.size()) + " logged steps, the last at step " +
              std::to_string(std::int64_t(log->steps.back().step)) + ".</p>\n";
  }
  section("curves", "Training curves", curves);

  // The embedding map.
  std::string map_html;
  if (o.map == "none") map_html = "<p class=\"note\">No map asked for (<code>--map none</code>).</p>\n";
  for (const NamedScatter& m : maps_for(o)) {
    const std::string png = draw_scatter(m.scatter, Format::png, int(o.figure_width),
                                         std::max(int(o.figure_height), int(o.figure_width) * 3 / 4));
    map_html += "<figure class=\"map\" id=\"" + m.name + "\"><img alt=\"" + html_escape(m.scatter.title) +
                "\" src=\"data:image/png;base64," + base64(png) + "\"><figcaption>" + html_escape(m.caption) +
                "</figcaption></figure>\n";
  }
  section("embedding-map", "Embedding map", map_html);

  section("augmentation", "Augmentation", augmentation_section(o, meta));

  // Evaluation.
  std::string from;
  Json e = evaluation_for(o, log ? &*log : nullptr, from);
  std::string eval_html;
  if (e.is_null()) {
    eval_html =
        "<p class=\"note\">No evaluation recorded: give <code>--result</code> (the line <code>simile train"
        "</code> or <code>simile eval --checkpoint " +
        html_escape(o.checkpoint) +
        "</code> printed), a <code>--metrics</code> log of a run that evaluated, or <code>--evaluate</code>."
        "</p>\n";
  } else {
    eval_html = "<table id=\"evaluation-table\">\n<tr><th>measure</th><th>value</th></tr>\n";
    for (const auto& [key, value] : e.items()) {
      if (key == "event" || value.is_object() || value.is_array()) continue;
      eval_html += "<tr><td>" + html_escape(key) + "</td><td" + (value.is_number() ? " class=\"number\"" : "") + ">" +
                   cell(value) + "</td></tr>\n";
    }
    eval_html += "</table>\n<p class=\"note\">From " + html_escape(from) + ".</p>\n";
  }
  section("evaluation", "Evaluation", eval_html);

  char took[32];
  std::snprintf(took, sizeof took, "%.1f", since(t0));
  html += std::string("<footer class=\"note\"><p>Written in ") + took +
          " s by <code>simile report</code>; this page needs no other file.</p></footer>\n</body>\n</html>\n";
  write_file(o.out, html, "simile report");
  note(o, "wrote " + o.out + " (" + std::to_string(html.size()) + " bytes)");
  return {0, Json{{"report", o.out}, {"bytes", html.size()}, {"sections", sections}, {"seconds", number(since(t0))}}};
}

}  // namespace simile::cli
