#pragma once
// JSON output of the tool, built with nlohmann::json. Objects keep their keys in insertion order
// (ordered_json), so lines read in the same order as before. JSON has no NaN or infinity: a non-finite
// number (a diverged loss, an empty evaluation) is written as null, deliberately, never as a bare token
// that would make the line unparseable.

#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "simile/eval/report.hpp"

namespace simile::cli {

using Json = nlohmann::ordered_json;

/// `v` as a JSON number, or null when it is NaN or infinite.
inline Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
inline Json number(const std::optional<double>& v) { return v ? number(*v) : Json(nullptr); }

/// The evaluation fields of the tool's final line, appended to `j`.
inline void add_report(Json& j, const EvaluationReport& r) {
  j["linear_probe_accuracy"] = number(r.linear_probe_accuracy);
  j["knn_accuracy"] = number(r.knn_accuracy);
  j["linear_probe_1pct"] = number(r.linear_probe_1pct);
  j["linear_probe_10pct"] = number(r.linear_probe_10pct);
  j["alignment"] = number(r.alignment);
  j["uniformity"] = number(r.uniformity);
  j["effective_rank"] = number(r.effective_rank);
}

}  // namespace simile::cli
