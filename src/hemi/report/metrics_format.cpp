#include "hemi/report/metrics_format.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace hemi::report {

namespace {

using nlohmann::json;

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string pct(double v) { return fmt("%.2f", 100 * v); }
std::string num(const metrics::MetricValue& v) { return v.defined() ? fmt("%.4f", *v.value) : "n/a"; }

std::string pad(const std::string& s, std::size_t w, bool right = true) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

}  // namespace

json interval_json(const metrics::Interval& ci) {
  json j = {{"lower", opt(ci.lower)},  {"upper", opt(ci.upper)},     {"confidence", ci.confidence},
            {"method", ci.method},     {"resamples", ci.resamples}, {"skipped", ci.skipped}};
  j["reason"] = ci.reason.empty() ? json(nullptr) : json(ci.reason);
  return j;
}

json value_json(const metrics::MetricValue& v) {
  return {{"value", opt(v.value)}, {"reason", v.reason.empty() ? json(nullptr) : json(v.reason)}};
}

json metrics_json(const metrics::ClassificationMetrics& m) {
  auto metric = [](double v, const metrics::Interval& ci) { return json{{"value", v}, {"ci", interval_json(ci)}}; };
  json j;
  j["n"] = m.n;
  j["num_classes"] = m.num_classes;
  j["average"] = m.average;
  j["positive_class"] = m.positive_class ? json(*m.positive_class) : json(nullptr);
  j["accuracy"] = metric(m.accuracy, m.accuracy_ci);
  j["precision"] = metric(m.precision, m.precision_ci);
  j["recall"] = metric(m.recall, m.recall_ci);
  j["f1"] = metric(m.f1, m.f1_ci);
  j["auroc"] = value_json(m.auroc);
  j["auroc"]["ci"] = interval_json(m.auroc_ci);
  j["precision_macro"] = m.precision_macro;
  j["recall_macro"] = m.recall_macro;
  j["f1_macro"] = m.f1_macro;
  j["precision_weighted"] = m.precision_weighted;
  j["recall_weighted"] = m.recall_weighted;
  j["f1_weighted"] = m.f1_weighted;
  j["auroc_macro"] = value_json(m.auroc_macro);
  j["auroc_weighted"] = value_json(m.auroc_weighted);
  j["confusion"] = m.confusion;
  json pc = json::array();
  for (const auto& c : m.per_class)
    pc.push_back({{"class", c.class_index},     {"name", c.name}, {"precision", c.precision},
                  {"recall", c.recall},         {"f1", c.f1},     {"support", c.support},
                  {"predicted", c.predicted},   {"auroc", value_json(c.auroc)}});
  j["per_class"] = pc;
  j["warnings"] = m.warnings;
  return j;
}

std::string metrics_text(const metrics::ClassificationMetrics& m) {
  std::ostringstream o;
  o << "  accuracy " << pct(m.accuracy) << " %";
  if (m.accuracy_ci.defined())
    o << " [" << pct(*m.accuracy_ci.lower) << ", " << pct(*m.accuracy_ci.upper) << "] ("
      << fmt("%g", 100 * m.accuracy_ci.confidence) << " % Wilson)";
  o << " on " << m.n << " images\n";
  if (m.positive_class)
    o << "  positive class " << m.per_class[static_cast<std::size_t>(*m.positive_class)].name << ": precision "
      << pct(m.precision) << " %, recall " << pct(m.recall) << " %, F1 " << pct(m.f1) << " %, AUROC " << num(m.auroc)
      << (m.auroc.defined() ? "" : " (" + m.auroc.reason + ")") << "\n";
  else
    o << "  AUROC (one vs rest, macro) " << num(m.auroc) << (m.auroc.defined() ? "" : " (" + m.auroc.reason + ")")
      << "\n";

  std::size_t w = 9;  // "weighted"
  for (const auto& c : m.per_class) w = std::max(w, c.name.size());
  o << "\n  " << pad("class", w, false) << pad("precision %", 13) << pad("recall %", 10) << pad("F1 %", 8)
    << pad("support", 9) << pad("predicted", 11) << pad("AUROC", 9) << "\n";
  for (const auto& c : m.per_class)
    o << "  " << pad(c.name, w, false) << pad(pct(c.precision), 13) << pad(pct(c.recall), 10) << pad(pct(c.f1), 8)
      << pad(std::to_string(c.support), 9) << pad(std::to_string(c.predicted), 11) << pad(num(c.auroc), 9) << "\n";
  o << "  " << pad("macro", w, false) << pad(pct(m.precision_macro), 13) << pad(pct(m.recall_macro), 10)
    << pad(pct(m.f1_macro), 8) << pad(std::to_string(m.n), 9) << pad("", 11) << pad(num(m.auroc_macro), 9) << "\n";
  o << "  " << pad("weighted", w, false) << pad(pct(m.precision_weighted), 13) << pad(pct(m.recall_weighted), 10)
    << pad(pct(m.f1_weighted), 8) << pad(std::to_string(m.n), 9) << pad("", 11) << pad(num(m.auroc_weighted), 9)
    << "\n";

  std::size_t cw = 5;
  for (const auto& row : m.confusion)
    for (std::size_t v : row) cw = std::max(cw, std::to_string(v).size() + 2);
  const std::size_t lw = std::to_string(m.confusion.size()).size() + 1 + w;  // "k name"
  o << "\n  confusion matrix (rows: true class, columns: predicted, in class order)\n";
  o << "  " << pad("", lw, false);
  for (std::size_t p = 0; p < m.confusion.size(); ++p) o << pad(std::to_string(p), cw);
  o << "\n";
  for (std::size_t t = 0; t < m.confusion.size(); ++t) {
    o << "  " << pad(std::to_string(t) + " " + m.per_class[t].name, lw, false);
    for (std::size_t v : m.confusion[t]) o << pad(std::to_string(v), cw);
    o << "\n";
  }
  if (!m.warnings.empty()) {
    o << "\n";
    for (const auto& wmsg : m.warnings) o << "  note: " << wmsg << "\n";
  }
  return o.str();
}

}  // namespace hemi::report
