// Charts, scatter plots and image grids through cairo (see draw.hpp): the one translation unit of the tool
// that includes <cairo.h>.

#include "draw.hpp"

#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "simile/core/error.hpp"

namespace simile::cli {
namespace {

// Tableau 10: distinct for ten classes and readable by most colour-blind eyes; further classes repeat them.
constexpr unsigned palette[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac};

void colour(cairo_t* cr, std::size_t i, double alpha = 1) {
  const unsigned c = palette[i % std::size(palette)];
  cairo_set_source_rgba(cr, ((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0, (c & 255) / 255.0, alpha);
}

void gray(cairo_t* cr, double level) { cairo_set_source_rgb(cr, level, level, level); }

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// A surface of the format with its context, on a white background; `finish` gives the file's bytes. Any
// cairo failure (out of memory, an invalid size) is an Error naming `who` and cairo's reason.
class Canvas {
 public:
  Canvas(Format format, double width, double height, const char* who) : format_(format), who_(who) {
    surface_ = format == Format::png
                   ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(std::ceil(width)), int(std::ceil(height)))
                   : cairo_svg_surface_create_for_stream(append, &bytes_, width, height);
    check_status(cairo_surface_status(surface_));
    cr_ = cairo_create(surface_);
    check_status(cairo_status(cr_));
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  ~Canvas() {
    if (cr_) cairo_destroy(cr_);
    if (surface_) cairo_surface_destroy(surface_);
  }
  cairo_t* cr() const { return cr_; }

  std::string finish() {
    check_status(cairo_status(cr_));
    cairo_destroy(cr_);
    cr_ = nullptr;
    if (format_ == Format::png) check_status(cairo_surface_write_to_png_stream(surface_, append, &bytes_));
    cairo_surface_finish(surface_);  // an SVG surface writes its end here
    check_status(cairo_surface_status(surface_));
    cairo_surface_destroy(surface_);
    surface_ = nullptr;
    return std::move(bytes_);
  }

 private:
  void check_status(cairo_status_t s) const {
    check(s == CAIRO_STATUS_SUCCESS, who_, ": cairo failed: ", cairo_status_to_string(s));
  }
  Format format_;
  const char* who_;
  std::string bytes_;  // the SVG stream writes here as it goes: the Canvas never moves
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

void font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// `s` with its anchor at (x, y): `align` 0 left, 0.5 centred, 1 right; y the middle of the capitals.
void text(cairo_t* cr, const std::string& s, double x, double y, double align) {
  cairo_font_extents_t f;
  cairo_font_extents(cr, &f);
  cairo_move_to(cr, x - align * text_width(cr, s), y + f.ascent * 0.35);
  cairo_show_text(cr, s.c_str());
}

// A tick's label with as many decimals as the spacing of the ticks needs (0.2 -> "4.0", "4.2"); very small or
// very large values in the shortest exponent form ("2e-5").
std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-6) return "0";
  char buf[64];
  if (step >= 1 && std::abs(v) < 1e9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (step < 1 && step >= 1e-5) {
    std::snprintf(buf, sizeof buf, "%.*f", int(std::ceil(-std::log10(step) - 1e-9)), v);
  } else {
    const int digits = std::clamp(int(std::ceil(std::log10(std::abs(v) / step) + 1e-9)) + 1, 1, 10);
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  std::string s = buf;
  for (const char* e : {"e-0", "e+0", "e+"})  // 1e-05 -> 1e-5, 2e+04 -> 2e4
    if (auto at = s.find(e); at != std::string::npos) s.replace(at, std::string(e).size(), e[1] == '-' ? "e-" : "e");
  return s;
}

// The range of the finite values in `v`, padded by a share of it; a single value gets a margin of its own.
std::pair<double, double> range_of(const std::vector<double>& v, double pad) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(lo <= hi)) return {0, 1};
  if (hi - lo <= 1e-12 * std::max(1.0, std::abs(hi))) {
    const double m = lo == 0 ? 1 : std::abs(lo) * 0.1;
    return {lo - m, hi + m};
  }
  return {lo - pad * (hi - lo), hi + pad * (hi - lo)};
}

// Where data goes on the canvas: the plot area and the ranges shown there.
struct Frame {
  double left, top, width, height;
  double x0, x1, y0, y1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * width; }
  double py(double y) const { return top + height - (y - y0) / (y1 - y0) * height; }
};

// The title, the grid at the ticks, the axes box, the tick labels and the axis labels.
void draw_frame(cairo_t* cr, const Frame& f, const std::string& title, const std::string& x_label,
                const std::string& y_label, double canvas_width) {
  font(cr, 15, true);
  gray(cr, 0.1);
  text(cr, title, canvas_width / 2, 20, 0.5);
  const std::vector<double> xt = nice_ticks(f.x0, f.x1), yt = nice_ticks(f.y0, f.y1);
  cairo_set_line_width(cr, 1);
  gray(cr, 0.9);
  for (double x : xt) {
    cairo_move_to(cr, std::round(f.px(x)) + 0.5, f.top);
    cairo_line_to(cr, std::round(f.px(x)) + 0.5, f.top + f.height);
  }
  for (double y : yt) {
    cairo_move_to(cr, f.left, std::round(f.py(y)) + 0.5);
    cairo_line_to(cr, f.left + f.width, std::round(f.py(y)) + 0.5);
  }
  cairo_stroke(cr);
  gray(cr, 0.2);
  cairo_rectangle(cr, std::round(f.left) + 0.5, std::round(f.top) + 0.5, std::round(f.width), std::round(f.height));
  cairo_stroke(cr);
  font(cr, 11);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1, ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double x : xt) {
    cairo_move_to(cr, std::round(f.px(x)) + 0.5, f.top + f.height);
    cairo_line_to(cr, std::round(f.px(x)) + 0.5, f.top + f.height + 4);
    cairo_stroke(cr);
    text(cr, tick_label(x, xstep), f.px(x), f.top + f.height + 14, 0.5);
  }
  for (double y : yt) {
    cairo_move_to(cr, f.left - 4, std::round(f.py(y)) + 0.5);
    cairo_line_to(cr, f.left, std::round(f.py(y)) + 0.5);
    cairo_stroke(cr);
    text(cr, tick_label(y, ystep), f.left - 7, f.py(y), 1);
  }
  font(cr, 12);
  text(cr, x_label, f.left + f.width / 2, f.top + f.height + 36, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 16, f.top + f.height / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, y_label, 0, 0, 0.5);
  cairo_restore(cr);
}

// The widest tick label of the y axis, to size the left margin.
double y_tick_width(cairo_t* cr, double y0, double y1) {
  font(cr, 11);
  const std::vector<double> yt = nice_ticks(y0, y1);
  const double step = yt.size() > 1 ? yt[1] - yt[0] : 1;
  double w = 0;
  for (double y : yt) w = std::max(w, text_width(cr, tick_label(y, step)));
  return w;
}

void check_size(const char* who, int width, int height) {
  check(width >= 200 && height >= 150 && width <= 16384 && height <= 16384, who, ": a figure of ", width, " x ", height,
        ", expected 200 x 150 to 16384 x 16384");
}

}  // namespace

const char* extension(Format f) { return f == Format::png ? "png" : "svg"; }

void release_drawing_caches() {
  cairo_debug_reset_static_data();  // cairo's font and pattern caches (no cairo object is alive here)
  FcFini();                         // then fontconfig's configuration and caches, which cairo's fonts held
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(target - 1, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw * 0.999) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && t.size() < 100; ++k)
    t.push_back(k * step);  // a multiple of the step, not a running sum: no drift
  return t;
}

std::string draw_chart(const Chart& chart, Format format, int width, int height) {
  check_size("draw_chart", width, height);
  std::vector<double> xs, ys;
  for (const Series& s : chart.series) {
    check(s.x.size() == s.y.size(), "draw_chart: '", chart.title, "' series '", s.name, "' has ", s.x.size(),
          " x values and ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) xs.push_back(s.x[i]), ys.push_back(s.y[i]);
  }
  check(!xs.empty(), "draw_chart: '", chart.title, "' has no finite point to draw");
  Canvas canvas(format, width, height, "draw_chart");
  cairo_t* cr = canvas.cr();
  auto [x0, x1] = range_of(xs, 0.0);
  auto [y0, y1] = range_of(ys, 0.05);
  const double left = 34 + y_tick_width(cr, y0, y1);
  Frame f{left, 36, width - left - 18, height - 36.0 - 48, x0, x1, y0, y1};
  draw_frame(cr, f, chart.title, chart.x_label, chart.y_label, width);

  cairo_save(cr);
  cairo_rectangle(cr, f.left, f.top, f.width, f.height);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    colour(cr, k);
    cairo_set_line_width(cr, 1.8);
    bool drawing = false;
    std::size_t finite = 0;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        drawing = false;
        continue;
      }
      ++finite;
      (drawing ? cairo_line_to : cairo_move_to)(cr, f.px(s.x[i]), f.py(s.y[i]));
      drawing = true;
    }
    cairo_stroke(cr);
    if (finite <= 60)  // few points: each one marked, so a single point shows
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
          cairo_new_sub_path(cr);
          cairo_arc(cr, f.px(s.x[i]), f.py(s.y[i]), 2.8, 0, 2 * M_PI);
        }
    cairo_fill(cr);
  }
  cairo_restore(cr);

  if (chart.series.size() >= 2) {  // the legend, in the corner of the plot area that hides the fewest points
    font(cr, 11);
    double w = 0;
    for (const Series& s : chart.series) w = std::max(w, text_width(cr, s.name));
    const double row = 17, bw = w + 44, bh = row * double(chart.series.size()) + 8;
    double bx = 0, by = 0;
    std::size_t fewest = std::numeric_limits<std::size_t>::max();
    for (int corner = 0; corner < 4; ++corner) {
      const double cx = corner % 2 == 0 ? f.left + f.width - bw - 8 : f.left + 8;
      const double cy = corner < 2 ? f.top + 8 : f.top + f.height - bh - 8;
      std::size_t hidden = 0;
      for (const Series& s : chart.series)  // points along each line, its ends included
        for (std::size_t i = 0; i < s.x.size(); ++i) {
          if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
          const bool line = i + 1 < s.x.size() && std::isfinite(s.x[i + 1]) && std::isfinite(s.y[i + 1]);
          for (int k = 0; k < (line ? 16 : 1); ++k) {
            const double t = k / 16.0;
            const double px = f.px(line ? s.x[i] + t * (s.x[i + 1] - s.x[i]) : s.x[i]);
            const double py = f.py(line ? s.y[i] + t * (s.y[i + 1] - s.y[i]) : s.y[i]);
            hidden += px >= cx - 4 && px <= cx + bw + 4 && py >= cy - 4 && py <= cy + bh + 4;
          }
        }
      if (hidden < fewest) fewest = hidden, bx = cx, by = cy;
    }
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    gray(cr, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
      const double y = by + 4 + row * (double(k) + 0.5);
      colour(cr, k);
      cairo_set_line_width(cr, 2.5);
      cairo_move_to(cr, bx + 8, y);
      cairo_line_to(cr, bx + 28, y);
      cairo_stroke(cr);
      gray(cr, 0.1);
      text(cr, chart.series[k].name, bx + 34, y, 0);
    }
  }
  return canvas.finish();
}

std::string draw_scatter(const Scatter& sc, Format format, int width, int height) {
  check_size("draw_scatter", width, height);
  const Tensor<float>& p = sc.points;
  check<ShapeError>(p.defined() && p.rank() == 2 && p.dim(1) == 2 && p.dim(0) >= 1, "draw_scatter: '", sc.title,
                    "' needs points [N, 2], got ", p.defined() ? p.shape().to_string() : std::string("none"));
  const Index n = p.dim(0);
  check(sc.labels.empty() || Index(sc.labels.size()) == n, "draw_scatter: '", sc.title, "' has ", n, " points and ",
        sc.labels.size(), " labels");
  std::vector<double> xs(static_cast<std::size_t>(n)), ys(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    xs[std::size_t(i)] = p.data()[2 * i], ys[std::size_t(i)] = p.data()[2 * i + 1];
    check(std::isfinite(xs[std::size_t(i)]) && std::isfinite(ys[std::size_t(i)]), "draw_scatter: '", sc.title,
          "' point ", i, " is not finite");
  }
  std::int64_t classes = 1;
  for (std::int64_t l : sc.labels) {
    check(l >= 0, "draw_scatter: '", sc.title, "' has a negative label ", l);
    classes = std::max(classes, l + 1);
  }
  auto name = [&](std::int64_t c) {
    if (sc.labels.empty()) return std::string("all points");
    return std::size_t(c) < sc.class_names.size() ? sc.class_names[std::size_t(c)] : "class " + std::to_string(c);
  };
  std::vector<Index> count(std::size_t(classes), 0);
  for (std::int64_t l : sc.labels) ++count[std::size_t(l)];
  if (sc.labels.empty()) count[0] = n;

  Canvas canvas(format, width, height, "draw_scatter");
  cairo_t* cr = canvas.cr();
  font(cr, 11);
  double legend = 0;
  for (std::int64_t c = 0; c < classes; ++c)
    if (count[std::size_t(c)] > 0) legend = std::max(legend, text_width(cr, name(c)));
  legend = std::min(legend + 40, width * 0.35);
  auto [x0, x1] = range_of(xs, 0.04);
  auto [y0, y1] = range_of(ys, 0.04);
  const double left = 34 + y_tick_width(cr, y0, y1);
  Frame f{left, 36, width - left - legend - 16, height - 36.0 - 48, x0, x1, y0, y1};
  draw_frame(cr, f, sc.title, sc.x_label, sc.y_label, width);

  // One path a class, filled once: small files (an SVG path a class, not an element a point).
  const double radius = n > 5000 ? 1.5 : n > 1000 ? 2.0 : n > 200 ? 2.6 : 3.5;
  cairo_save(cr);
  cairo_rectangle(cr, f.left, f.top, f.width, f.height);
  cairo_clip(cr);
  for (std::int64_t c = 0; c < classes; ++c) {
    if (count[std::size_t(c)] == 0) continue;
    for (Index i = 0; i < n; ++i) {
      if (!sc.labels.empty() && sc.labels[std::size_t(i)] != c) continue;
      cairo_new_sub_path(cr);
      cairo_arc(cr, f.px(xs[std::size_t(i)]), f.py(ys[std::size_t(i)]), radius, 0, 2 * M_PI);
    }
    colour(cr, std::size_t(c), 0.8);
    cairo_fill(cr);
  }
  cairo_restore(cr);

  const double row = 18, lx = f.left + f.width + 14;
  double y = f.top + 8;
  font(cr, 11);
  for (std::int64_t c = 0; c < classes && y < height - 10; ++c) {
    if (count[std::size_t(c)] == 0) continue;
    colour(cr, std::size_t(c));
    cairo_arc(cr, lx + 6, y, 5, 0, 2 * M_PI);
    cairo_fill(cr);
    gray(cr, 0.1);
    text(cr, name(c), lx + 18, y, 0);
    y += row;
  }
  return canvas.finish();
}

std::string draw_image_grid(const ImageGrid& g, Format format) {
  check(g.columns >= 1 && !g.cells.empty() && Index(g.cells.size()) % g.columns == 0,
        "draw_image_grid: ", g.cells.size(), " images do not fill rows of ", g.columns);
  check(g.scale >= 1 && g.scale <= 16, "draw_image_grid: scale ", g.scale, " outside [1, 16]");
  const Index rows = Index(g.cells.size()) / g.columns;
  const Tensor<std::uint8_t>& first = g.cells[0];
  check<ShapeError>(first.rank() == 3 && (first.dim(0) == 1 || first.dim(0) == 3),
                    "draw_image_grid: images are [1 or 3, H, W], got ", first.shape());
  const Index h = first.dim(1), w = first.dim(2), cell_h = h * g.scale, cell_w = w * g.scale, gap = 6;
  for (const auto& c : g.cells)
    check<ShapeError>(c.shape() == first.shape(), "draw_image_grid: images of shapes ", first.shape(), " and ",
                      c.shape());
  // The labels' room, measured on a scratch surface.
  double label_w = 0, title_h = g.title.empty() ? 0 : 30;
  {
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t* cr = cairo_create(s);
    font(cr, 12);
    for (const auto& l : g.row_labels) label_w = std::max(label_w, text_width(cr, l));
    cairo_destroy(cr);
    cairo_surface_destroy(s);
  }
  label_w = label_w > 0 ? label_w + 14 : gap;
  const double head = g.column_labels.empty() ? gap : 24;
  // Each cell followed by its gap: the last one is the margin on the right and at the bottom.
  const double width = label_w + double(g.columns) * double(cell_w + gap);
  const double height = title_h + head + double(rows) * double(cell_h + gap);
  check(width <= 16384 && height <= 16384, "draw_image_grid: ", width, " x ", height, " is too large a figure");
  Canvas canvas(format, width, height, "draw_image_grid");
  cairo_t* cr = canvas.cr();
  if (!g.title.empty()) {
    font(cr, 15, true);
    gray(cr, 0.1);
    text(cr, g.title, width / 2, 18, 0.5);
  }
  font(cr, 12);
  gray(cr, 0.1);
  for (Index c = 0; c < g.columns && c < Index(g.column_labels.size()); ++c)
    text(cr, g.column_labels[std::size_t(c)], label_w + double(c) * double(cell_w + gap) + double(cell_w) / 2,
         title_h + head / 2, 0.5);
  // Each image scaled up by repeating pixels (nearest neighbour), so every renderer shows sharp pixels. A
  // surface of its own for each: the SVG surface records the drawing and reads the pixels when it finishes.
  for (Index r = 0; r < rows; ++r) {
    const double top = title_h + head + double(r) * double(cell_h + gap);
    if (r < Index(g.row_labels.size())) {
      gray(cr, 0.1);
      text(cr, g.row_labels[std::size_t(r)], label_w - 8, top + double(cell_h) / 2, 1);
    }
    for (Index c = 0; c < g.columns; ++c) {
      const Tensor<std::uint8_t>& img = g.cells[std::size_t(r * g.columns + c)];
      const std::uint8_t* src = img.data();
      const Index plane = h * w;
      cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(cell_w), int(cell_h));
      check(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS,
            "draw_image_grid: cairo failed: ", cairo_status_to_string(cairo_surface_status(s)));
      cairo_surface_flush(s);
      unsigned char* pixels = cairo_image_surface_get_data(s);
      const int stride = cairo_image_surface_get_stride(s);
      for (Index y = 0; y < cell_h; ++y)
        for (Index x = 0; x < cell_w; ++x) {
          const Index at = (y / g.scale) * w + x / g.scale;
          const std::uint32_t red = src[at], green = img.dim(0) == 3 ? src[plane + at] : red,
                              blue = img.dim(0) == 3 ? src[2 * plane + at] : red;
          const std::uint32_t rgb = (red << 16) | (green << 8) | blue;
          std::memcpy(pixels + std::size_t(y) * std::size_t(stride) + std::size_t(x) * 4, &rgb, 4);
        }
      cairo_surface_mark_dirty(s);
      cairo_set_source_surface(cr, s, label_w + double(c) * double(cell_w + gap), top);
      cairo_paint(cr);
      cairo_surface_destroy(s);  // the pattern keeps its own reference
    }
  }
  return canvas.finish();
}

}  // namespace simile::cli
