// The one place where classification metrics become text and JSON: `hemi eval` (text and
// --json) and `hemi run` (results.json) print the same fields with the same names
// (docs/results-schema.md, "metrics").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hemi/metrics/classification.h"
#include "hemi/metrics/value.h"

namespace hemi::report {

nlohmann::json interval_json(const metrics::Interval& ci);
nlohmann::json value_json(const metrics::MetricValue& v);  // {"value": x or null, "reason": ...}
nlohmann::json metrics_json(const metrics::ClassificationMetrics& m);

// For a terminal: accuracy with its interval; per class precision, recall, F1, support and
// one-vs-rest AUROC; macro and weighted averages; the headline AUROC; the confusion matrix
// (rows: true class). Undefined values print as "n/a (reason)". Columns fit the longest class
// name.
std::string metrics_text(const metrics::ClassificationMetrics& m);

}  // namespace hemi::report
