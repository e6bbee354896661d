#pragma once
// Figures drawn with cairo (Debian's libcairo2), as PNG or SVG bytes: line charts (axes with ticks and
// labels, a title, one or more series, a legend), scatter plots coloured by class, and grids of images. Only
// draw.cpp includes <cairo.h>: the rest of the tool says what to draw, not how.
//
// Text goes through cairo's own text API in the "sans-serif" face fontconfig chooses (DejaVu Sans on Debian,
// pulled in by fontconfig-config). PNG is 8-bit RGB(A) of the size asked; SVG is in points, text as glyph
// outlines, so it looks the same without the fonts.

#include <cstdint>
#include <string>
#include <vector>

#include "simile/core/tensor.hpp"

namespace simile::cli {

/// What bytes a figure is rendered to.
enum class Format { png, svg };

/// "png" or "svg".
const char* extension(Format f);

/// One line of a chart: points (x[i], y[i]); a NaN y leaves a gap (a diverged step logged as null).
struct Series {
  std::string name;  ///< its legend entry
  std::vector<double> x, y;
};

/// A line chart of one or more series against a shared x axis.
struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;  ///< drawn in order, each in the next colour; a legend when there are two or more
};

/// A scatter plot: points [N, 2] coloured by class, with a legend of the classes.
struct Scatter {
  std::string title, x_label, y_label;
  Tensor<float> points;                  ///< [N, 2]
  std::vector<std::int64_t> labels;      ///< N labels >= 0, or empty: one colour
  std::vector<std::string> class_names;  ///< class c's name at c (else "class c")
};

/// Images in rows and columns with a heading over each column and a label left of each row, each image
/// scaled up by an integer factor without smoothing (pixels stay sharp).
struct ImageGrid {
  std::string title;
  std::vector<std::string> column_labels, row_labels;
  std::vector<Tensor<std::uint8_t>> cells;  ///< rows x columns images, row-major; each uint8 [1 or 3, H, W]
  Index columns = 0;
  Index scale = 3;  ///< screen pixels per image pixel
};

/// The chart drawn at width x height (pixels for PNG, points for SVG). A chart without any finite point is a
/// ValueError naming its title; so is a size below 200 x 150.
std::string draw_chart(const Chart& chart, Format format, int width, int height);
/// The scatter plot, its legend on the right. Requires points [N, 2] with N >= 1, finite, and labels empty or N.
std::string draw_scatter(const Scatter& scatter, Format format, int width, int height);
/// The grid, at the size its images and labels need. Requires rows x columns cells of one size.
std::string draw_image_grid(const ImageGrid& grid, Format format);

/// "Nice" tick positions covering [lo, hi]: multiples of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// Frees what cairo and fontconfig keep for the life of the process (font caches, fontconfig's
/// configuration), which LeakSanitizer would otherwise report at exit. Call it when no figure is being drawn:
/// `plot` and `report` do at their end; the next figure sets them up again.
void release_drawing_caches();

/// Calls `release_drawing_caches` when it goes out of scope, also on an exception.
struct DrawingCachesReleaser {
  DrawingCachesReleaser() = default;
  DrawingCachesReleaser(const DrawingCachesReleaser&) = delete;
  DrawingCachesReleaser& operator=(const DrawingCachesReleaser&) = delete;
  ~DrawingCachesReleaser() { release_drawing_caches(); }
};

}  // namespace simile::cli
