// The tool's figures (built with cairo): charts, maps and grids drawn to PNG and read back with simile's own
// PNG reader (size, not blank, the colours drawn), SVG as text, the metrics log and .npy inputs read back and
// their bad forms refused with messages naming the file, and the HTML helpers of the report.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/files.hpp"
#include "draw.hpp"
#include "figures.hpp"
#include "report.hpp"
#include "simile/data/image_file.hpp"
#include "simile/data/npy.hpp"
#include "support/testing.hpp"

namespace simile::cli {
namespace {
using simile::testing::TempDir;

// After the last test: what cairo and fontconfig cache is freed, as plot and report do, for LeakSanitizer.
struct ReleaseDrawingCaches : ::testing::Environment {
  void TearDown() override { release_drawing_caches(); }
};
const auto* const release_at_end = ::testing::AddGlobalTestEnvironment(new ReleaseDrawingCaches);
using simile::testing::throws_with;

// The PNG `bytes`, written out and decoded by simile's reader as RGB [3, H, W].
Tensor<std::uint8_t> decode(const std::string& bytes) {
  const std::vector<std::uint8_t> b(bytes.begin(), bytes.end());
  return decode_image(b, 3, "figure.png");
}

// Variance of the pixel values over all channels: 0 for a blank image.
double variance(const Tensor<std::uint8_t>& img) {
  double s = 0, s2 = 0;
  for (Index i = 0; i < img.numel(); ++i) s += img.data()[i], s2 += double(img.data()[i]) * img.data()[i];
  const double m = s / double(img.numel());
  return s2 / double(img.numel()) - m * m;
}

// The distinct colours of an RGB image [3, H, W].
std::set<std::uint32_t> colours(const Tensor<std::uint8_t>& img) {
  std::set<std::uint32_t> c;
  const Index plane = img.dim(1) * img.dim(2);
  for (Index i = 0; i < plane; ++i)
    c.insert(std::uint32_t(img.data()[i]) << 16 | std::uint32_t(img.data()[plane + i]) << 8 |
             img.data()[2 * plane + i]);
  return c;
}

Chart two_series() {
  Chart c{"Loss", "step", "loss", {{"loss", {}, {}}, {"epoch mean", {10, 20}, {2.0, 1.5}}}};
  for (int i = 1; i <= 20; ++i) c.series[0].x.push_back(i), c.series[0].y.push_back(3.0 / i);
  c.series[0].y[4] = std::numeric_limits<double>::quiet_NaN();  // a diverged step logged as null: a gap
  return c;
}

TEST(Draw, ChartPngHasTheSizeAskedAndIsDrawn) {
  const std::string png = draw_chart(two_series(), Format::png, 640, 400);
  Tensor<std::uint8_t> img = decode(png);
  ASSERT_EQ(img.shape(), Shape({3, 400, 640}));
  EXPECT_GT(variance(img), 100);
  // The two series' colours (Tableau's blue 4e79a7 and orange f28e2b) are on it, not only text and axes.
  const std::set<std::uint32_t> c = colours(img);
  EXPECT_TRUE(c.count(0x4e79a7)) << c.size() << " colours";
  EXPECT_TRUE(c.count(0xf28e2b));
  // Most of it stays background.
  Index white = 0;
  for (Index i = 0; i < 400 * 640; ++i) white += img.data()[i] == 255 && img.data()[400 * 640 + i] == 255;
  EXPECT_GT(white, 400 * 640 / 2);
}

TEST(Draw, ChartSvgIsOneDocument) {
  const std::string svg = draw_chart(two_series(), Format::svg, 640, 400);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("width=\"640pt\" height=\"400pt\""), std::string::npos);
  EXPECT_NE(svg.find("<path"), std::string::npos);
  EXPECT_NE(svg.find("<use xlink:href=\"#glyph"), std::string::npos);  // the text, as glyph outlines
  EXPECT_EQ(svg.find("</svg>"), svg.rfind("</svg>"));
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(Draw, ChartErrors) {
  Chart empty{"Nothing", "x", "y", {{"s", {1, 2}, {std::nan(""), std::nan("")}}}};
  EXPECT_TRUE(
      throws_with<ValueError>([&] { draw_chart(empty, Format::png, 640, 400); }, {"'Nothing'", "no finite point"}));
  Chart uneven{"Uneven", "x", "y", {{"s", {1, 2}, {1}}}};
  EXPECT_TRUE(
      throws_with<ValueError>([&] { draw_chart(uneven, Format::png, 640, 400); }, {"2 x values and 1 y values"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { draw_chart(two_series(), Format::png, 100, 400); }, {"100 x 400"}));
}

TEST(Draw, ScatterColoursEachClass) {
  Tensor<float> p = Tensor<float>::empty({300, 2});
  std::vector<std::int64_t> labels;
  Rng rng(3);
  for (Index i = 0; i < 300; ++i) {
    labels.push_back(i % 3);
    p.data()[2 * i] = float(4 * (i % 3) + rng.normal());
    p.data()[2 * i + 1] = float(rng.normal());
  }
  const std::string png = draw_scatter({"Map", "x", "y", p, labels, {"cat", "dog"}}, Format::png, 600, 450);
  Tensor<std::uint8_t> img = decode(png);
  ASSERT_EQ(img.shape(), Shape({3, 450, 600}));
  EXPECT_GT(variance(img), 100);
  const std::set<std::uint32_t> c = colours(img);
  for (std::uint32_t want : {0x4e79a7u, 0xf28e2bu, 0xe15759u})
    EXPECT_TRUE(c.count(want)) << std::hex << want;  // legend dots
  EXPECT_TRUE(throws_with<ValueError>(
      [&] {
        draw_scatter({"Map", "x", "y", p, {0, 1}, {}}, Format::png, 600, 450);
      },
      {"300 points and 2 labels"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        draw_scatter({"Map", "x", "y", Tensor<float>::zeros({4, 3}), {}, {}}, Format::png, 600, 450);
      },
      {"[N, 2]", "[4, 3]"}));
}

TEST(Draw, ImageGridKeepsPixelsSharp) {
  ImageGrid g;
  g.columns = 2;
  g.scale = 3;
  for (int k = 0; k < 4; ++k) {
    Tensor<std::uint8_t> img = Tensor<std::uint8_t>::zeros({1, 4, 5});
    img.data()[0] = std::uint8_t(200 + k);  // the top-left pixel of each image
    g.cells.push_back(img);
  }
  Tensor<std::uint8_t> img = decode(draw_image_grid(g, Format::png));
  // No labels: a gap of 6 around and between 15 x 12 cells.
  ASSERT_EQ(img.shape(), Shape({3, 6 + 2 * (12 + 6), 6 + 2 * (15 + 6)}));
  const Index w = img.dim(2);
  for (int dy = 0; dy < 3; ++dy)
    for (int dx = 0; dx < 3; ++dx) EXPECT_EQ(img.data()[(6 + dy) * w + 6 + dx], 200);
  EXPECT_EQ(img.data()[(6 + 3) * w + 6], 0);                  // the next image row
  EXPECT_EQ(img.data()[(6 + 12 + 6) * w + 6 + 15 + 6], 203);  // the fourth image
  g.cells.pop_back();
  EXPECT_TRUE(throws_with<ValueError>([&] { draw_image_grid(g, Format::png); }, {"3 images", "rows of 2"}));
}

TEST(Draw, NiceTicks) {
  const std::vector<double> unit = nice_ticks(0, 1);
  ASSERT_EQ(unit.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(unit[i], 0.2 * double(i), 1e-12);
  EXPECT_EQ(nice_ticks(3, 997).front(), 200);
  EXPECT_EQ(nice_ticks(3, 997).back(), 800);
  EXPECT_EQ(nice_ticks(-3, 7), (std::vector<double>{-2, 0, 2, 4, 6}));
  EXPECT_EQ(nice_ticks(5, 5), (std::vector<double>{5}));
}

TEST(Figures, ReadsAMetricsLog) {
  TempDir dir;
  simile::testing::write_text(
      dir.file("m.jsonl"),
      R"({"event":"step","step":1,"epoch":0,"loss":4.5,"lr":0.001,"seconds":0.5,"samples_per_second":512}
{"event":"step","step":2,"epoch":0,"loss":null,"lr":0.001,"seconds":1.0,"samples_per_second":500}

{"event":"epoch","epoch":0,"mean_loss":4.2,"step":2,"seconds":1.0}
{"event":"representation","step":2,"epoch":0,"alignment":0.8,"uniformity":-2.5}
{"event":"future","anything":[1,2]}
{"event":"evaluation","step":2,"dim":128,"linear_probe_accuracy":0.71}
)");
  RunLog log = read_metrics(dir.file("m.jsonl"));
  ASSERT_EQ(log.steps.size(), 2u);
  EXPECT_EQ(log.steps[0].loss, 4.5);
  EXPECT_TRUE(std::isnan(log.steps[1].loss));
  ASSERT_EQ(log.epochs.size(), 1u);
  ASSERT_EQ(log.health.size(), 1u);
  EXPECT_EQ(log.health[0].uniformity, -2.5);
  EXPECT_EQ(log.evaluation["linear_probe_accuracy"], 0.71);
  std::vector<NamedChart> charts = metric_charts(log);
  std::vector<std::string> names;
  for (const auto& c : charts) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"loss", "lr", "throughput", "alignment_uniformity"}));
  EXPECT_EQ(charts[0].chart.series.size(), 2u);  // the steps and the epoch means
}

TEST(Figures, BadMetricsLogsAreNamed) {
  TempDir dir;
  auto bad = [&](const std::string& text, std::vector<std::string> parts) {
    simile::testing::write_text(dir.file("bad.jsonl"), text);
    return throws_with<IoError>([&] { read_metrics(dir.file("bad.jsonl")); }, parts);
  };
  const std::string step = R"({"event":"step","step":1,"epoch":0,"loss":1,"lr":1,"seconds":1,"samples_per_second":1})";
  EXPECT_TRUE(bad("", {"bad.jsonl", "no \"step\" lines"}));
  EXPECT_TRUE(bad(step + "\n{\"event\": \"st", {"bad.jsonl' line 2 is not JSON"}));
  EXPECT_TRUE(bad(step + "\n[1, 2]\n", {"line 2", "not a JSON object"}));
  EXPECT_TRUE(bad(R"({"event":"step","step":1})", {"line 1", "without \"epoch\""}));
  EXPECT_TRUE(bad(R"({"event":"step","step":1,"epoch":0,"loss":"high","lr":1,"seconds":1,"samples_per_second":1})",
                  {"line 1", "\"loss\" is \"high\"", "expected a number"}));
  EXPECT_TRUE(bad(std::string("\xff\xfe binary"), {"line 1 is not JSON"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_metrics(dir.file("")); }, {"not a regular file"}));
}

TEST(Figures, PointsAndLabelsFromNpy) {
  TempDir dir;
  write_npy(dir.file("e.npy"), simile::testing::random_tensor<double>({6, 3}, 1));
  write_npy(dir.file("l.npy"), Tensor<std::int64_t>::from({0, 1, 2, 0, 1, 2}, {6}));
  write_npy(dir.file("u8.npy"), Tensor<std::uint8_t>::from({0, 1, 2, 0, 1, 2}, {6, 1}));
  Points p = read_points(dir.file("e.npy"), dir.file("l.npy"));
  EXPECT_EQ(p.h.shape(), Shape({6, 3}));
  EXPECT_EQ(p.labels, (std::vector<std::int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(read_labels(dir.file("u8.npy"), 6), p.labels);
  write_npy(dir.file("f.npy"), Tensor<float>::zeros({6}));
  EXPECT_TRUE(
      throws_with<BadArgument>([&] { read_labels(dir.file("f.npy"), 6); }, {"--labels", "f.npy", "'<f4'", "integers"}));
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_labels(dir.file("l.npy"), 7); }, {"--labels", "6 labels", "7 rows"}));
  write_npy(dir.file("neg.npy"), Tensor<std::int32_t>::from({0, -1}, {2}));
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_labels(dir.file("neg.npy"), 2); }, {"label 1 is -1"}));
  write_npy(dir.file("wide.npy"), Tensor<std::int64_t>::zeros({3, 2}));
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_labels(dir.file("wide.npy"), 3); }, {"shape [3, 2]", "[N]"}));
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_points(dir.file("f.npy"), ""); }, {"--embeddings", "[6]", "[N, D]"}));
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_points(dir.file("l.npy"), ""); }, {"--embeddings", "'<i8'"}));
  Tensor<float> nan = Tensor<float>::zeros({3, 2});
  nan.data()[3] = std::nanf("");
  write_npy(dir.file("nan.npy"), nan);
  EXPECT_TRUE(throws_with<BadArgument>([&] { read_points(dir.file("nan.npy"), ""); }, {"nan.npy", "NaN"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_points(dir.file("missing.npy"), ""); }, {"missing.npy"}));
}

TEST(Figures, MapsOfPoints) {
  Points p;
  p.h = simile::testing::random_tensor<float>({40, 5}, 2);
  for (int i = 0; i < 40; ++i) p.labels.push_back(i % 4);
  p.source = "test";
  Options o;
  o.threads = 1;
  o.tsne_points = 30;
  o.tsne_iterations = 50;
  o.perplexity = 5;
  std::vector<NamedScatter> maps = embedding_maps(p, o);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].name, "map_pca");
  EXPECT_EQ(maps[0].scatter.points.shape(), Shape({40, 2}));
  EXPECT_EQ(maps[1].name, "map_tsne");
  EXPECT_EQ(maps[1].scatter.points.shape(), Shape({30, 2}));
  EXPECT_EQ(maps[1].scatter.labels.size(), 30u);
  EXPECT_NE(maps[1].caption.find("30 of 40 points"), std::string::npos) << maps[1].caption;
  o.perplexity = 30;
  EXPECT_TRUE(throws_with<BadArgument>([&] { embedding_maps(p, o); }, {"--perplexity", "30", "below the 30 points"}));
  o.map = "pca";
  EXPECT_EQ(embedding_maps(p, o).size(), 1u);
}

TEST(Report, HtmlHelpers) {
  EXPECT_EQ(html_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64(std::string("\xff\x00\x10", 3)), "/wAQ");
  const std::string svg = inline_svg(
      "<?xml version=\"1.0\"?>\n<svg><symbol id=\"glyph0-1\"/><use xlink:href=\"#glyph0-1\"/>"
      "<g clip-path=\"url(#clip1)\"/></svg>",
      "c3-");
  EXPECT_EQ(
      svg,
      "<svg><symbol id=\"c3-glyph0-1\"/><use xlink:href=\"#c3-glyph0-1\"/><g clip-path=\"url(#c3-clip1)\"/></svg>");
}

}  // namespace
}  // namespace simile::cli
