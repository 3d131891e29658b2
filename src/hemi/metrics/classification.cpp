#include "hemi/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "hemi/base/error.h"
#include "hemi/base/thread_pool.h"
#include "hemi/metrics/statistics.h"

namespace hemi::metrics {

namespace {

// Rows must sum to 1 within this (numpy.allclose-like) tolerance to count as probabilities.
constexpr double kProbabilitySumTolerance = 1e-5;

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

// Validates and returns C. `predicted` may be null (argmax is used).
int validate(const char* op, const std::vector<int>& truth, const std::vector<int>* predicted,
             const std::vector<std::vector<double>>& probabilities) {
  const std::string where = std::string(op) + ": ";
  if (truth.empty()) throw Error(where + "empty input (no images)");
  if (probabilities.size() != truth.size()) {
    throw Error(where + "mismatched lengths: " + std::to_string(truth.size()) +
                " true labels but " + std::to_string(probabilities.size()) + " probability rows");
  }
  if (predicted && predicted->size() != truth.size()) {
    throw Error(where + "mismatched lengths: " + std::to_string(truth.size()) +
                " true labels but " + std::to_string(predicted->size()) + " predicted labels");
  }
  const std::size_t c = probabilities[0].size();
  if (c < 2) {
    throw Error(where + "need at least 2 classes (probability columns), got " + std::to_string(c));
  }
  const int classes = static_cast<int>(c);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto& row = probabilities[i];
    if (row.size() != c) {
      throw Error(where + "image " + std::to_string(i) + " has " + std::to_string(row.size()) +
                  " probabilities, image 0 has " + std::to_string(c));
    }
    if (truth[i] < 0 || truth[i] >= classes) {
      throw Error(where + "true label of image " + std::to_string(i) + " is " +
                  std::to_string(truth[i]) + ", outside [0, " + std::to_string(classes) + ")");
    }
    if (predicted && ((*predicted)[i] < 0 || (*predicted)[i] >= classes)) {
      throw Error(where + "predicted label of image " + std::to_string(i) + " is " +
                  std::to_string((*predicted)[i]) + ", outside [0, " + std::to_string(classes) +
                  ")");
    }
    double sum = 0;
    for (std::size_t k = 0; k < c; ++k) {
      const double v = row[k];
      if (!std::isfinite(v)) {
        throw Error(where + "score of image " + std::to_string(i) + ", class " +
                    std::to_string(k) + " is not finite (" + fmt(v) + ")");
      }
      if (v < 0) {
        throw Error(where + "probability of image " + std::to_string(i) + ", class " +
                    std::to_string(k) + " is negative (" + fmt(v) +
                    "); pass softmax probabilities (metrics::softmax converts logits)");
      }
      sum += v;
    }
    if (std::abs(sum - 1.0) > kProbabilitySumTolerance) {
      throw Error(where + "probabilities of image " + std::to_string(i) + " sum to " + fmt(sum) +
                  ", not 1; pass softmax probabilities (metrics::softmax converts logits)");
    }
  }
  return classes;
}

// Images sorted by one score column, ascending.
std::vector<std::uint32_t> order_by(const std::vector<std::vector<double>>& p, int column) {
  std::vector<std::uint32_t> order(p.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return p[a][column] < p[b][column];
  });
  return order;
}

// AUROC of score `score(i)` for is_pos(i) vs the rest, each image counted weight[i] times (the
// bootstrap multiplicity; all 1 for the point estimate). `order` sorts images by score.
// Mann-Whitney: each (positive, negative) pair scores 1 if the positive ranks higher, 1/2 on a
// tie; kept in integer halves, so it is exact.
template <typename Score, typename IsPos>
MetricValue weighted_auroc(const std::vector<std::uint32_t>& order, Score score, IsPos is_pos,
                           const std::uint32_t* weight) {
  std::uint64_t pos_total = 0, neg_total = 0, twice_wins = 0, neg_below = 0;
  std::size_t i = 0;
  while (i < order.size()) {
    const double s = score(order[i]);
    std::uint64_t pos = 0, neg = 0;
    std::size_t j = i;
    for (; j < order.size() && score(order[j]) == s; ++j) {
      const std::uint32_t id = order[j];
      const std::uint64_t w = weight ? weight[id] : 1;
      (is_pos(id) ? pos : neg) += w;
    }
    twice_wins += pos * (2 * neg_below + neg);
    neg_below += neg;
    pos_total += pos;
    neg_total += neg;
    i = j;
  }
  if (pos_total == 0) return MetricValue::undefined("no positive samples (only one class present)");
  if (neg_total == 0) return MetricValue::undefined("no negative samples (only one class present)");
  return MetricValue::of(static_cast<double>(twice_wins) /
                         (2.0 * static_cast<double>(pos_total) * static_cast<double>(neg_total)));
}

struct ClassCounts {
  std::uint64_t tp = 0, support = 0, predicted = 0;
};

// Per-class counts from labels, each image weighted.
std::vector<ClassCounts> class_counts(const std::vector<int>& truth,
                                      const std::vector<int>& predicted, int classes,
                                      const std::uint32_t* weight) {
  std::vector<ClassCounts> counts(classes);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const std::uint64_t w = weight ? weight[i] : 1;
    if (w == 0) continue;
    counts[truth[i]].support += w;
    counts[predicted[i]].predicted += w;
    if (truth[i] == predicted[i]) counts[truth[i]].tp += w;
  }
  return counts;
}

double ratio_or_zero(std::uint64_t num, std::uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

struct Prf {
  double precision = 0, recall = 0, f1 = 0;
  bool precision_zero_division = false, recall_zero_division = false;
};

Prf prf_of(const ClassCounts& c) {
  Prf r;
  r.precision = ratio_or_zero(c.tp, c.predicted);
  r.recall = ratio_or_zero(c.tp, c.support);
  r.f1 = ratio_or_zero(2 * c.tp, c.support + c.predicted);
  r.precision_zero_division = c.predicted == 0;
  r.recall_zero_division = c.support == 0;
  return r;
}

// Headline precision / recall / F1: positive class, or the macro average.
Prf headline_prf(const std::vector<ClassCounts>& counts, std::optional<int> positive) {
  if (positive) return prf_of(counts[*positive]);
  Prf sum;
  for (const auto& c : counts) {
    const Prf p = prf_of(c);
    sum.precision += p.precision;
    sum.recall += p.recall;
    sum.f1 += p.f1;
    sum.precision_zero_division |= p.precision_zero_division;
    sum.recall_zero_division |= p.recall_zero_division;
  }
  const double k = static_cast<double>(counts.size());
  sum.precision /= k;
  sum.recall /= k;
  sum.f1 /= k;
  return sum;
}

std::string class_label(int k, const std::vector<std::string>& names) {
  std::string s = "class " + std::to_string(k);
  if (static_cast<std::size_t>(k) < names.size()) s += " ('" + names[k] + "')";
  return s;
}

// Per-class one-vs-rest AUROC from presorted orders, with the given weights.
std::vector<MetricValue> ovr_per_class(const std::vector<int>& truth,
                                       const std::vector<std::vector<double>>& p,
                                       const std::vector<std::vector<std::uint32_t>>& orders,
                                       const std::uint32_t* weight) {
  std::vector<MetricValue> out;
  for (int k = 0; k < static_cast<int>(orders.size()); ++k) {
    out.push_back(weighted_auroc(
        orders[k], [&](std::uint32_t i) { return p[i][k]; },
        [&](std::uint32_t i) { return truth[i] == k; }, weight));
  }
  return out;
}

// Macro and support-weighted averages of per-class AUROCs; undefined if any class is.
void average_ovr(const std::vector<MetricValue>& per_class, const std::vector<ClassCounts>& counts,
                 const std::vector<std::string>& names, MetricValue* macro,
                 MetricValue* weighted) {
  std::string missing;
  double sum = 0, wsum = 0, total = 0;
  for (std::size_t k = 0; k < per_class.size(); ++k) {
    if (!per_class[k].defined()) {
      missing += (missing.empty() ? "" : ", ") + class_label(static_cast<int>(k), names);
      continue;
    }
    sum += *per_class[k].value;
    wsum += *per_class[k].value * static_cast<double>(counts[k].support);
    total += static_cast<double>(counts[k].support);
  }
  if (!missing.empty()) {
    const std::string why =
        "one-vs-rest AUROC is undefined for " + missing +
        " (no true samples of that class, or only that class); the average is undefined";
    if (macro) *macro = MetricValue::undefined(why);
    if (weighted) *weighted = MetricValue::undefined(why);
    return;
  }
  if (macro) *macro = MetricValue::of(sum / static_cast<double>(per_class.size()));
  if (weighted) *weighted = MetricValue::of(wsum / total);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Interval percentile_interval(std::vector<double> values, std::size_t resamples, double confidence,
                             const std::string& metric) {
  Interval iv;
  iv.method = "percentile-bootstrap";
  iv.confidence = confidence;
  iv.resamples = resamples;
  iv.skipped = resamples - values.size();
  if (values.empty()) {
    iv.reason = metric + " was undefined in all " + std::to_string(resamples) +
                " bootstrap replicates";
    return iv;
  }
  std::sort(values.begin(), values.end());
  const double alpha = 1.0 - confidence;
  iv.lower = percentile_sorted(values, alpha / 2);
  iv.upper = percentile_sorted(values, 1 - alpha / 2);
  return iv;
}

ClassificationMetrics evaluate_impl(const std::vector<int>& truth,
                                    const std::vector<int>& predicted,
                                    const std::vector<std::vector<double>>& p, int classes,
                                    const MetricsOptions& opts) {
  const auto& names = opts.class_names;
  ClassificationMetrics m;
  m.n = truth.size();
  m.num_classes = classes;
  if (classes == 2) {
    m.positive_class = opts.positive_class.value_or(1);
    m.average = "binary";
  } else {
    m.average = "macro";
  }
  const std::optional<int> positive = m.positive_class;

  m.confusion = confusion_matrix(truth, predicted, classes);
  const auto counts = class_counts(truth, predicted, classes, nullptr);

  // Per-class report and averages.
  std::vector<std::vector<std::uint32_t>> orders(classes);
  for (int k = 0; k < classes; ++k) orders[k] = order_by(p, k);
  const auto ovr = ovr_per_class(truth, p, orders, nullptr);
  std::uint64_t correct = 0;
  for (int k = 0; k < classes; ++k) {
    const Prf r = prf_of(counts[k]);
    ClassReport row;
    row.class_index = k;
    row.name = static_cast<std::size_t>(k) < names.size() ? names[k] : std::to_string(k);
    row.precision = r.precision;
    row.recall = r.recall;
    row.f1 = r.f1;
    row.support = counts[k].support;
    row.predicted = counts[k].predicted;
    row.auroc = ovr[k];
    m.per_class.push_back(row);
    correct += counts[k].tp;

    // Weighted: sum_k support_k * metric_k / n (numpy.average with the supports as weights).
    const double support = static_cast<double>(counts[k].support);
    m.precision_weighted += r.precision * support;
    m.recall_weighted += r.recall * support;
    m.f1_weighted += r.f1 * support;

    const std::string label = class_label(k, names);
    if (counts[k].predicted == 0) {
      m.warnings.push_back("precision of " + label +
                           " is undefined (no predicted samples); set to 0 (zero_division=0)");
    }
    if (counts[k].support == 0) {
      m.warnings.push_back("recall of " + label +
                           " is undefined (no true samples); set to 0 (zero_division=0)");
    }
    if (counts[k].predicted == 0 && counts[k].support == 0) {
      m.warnings.push_back("F1 of " + label +
                           " is undefined (no true or predicted samples); set to 0 "
                           "(zero_division=0)");
    }
  }
  m.precision_weighted /= static_cast<double>(m.n);
  m.recall_weighted /= static_cast<double>(m.n);
  m.f1_weighted /= static_cast<double>(m.n);
  // Macro: the one computation the multiclass headline (and its bootstrap) uses too, so the
  // report never shows two values for the same average.
  const Prf macro = headline_prf(counts, std::nullopt);
  m.precision_macro = macro.precision;
  m.recall_macro = macro.recall;
  m.f1_macro = macro.f1;
  m.accuracy = static_cast<double>(correct) / static_cast<double>(m.n);
  m.accuracy_ci = wilson_interval(correct, m.n, opts.confidence);
  average_ovr(ovr, counts, names, &m.auroc_macro, &m.auroc_weighted);

  const Prf head = headline_prf(counts, positive);
  m.precision = head.precision;
  m.recall = head.recall;
  m.f1 = head.f1;
  if (positive) {
    m.auroc = ovr[*positive];
    if (!m.auroc.defined()) m.auroc.reason = "AUROC of " + class_label(*positive, names) +
                                             " is undefined: " + m.auroc.reason;
  } else {
    m.auroc = m.auroc_macro;
  }
  if (!m.auroc.defined()) m.warnings.push_back(m.auroc.reason);

  // Bootstrap: replicate r resamples n images with replacement using its own sampler seeded
  // from (seed, r), so results do not depend on the thread count.
  const std::size_t reps = opts.bootstrap_resamples;
  if (reps == 0) {
    for (Interval* iv : {&m.precision_ci, &m.recall_ci, &m.f1_ci, &m.auroc_ci}) {
      iv->method = "none";
      iv->confidence = opts.confidence;
      iv->reason = "bootstrap disabled (bootstrap_resamples = 0)";
    }
    return m;
  }
  struct Replicate {
    Prf prf;
    std::optional<double> auroc;
  };
  std::vector<Replicate> out(reps);
  auto run = [&](std::size_t r) {
    IndexSampler sampler(splitmix64(opts.seed ^ splitmix64(r)));
    std::vector<std::uint32_t> weight(m.n, 0);
    for (std::size_t i = 0; i < m.n; ++i) ++weight[sampler.next(m.n)];
    const auto c = class_counts(truth, predicted, classes, weight.data());
    out[r].prf = headline_prf(c, positive);
    if (positive) {
      const int k = *positive;
      out[r].auroc = weighted_auroc(
                         orders[k], [&](std::uint32_t i) { return p[i][k]; },
                         [&](std::uint32_t i) { return truth[i] == k; }, weight.data())
                         .value;
    } else {
      MetricValue macro;
      average_ovr(ovr_per_class(truth, p, orders, weight.data()), c, {}, &macro, nullptr);
      out[r].auroc = macro.value;
    }
  };
  if (opts.pool) {
    opts.pool->parallel_for(0, reps, run);
  } else {
    for (std::size_t r = 0; r < reps; ++r) run(r);
  }
  std::vector<double> prec, rec, f1, auc;
  std::size_t prec_zero = 0, rec_zero = 0;
  for (const auto& r : out) {
    prec.push_back(r.prf.precision);
    rec.push_back(r.prf.recall);
    f1.push_back(r.prf.f1);
    prec_zero += r.prf.precision_zero_division;
    rec_zero += r.prf.recall_zero_division;
    if (r.auroc) auc.push_back(*r.auroc);
  }
  m.precision_ci = percentile_interval(std::move(prec), reps, opts.confidence, "precision");
  m.recall_ci = percentile_interval(std::move(rec), reps, opts.confidence, "recall");
  m.f1_ci = percentile_interval(std::move(f1), reps, opts.confidence, "F1");
  m.auroc_ci = percentile_interval(std::move(auc), reps, opts.confidence, "AUROC");
  const std::string scope = positive ? class_label(*positive, names) : std::string("a class");
  if (prec_zero > 0) {
    m.warnings.push_back("bootstrap: in " + std::to_string(prec_zero) + " of " +
                         std::to_string(reps) + " replicates " + scope +
                         " had no predicted samples; precision 0 was used there "
                         "(zero_division=0, as in the point estimate)");
  }
  if (rec_zero > 0) {
    m.warnings.push_back("bootstrap: in " + std::to_string(rec_zero) + " of " +
                         std::to_string(reps) + " replicates " + scope +
                         " had no true samples; recall 0 was used there "
                         "(zero_division=0, as in the point estimate)");
  }
  if (m.auroc_ci.skipped > 0) {
    m.warnings.push_back("bootstrap: AUROC was undefined (a class absent) in " +
                         std::to_string(m.auroc_ci.skipped) + " of " + std::to_string(reps) +
                         " replicates; they were skipped");
  }
  return m;
}

void validate_options(const MetricsOptions& opts, int classes) {
  if (!(opts.confidence > 0.0 && opts.confidence < 1.0)) {
    throw Error("metrics::evaluate: confidence must be in (0, 1), got " + fmt(opts.confidence));
  }
  if (opts.positive_class) {
    if (classes != 2) {
      throw Error("metrics::evaluate: positive_class applies to binary tasks only; this task has " +
                  std::to_string(classes) + " classes (metrics are macro / weighted averages)");
    }
    if (*opts.positive_class < 0 || *opts.positive_class >= classes) {
      throw Error("metrics::evaluate: positive_class " + std::to_string(*opts.positive_class) +
                  " is outside [0, 2)");
    }
  }
  if (!opts.class_names.empty() && opts.class_names.size() != static_cast<std::size_t>(classes)) {
    throw Error("metrics::evaluate: " + std::to_string(opts.class_names.size()) +
                " class names for " + std::to_string(classes) + " classes");
  }
  if (opts.bootstrap_resamples > 0 && opts.bootstrap_resamples < 2) {
    throw Error("metrics::evaluate: bootstrap_resamples must be 0 (off) or at least 2");
  }
}

}  // namespace

ClassificationMetrics evaluate(const std::vector<int>& truth,
                               const std::vector<std::vector<double>>& probabilities,
                               const MetricsOptions& opts) {
  const int classes = validate("metrics::evaluate", truth, nullptr, probabilities);
  validate_options(opts, classes);
  std::vector<int> predicted(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) predicted[i] = argmax(probabilities[i]);
  return evaluate_impl(truth, predicted, probabilities, classes, opts);
}

ClassificationMetrics evaluate(const std::vector<int>& truth, const std::vector<int>& predicted,
                               const std::vector<std::vector<double>>& probabilities,
                               const MetricsOptions& opts) {
  const int classes = validate("metrics::evaluate", truth, &predicted, probabilities);
  validate_options(opts, classes);
  return evaluate_impl(truth, predicted, probabilities, classes, opts);
}

std::vector<std::vector<std::size_t>> confusion_matrix(const std::vector<int>& truth,
                                                       const std::vector<int>& predicted,
                                                       int num_classes) {
  if (truth.empty()) throw Error("confusion_matrix: empty input (no images)");
  if (truth.size() != predicted.size()) {
    throw Error("confusion_matrix: mismatched lengths: " + std::to_string(truth.size()) +
                " true labels but " + std::to_string(predicted.size()) + " predicted labels");
  }
  if (num_classes < 1) {
    throw Error("confusion_matrix: num_classes must be > 0, got " + std::to_string(num_classes));
  }
  std::vector<std::vector<std::size_t>> m(num_classes, std::vector<std::size_t>(num_classes, 0));
  for (std::size_t i = 0; i < truth.size(); ++i) {
    for (auto [what, v] : {std::pair{"true", truth[i]}, std::pair{"predicted", predicted[i]}}) {
      if (v < 0 || v >= num_classes) {
        throw Error(std::string("confusion_matrix: ") + what + " label of image " +
                    std::to_string(i) + " is " + std::to_string(v) + ", outside [0, " +
                    std::to_string(num_classes) + ")");
      }
    }
    ++m[truth[i]][predicted[i]];
  }
  return m;
}

MetricValue auroc_binary(const std::vector<int>& truth, const std::vector<double>& scores,
                         int positive_class) {
  if (truth.empty()) throw Error("auroc_binary: empty input (no images)");
  if (truth.size() != scores.size()) {
    throw Error("auroc_binary: mismatched lengths: " + std::to_string(truth.size()) +
                " true labels but " + std::to_string(scores.size()) + " scores");
  }
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw Error("auroc_binary: score of image " + std::to_string(i) + " is not finite (" +
                  fmt(scores[i]) + ")");
    }
  }
  std::vector<std::uint32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return scores[a] < scores[b]; });
  return weighted_auroc(
      order, [&](std::uint32_t i) { return scores[i]; },
      [&](std::uint32_t i) { return truth[i] == positive_class; }, nullptr);
}

RocCurve roc_curve(const std::vector<int>& truth, const std::vector<double>& scores, int positive_class) {
  if (truth.empty()) throw Error("roc_curve: empty input (no images)");
  if (truth.size() != scores.size())
    throw Error("roc_curve: mismatched lengths: " + std::to_string(truth.size()) + " true labels but " +
                std::to_string(scores.size()) + " scores");
  std::size_t pos = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i]))
      throw Error("roc_curve: score of image " + std::to_string(i) + " is not finite (" + fmt(scores[i]) + ")");
    pos += truth[i] == positive_class;
  }
  const std::size_t neg = truth.size() - pos;
  RocCurve c;
  if (pos == 0 || neg == 0) {
    c.reason = pos == 0 ? "no image of the positive class" : "no image outside the positive class";
    return c;
  }
  std::vector<std::uint32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return scores[a] > scores[b]; });
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  std::size_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size();) {
    const double s = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == s; ++i) (truth[order[i]] == positive_class ? tp : fp) += 1;
    c.fpr.push_back(static_cast<double>(fp) / static_cast<double>(neg));
    c.tpr.push_back(static_cast<double>(tp) / static_cast<double>(pos));
  }
  return c;
}

OneVsRestAuroc auroc_one_vs_rest(const std::vector<int>& truth,
                                 const std::vector<std::vector<double>>& probabilities) {
  const int classes = validate("auroc_one_vs_rest", truth, nullptr, probabilities);
  std::vector<std::vector<std::uint32_t>> orders(classes);
  for (int k = 0; k < classes; ++k) orders[k] = order_by(probabilities, k);
  OneVsRestAuroc r;
  r.per_class = ovr_per_class(truth, probabilities, orders, nullptr);
  average_ovr(r.per_class, class_counts(truth, truth, classes, nullptr), {}, &r.macro,
              &r.weighted);
  return r;
}

int argmax(const std::vector<double>& row) {
  if (row.empty()) throw Error("argmax: empty row");
  int best = 0;
  for (std::size_t k = 0; k < row.size(); ++k) {
    if (std::isnan(row[k])) throw Error("argmax: value " + std::to_string(k) + " is NaN");
    if (row[k] > row[best]) best = static_cast<int>(k);
  }
  return best;
}

std::vector<double> softmax(const std::vector<double>& logits) {
  if (logits.empty()) throw Error("softmax: empty row");
  for (std::size_t k = 0; k < logits.size(); ++k) {
    if (!std::isfinite(logits[k])) {
      throw Error("softmax: logit " + std::to_string(k) + " is not finite (" + fmt(logits[k]) +
                  ")");
    }
  }
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> out(logits.size());
  double sum = 0;
  for (std::size_t k = 0; k < logits.size(); ++k) sum += out[k] = std::exp(logits[k] - top);
  for (double& v : out) v /= sum;
  return out;
}

}  // namespace hemi::metrics
