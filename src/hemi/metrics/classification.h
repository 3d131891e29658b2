// Classification metrics as scikit-learn defines them: accuracy, precision / recall / F1
// (binary on a positive class; macro and support-weighted averages), AUROC (binary, and
// one-vs-rest on softmax probabilities), the confusion matrix and a per-class report, with a
// Wilson interval for accuracy and seeded percentile-bootstrap intervals for the rest.
//
// Conventions (docs/metrics.md):
//  - classes are 0 .. C-1 where C is the width of the probability rows; every class takes
//    part in the macro average (scikit-learn with labels=range(C));
//  - zero_division = 0: a class with no predicted samples has precision 0, one with no true
//    samples has recall 0; each case is named in `warnings` (scikit-learn's
//    UndefinedMetricWarning);
//  - AUROC counts tied scores 1/2 (the trapezoid over distinct thresholds, as
//    sklearn.metrics.roc_auc_score); it is undefined, with a reason, when a class is absent;
//  - predicted label = argmax of the row, the lowest index on ties (numpy.argmax).
// Errors: empty input, mismatched lengths, labels out of range, non-finite scores and rows
// that are not probability distributions throw hemi::Error naming the image and the value.
// Thread-safety: pure functions; `evaluate` uses `MetricsOptions::pool` when given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hemi/metrics/value.h"

namespace hemi {
class ThreadPool;
}

namespace hemi::metrics {

struct MetricsOptions {
  // Binary tasks (C == 2) only: the class whose precision / recall / F1 / AUROC are reported.
  // Empty means class 1 (brain-MRI: 1 = "yes", tumor). Setting it for C > 2 is an error.
  std::optional<int> positive_class;
  std::size_t bootstrap_resamples = 1000;  // 0 disables the bootstrap intervals
  std::uint64_t seed = 20240611;           // bootstrap seed; same seed, same intervals
  double confidence = 0.95;                // two-sided, for Wilson and bootstrap intervals
  std::vector<std::string> class_names;    // optional, used in warnings; empty or C names
  ThreadPool* pool = nullptr;              // optional, spreads the bootstrap replicates
};

// One row of the per-class report (scikit-learn's classification_report).
struct ClassReport {
  int class_index = 0;
  std::string name;
  double precision = 0;  // tp / predicted, 0 when nothing was predicted as this class
  double recall = 0;     // tp / support, 0 when the class has no true samples
  double f1 = 0;         // 2 tp / (support + predicted), 0 when both are 0
  std::size_t support = 0;    // true samples of this class
  std::size_t predicted = 0;  // samples predicted as this class
  MetricValue auroc;          // this class vs the rest, on its probability column
};

struct ClassificationMetrics {
  std::size_t n = 0;        // images
  int num_classes = 0;      // C
  std::optional<int> positive_class;  // set for binary tasks
  std::string average;      // "binary" (C == 2) or "macro" (C > 2): what the headline fields are

  // confusion[t][p]: images of true class t predicted as p (scikit-learn's layout).
  std::vector<std::vector<std::size_t>> confusion;
  std::vector<ClassReport> per_class;

  double accuracy = 0;
  Interval accuracy_ci;  // Wilson

  // Headline: of the positive class (binary) or the macro average (multiclass).
  double precision = 0, recall = 0, f1 = 0;
  MetricValue auroc;  // binary on the positive class's probability; else one-vs-rest macro
  Interval precision_ci, recall_ci, f1_ci, auroc_ci;  // percentile bootstrap

  // Averages over all classes (also filled for binary tasks).
  double precision_macro = 0, recall_macro = 0, f1_macro = 0;
  double precision_weighted = 0, recall_weighted = 0, f1_weighted = 0;  // weights: support
  MetricValue auroc_macro, auroc_weighted;  // one-vs-rest

  // Everything that was undefined and replaced by a convention, in words.
  std::vector<std::string> warnings;
};

// Evaluates true labels against per-image class probabilities ([image][class], rows of
// softmax output); the predicted label is the argmax of each row.
ClassificationMetrics evaluate(const std::vector<int>& truth,
                               const std::vector<std::vector<double>>& probabilities,
                               const MetricsOptions& opts = {});

// The same with predicted labels given explicitly (e.g. from a threshold other than argmax).
ClassificationMetrics evaluate(const std::vector<int>& truth, const std::vector<int>& predicted,
                               const std::vector<std::vector<double>>& probabilities,
                               const MetricsOptions& opts = {});

// confusion[t][p] for labels in [0, num_classes). Throws on empty input, mismatched lengths,
// labels out of range.
std::vector<std::vector<std::size_t>> confusion_matrix(const std::vector<int>& truth,
                                                       const std::vector<int>& predicted,
                                                       int num_classes);

// AUROC of `scores` for separating truth == positive_class from every other label; ties count
// 1/2. Undefined (with the reason) when only one of the two groups is present. Throws on empty
// input, mismatched lengths or non-finite scores.
MetricValue auroc_binary(const std::vector<int>& truth, const std::vector<double>& scores,
                         int positive_class = 1);

// The ROC curve of `scores` for truth == positive_class against the rest: one point per
// distinct score threshold, from (0, 0) to (1, 1), thresholds descending (tied scores move
// together, so the trapezoid area under the points equals auroc_binary). Empty `fpr`/`tpr`
// with a reason when only one of the two groups is present. Same errors as auroc_binary.
struct RocCurve {
  std::vector<double> fpr, tpr;
  std::string reason;  // empty when defined
  bool defined() const { return !fpr.empty(); }
};
RocCurve roc_curve(const std::vector<int>& truth, const std::vector<double>& scores, int positive_class = 1);

// One-vs-rest AUROC per class on the probability columns, and its macro / weighted averages
// (undefined when any class has no true samples, as roc_auc_score(multi_class="ovr")).
struct OneVsRestAuroc {
  std::vector<MetricValue> per_class;
  MetricValue macro;
  MetricValue weighted;
};
OneVsRestAuroc auroc_one_vs_rest(const std::vector<int>& truth,
                                 const std::vector<std::vector<double>>& probabilities);

// Index of the largest value, the lowest index on ties. Throws on an empty row or NaN.
int argmax(const std::vector<double>& row);

// Numerically stable softmax of one row of logits. Throws on an empty row or non-finite logits.
std::vector<double> softmax(const std::vector<double>& logits);

}  // namespace hemi::metrics
