// Plain result types shared by the metrics layer: a value that may be undefined (with the
// reason), and a confidence interval. Plain structs with public fields, so the report layer
// can write them as JSON or CSV without this layer knowing either format.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace hemi::metrics {

// A metric that may be undefined, e.g. AUROC on a test set with a single class. When
// undefined, `value` is empty and `reason` says why; never a silent NaN.
struct MetricValue {
  std::optional<double> value;
  std::string reason;  // empty when defined

  static MetricValue of(double v) { return MetricValue{v, {}}; }
  static MetricValue undefined(std::string why) { return MetricValue{std::nullopt, std::move(why)}; }
  bool defined() const { return value.has_value(); }
};

// A two-sided confidence interval. `lower`/`upper` are empty when the interval is undefined
// (then `reason` says why). For the bootstrap, `resamples` replicates were drawn and `skipped`
// of them left out because the metric was undefined there.
struct Interval {
  std::optional<double> lower;
  std::optional<double> upper;
  double confidence = 0.95;
  std::string method;  // "wilson", "percentile-bootstrap", or "none"
  std::size_t resamples = 0;
  std::size_t skipped = 0;
  std::string reason;  // empty when defined

  bool defined() const { return lower.has_value() && upper.has_value(); }
};

}  // namespace hemi::metrics
