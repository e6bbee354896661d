#pragma once
// `simile plot` and `simile report` (built with cairo: SIMILE_WITH_CAIRO).
//
// plot writes figure files into --out: loss, lr, throughput and alignment_uniformity from --metrics, and
// map_pca and map_tsne of --embeddings (coloured by --labels) or of what --checkpoint embeds (coloured by the
// data's labels), each as .png, .svg or both.
//
// report writes one self-contained HTML page (no file, script or font from elsewhere: charts as inline SVG,
// the maps and the augmentation grid as base64 PNG) with five sections, each a <section> with an id:
// - configuration: the checkpoint's metadata (what `simile train` recorded: method, encoder, widths,
//   optimizer, learning rate, batch, augmentation, seed, version);
// - curves: the charts of --metrics (or a note that none was given);
// - embedding-map: PCA and t-SNE of --embeddings, or of --split of --data as the checkpoint's encoder embeds it;
// - augmentation: the checkpoint's own --augment spec applied to --grid-images test images (one per class as
//   far as they go), --grid-views views each (text and tables: a note);
// - evaluation: --result's JSON object (the line `simile train` or `simile eval` printed), else the last
//   "evaluation" line of --metrics, else with --evaluate the checkpoint evaluated now on --data, else a note
//   saying how to get one (an evaluation of the whole test set takes a while, so it is never run unasked).

#include "commands.hpp"
#include "options.hpp"

namespace simile::cli {

/// `simile plot`: writes the figures; the result lists the files written.
Outcome plot(Options o);
/// `simile report`: writes the HTML page; the result names it and its sections.
Outcome report(Options o);

/// `text` with &, <, >, " and ' escaped for HTML.
std::string html_escape(const std::string& text);
/// `bytes` in base64 (RFC 4648, with padding).
std::string base64(const std::string& bytes);
/// An SVG document from `draw_*` made fit to sit inside an HTML page: the XML declaration dropped, and every
/// id (and each reference to one) prefixed by `prefix`, so that two figures' ids do not collide.
std::string inline_svg(const std::string& svg, const std::string& prefix);

}  // namespace simile::cli
