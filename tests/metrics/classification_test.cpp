// Tests of classification.h. Unless noted, expected values come from
// tests/metrics/reference_values.py (python3, no scikit-learn): per-class precision / recall /
// F1 counted from the definitions with zero_division = 0, macro = mean over classes 0..C-1,
// weighted = mean weighted by support; AUROC from the ROC curve over distinct thresholds and
// the trapezoid rule in exact fractions (the C++ uses the Mann-Whitney rank form instead); the
// bootstrap re-implemented from its specification (mt19937_64 transcribed from the standard).
// The data sets below are the same literals as in that script.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/base/thread_pool.h"
#include "hemi/metrics/classification.h"

namespace hemi::metrics {
namespace {

using Rows = std::vector<std::vector<double>>;

// Binary, brain-MRI-like (1 = "yes"): P(yes) in tenths with ties and one 0.5 (argmax tie ->
// class 0). Rows are [1 - p, p].
const std::vector<int> kBinTruth = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
const std::vector<int> kBinTenths = {1, 2, 2, 3, 5, 6, 7, 8, 2, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9};

Rows binary_rows() {
  Rows rows;
  for (int t : kBinTenths) rows.push_back({1 - t / 10.0, t / 10.0});
  return rows;
}

// Rows = integer weights / their sum (the same doubles as Python's w / sum(r)).
Rows rows_from_weights(const std::vector<std::vector<int>>& weights) {
  Rows rows;
  for (const auto& w : weights) {
    int sum = 0;
    for (int v : w) sum += v;
    std::vector<double> row;
    for (int v : w) row.push_back(static_cast<double>(v) / sum);
    rows.push_back(row);
  }
  return rows;
}

// C = 4; class 3 has 3 true samples and is never predicted; rows 1 and 16 have argmax ties.
const std::vector<int> kMc4Truth = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 0, 1, 2};
const std::vector<std::vector<int>> kMc4Weights = {
    {5, 2, 2, 1}, {4, 4, 1, 1}, {3, 1, 5, 1}, {6, 1, 1, 2}, {1, 6, 2, 1}, {2, 5, 2, 1},
    {4, 3, 2, 1}, {1, 3, 5, 1}, {1, 1, 7, 1}, {2, 2, 5, 1}, {3, 1, 4, 2}, {5, 2, 2, 1},
    {3, 2, 2, 3}, {2, 4, 1, 3}, {1, 1, 5, 3}, {4, 2, 2, 2}, {2, 3, 3, 2}, {2, 2, 4, 2}};

// C = 3, every class predicted.
const std::vector<int> kMc3Truth = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 2};
const std::vector<std::vector<int>> kMc3Weights = {
    {70, 20, 10}, {51, 30, 19}, {32, 45, 23}, {15, 60, 25}, {28, 52, 20}, {40, 35, 25},
    {12, 41, 47}, {11, 13, 76}, {22, 31, 47}, {36, 33, 31}, {61, 18, 21}, {9, 48, 43}};

MetricsOptions no_bootstrap() {
  MetricsOptions o;
  o.bootstrap_resamples = 0;
  return o;
}

bool has_warning(const ClassificationMetrics& m, const std::string& needle) {
  for (const auto& w : m.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no hemi::Error thrown)";
}

using Matrix = std::vector<std::vector<std::size_t>>;

TEST(metricsBinary, PositiveClassMetricsAndConfusion) {
  MetricsOptions opts = no_bootstrap();
  opts.class_names = {"no", "yes"};
  const auto m = evaluate(kBinTruth, binary_rows(), opts);
  EXPECT_EQ(m.average, "binary");
  ASSERT_TRUE(m.positive_class.has_value());
  EXPECT_EQ(*m.positive_class, 1);
  EXPECT_EQ(m.n, 20u);
  // predicted = [0,0,0,0,0,1,1,1, 0,0,0,1,1,1,1,1,1,1,1,1]; the 0.5 rows go to class 0.
  EXPECT_EQ(m.confusion, (Matrix{{5, 3}, {3, 9}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.7);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.75);
  EXPECT_DOUBLE_EQ(m.f1, 0.75);
  EXPECT_DOUBLE_EQ(m.precision_macro, 0.6875);
  EXPECT_DOUBLE_EQ(m.f1_weighted, 0.7);
  // AUROC with ties: exactly 49/64 from the trapezoid over distinct thresholds.
  ASSERT_TRUE(m.auroc.defined()) << m.auroc.reason;
  EXPECT_DOUBLE_EQ(*m.auroc.value, 49.0 / 64.0);
  ASSERT_EQ(m.per_class.size(), 2u);
  EXPECT_EQ(m.per_class[1].name, "yes");
  EXPECT_EQ(m.per_class[0].support, 8u);
  EXPECT_EQ(m.per_class[1].predicted, 12u);
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 0.625);
  EXPECT_TRUE(m.warnings.empty()) << m.warnings[0];
  // Accuracy interval: Wilson on 14 of 20.
  ASSERT_TRUE(m.accuracy_ci.defined());
  EXPECT_EQ(m.accuracy_ci.method, "wilson");
  EXPECT_LT(*m.accuracy_ci.lower, 0.7);
  EXPECT_GT(*m.accuracy_ci.upper, 0.7);
  // Bootstrap off: intervals say so rather than holding numbers.
  EXPECT_FALSE(m.auroc_ci.defined());
  EXPECT_NE(m.auroc_ci.reason.find("disabled"), std::string::npos);
}

TEST(metricsBinary, PositiveClassZeroSwapsTheRoles) {
  // By hand from the confusion matrix [[5,3],[3,9]]: class 0 precision 5/8, recall 5/8; its
  // AUROC on column 0 (= 1 - p) is the same 49/64, since reversing the scores and the labels
  // leaves the Mann-Whitney count unchanged.
  MetricsOptions opts = no_bootstrap();
  opts.positive_class = 0;
  const auto m = evaluate(kBinTruth, binary_rows(), opts);
  EXPECT_DOUBLE_EQ(m.precision, 0.625);
  EXPECT_DOUBLE_EQ(m.recall, 0.625);
  EXPECT_DOUBLE_EQ(*m.auroc.value, 49.0 / 64.0);
}

TEST(metricsMulticlass, FourClassesWithOneNeverPredicted) {
  const auto m = evaluate(kMc4Truth, rows_from_weights(kMc4Weights), no_bootstrap());
  EXPECT_EQ(m.average, "macro");
  EXPECT_FALSE(m.positive_class.has_value());
  EXPECT_EQ(m.confusion, (Matrix{{4, 0, 1, 0}, {1, 3, 1, 0}, {1, 0, 4, 0}, {1, 1, 1, 0}}));
  EXPECT_NEAR(m.accuracy, 0.6111111111111112, 1e-15);
  const double prec[] = {0.5714285714285714, 0.75, 0.5714285714285714, 0.0};
  const double rec[] = {0.8, 0.6, 0.8, 0.0};
  const double f1[] = {0.6666666666666666, 0.6666666666666665, 0.6666666666666666, 0.0};
  const std::size_t support[] = {5, 5, 5, 3};
  const double auc[] = {0.9, 0.9076923076923077, 0.7769230769230769, 1.0};
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE("class " + std::to_string(k));
    EXPECT_NEAR(m.per_class[k].precision, prec[k], 1e-15);
    EXPECT_NEAR(m.per_class[k].recall, rec[k], 1e-15);
    EXPECT_NEAR(m.per_class[k].f1, f1[k], 1e-15);
    EXPECT_EQ(m.per_class[k].support, support[k]);
    ASSERT_TRUE(m.per_class[k].auroc.defined());
    EXPECT_NEAR(*m.per_class[k].auroc.value, auc[k], 1e-15);
  }
  EXPECT_NEAR(m.precision_macro, 0.4732142857142857, 1e-15);
  EXPECT_NEAR(m.recall_macro, 0.55, 1e-15);
  EXPECT_NEAR(m.f1_macro, 0.4999999999999999, 1e-15);
  EXPECT_NEAR(m.precision_weighted, 0.5257936507936507, 1e-15);
  EXPECT_NEAR(m.recall_weighted, 0.6111111111111112, 1e-15);
  EXPECT_NEAR(m.f1_weighted, 0.5555555555555556, 1e-15);
  EXPECT_DOUBLE_EQ(m.precision, m.precision_macro);  // headline = macro for C > 2
  EXPECT_NEAR(*m.auroc_macro.value, 0.8961538461538462, 1e-15);
  EXPECT_NEAR(*m.auroc_weighted.value, 0.8846153846153846, 1e-15);
  EXPECT_DOUBLE_EQ(*m.auroc.value, *m.auroc_macro.value);
  // zero_division made explicit: class 3 was never predicted.
  EXPECT_TRUE(has_warning(m, "precision of class 3 is undefined (no predicted samples)"));
  EXPECT_EQ(m.warnings.size(), 1u);
}

TEST(metricsMulticlass, ThreeClassesAllPredicted) {
  const auto m = evaluate(kMc3Truth, rows_from_weights(kMc3Weights), no_bootstrap());
  EXPECT_EQ(m.confusion, (Matrix{{3, 1, 0}, {1, 2, 1}, {1, 1, 2}}));
  EXPECT_NEAR(m.accuracy, 0.5833333333333334, 1e-15);
  EXPECT_NEAR(m.precision_macro, 0.5888888888888889, 1e-15);
  EXPECT_NEAR(m.recall_macro, 0.5833333333333334, 1e-15);
  EXPECT_NEAR(m.f1_macro, 0.5793650793650794, 1e-15);
  // Equal supports (4, 4, 4): weighted equals macro.
  EXPECT_NEAR(m.precision_weighted, 0.5888888888888889, 1e-15);
  EXPECT_NEAR(m.f1_weighted, 0.5793650793650794, 1e-15);
  EXPECT_NEAR(*m.per_class[0].auroc.value, 0.9375, 1e-15);
  EXPECT_NEAR(*m.per_class[1].auroc.value, 0.875, 1e-15);
  EXPECT_NEAR(*m.per_class[2].auroc.value, 0.921875, 1e-15);
  EXPECT_NEAR(*m.auroc_macro.value, 0.9114583333333334, 1e-15);
  EXPECT_TRUE(m.warnings.empty());
}

TEST(metricsMulticlass, HeadlineFieldsAreExactlyTheMacroAverages) {
  // docs/metrics.md: multiclass headline fields are the macro averages. They were computed twice,
  // as (p0 + p1 + p2) / 3 and as p0/3 + p1/3 + p2/3, which differ in the last digit for about a
  // third of all inputs: one report printed two values for the same average.
  for (const auto& [truth, weights] : {std::pair{kMc3Truth, kMc3Weights}, std::pair{kMc4Truth, kMc4Weights}}) {
    const auto m = evaluate(truth, rows_from_weights(weights), no_bootstrap());
    EXPECT_EQ(m.precision, m.precision_macro);
    EXPECT_EQ(m.recall, m.recall_macro);
    EXPECT_EQ(m.f1, m.f1_macro);
  }
  // Per-class precisions 1/3, 1/2, 1/5 (a case where the two sums differ).
  const std::vector<int> truth = {0, 1, 1, 0, 1, 2, 0, 0, 0, 1};
  const std::vector<int> predicted = {0, 0, 0, 1, 1, 2, 2, 2, 2, 2};
  const auto m = evaluate(truth, predicted, Rows(truth.size(), {0.2, 0.3, 0.5}), no_bootstrap());
  EXPECT_EQ(m.precision, m.precision_macro);
  EXPECT_EQ(m.precision_macro, (1.0 / 3 + 1.0 / 2 + 1.0 / 5) / 3);
  EXPECT_EQ(m.recall, m.recall_macro);
  EXPECT_EQ(m.f1, m.f1_macro);
}

TEST(metricsMulticlass, ExplicitPredictionsOverrideArgmax) {
  // Same probabilities as the 3-class set, but predictions all class 0: by hand, class 0
  // precision 4/12, recall 1; classes 1 and 2 precision 0 (zero_division) and recall 0.
  const std::vector<int> pred(kMc3Truth.size(), 0);
  const auto m = evaluate(kMc3Truth, pred, rows_from_weights(kMc3Weights), no_bootstrap());
  EXPECT_EQ(m.confusion, (Matrix{{4, 0, 0}, {4, 0, 0}, {4, 0, 0}}));
  EXPECT_NEAR(m.per_class[0].precision, 4.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.precision_macro, 4.0 / 36.0, 1e-15);
  EXPECT_NEAR(m.recall_macro, 1.0 / 3.0, 1e-15);
  EXPECT_TRUE(has_warning(m, "precision of class 1"));
  EXPECT_TRUE(has_warning(m, "precision of class 2"));
  // AUROC depends on the scores only, not on the predictions.
  EXPECT_NEAR(*m.auroc_macro.value, 0.9114583333333334, 1e-15);
}

TEST(metricsAuroc, BinaryWithAndWithoutTies) {
  // scikit-learn's documented example: 0.75.
  EXPECT_DOUBLE_EQ(*auroc_binary({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}).value, 0.75);
  // All scores tied: the ROC curve is the diagonal, 1/2.
  EXPECT_DOUBLE_EQ(*auroc_binary({0, 1, 0, 1, 1, 0}, std::vector<double>(6, 0.5)).value, 0.5);
  // reference_values.py: 19/24 (ties at 0.3 across classes and at 0.7).
  EXPECT_DOUBLE_EQ(*auroc_binary({1, 0, 1, 0, 1, 0, 0}, {0.9, 0.3, 0.3, 0.3, 0.7, 0.7, 0.1}).value,
                   19.0 / 24.0);
  // Perfect and reversed separation.
  EXPECT_DOUBLE_EQ(*auroc_binary({0, 0, 1}, {0.1, 0.2, 0.3}).value, 1.0);
  EXPECT_DOUBLE_EQ(*auroc_binary({0, 0, 1}, {0.3, 0.2, 0.1}).value, 0.0);
  // Other labels than 0/1: positive vs the rest.
  EXPECT_DOUBLE_EQ(*auroc_binary({5, 2, 7, 2}, {0.1, 0.9, 0.2, 0.8}, 2).value, 1.0);
}

TEST(metricsAuroc, SingleClassIsUndefinedWithReason) {
  const MetricValue a = auroc_binary({1, 1, 1}, {0.2, 0.5, 0.9});
  EXPECT_FALSE(a.defined());
  EXPECT_NE(a.reason.find("only one class"), std::string::npos) << a.reason;
  const MetricValue b = auroc_binary({0, 0}, {0.2, 0.5});
  EXPECT_FALSE(b.defined());
  EXPECT_NE(b.reason.find("no positive samples"), std::string::npos) << b.reason;
}

TEST(metricsAuroc, OneVsRestMatchesEvaluate) {
  const auto r = auroc_one_vs_rest(kMc3Truth, rows_from_weights(kMc3Weights));
  ASSERT_EQ(r.per_class.size(), 3u);
  EXPECT_NEAR(*r.per_class[1].value, 0.875, 1e-15);
  EXPECT_NEAR(*r.macro.value, 0.9114583333333334, 1e-15);
  EXPECT_NEAR(*r.weighted.value, 0.9114583333333334, 1e-15);
}

TEST(metricsAuroc, OneVsRestUndefinedWhenAClassIsAbsentFromTruth) {
  // Drop every true class-2 image from the 3-class set: class 2's one-vs-rest AUROC has no
  // positives, so the averages are undefined (roc_auc_score(multi_class="ovr") refuses too),
  // while the other classes' AUROCs still exist.
  std::vector<int> truth;
  Rows rows;
  const Rows all = rows_from_weights(kMc3Weights);
  for (std::size_t i = 0; i < kMc3Truth.size(); ++i) {
    if (kMc3Truth[i] == 2) continue;
    truth.push_back(kMc3Truth[i]);
    rows.push_back(all[i]);
  }
  MetricsOptions opts;
  opts.bootstrap_resamples = 50;
  const auto m = evaluate(truth, rows, opts);
  EXPECT_FALSE(m.auroc.defined());
  EXPECT_FALSE(m.auroc_weighted.defined());
  EXPECT_NE(m.auroc.reason.find("class 2"), std::string::npos) << m.auroc.reason;
  EXPECT_TRUE(m.per_class[0].auroc.defined());
  EXPECT_FALSE(m.per_class[2].auroc.defined());
  EXPECT_TRUE(has_warning(m, "recall of class 2 is undefined (no true samples)"));
  EXPECT_TRUE(has_warning(m, "one-vs-rest AUROC is undefined for class 2"));
  // Every bootstrap replicate lacks class 2 too: the interval is undefined and says why.
  EXPECT_FALSE(m.auroc_ci.defined());
  EXPECT_EQ(m.auroc_ci.skipped, 50u);
  EXPECT_NE(m.auroc_ci.reason.find("undefined in all 50"), std::string::npos) << m.auroc_ci.reason;
}

TEST(metricsEdgeCases, SingleClassTestSet) {
  // Every image is "yes" and predicted "yes": accuracy 1, precision/recall of "yes" 1, AUROC
  // undefined with a reason (not NaN), class 0 warnings for zero_division.
  const std::vector<int> truth = {1, 1, 1, 1};
  const Rows rows = {{0.2, 0.8}, {0.1, 0.9}, {0.4, 0.6}, {0.3, 0.7}};
  MetricsOptions opts;
  opts.bootstrap_resamples = 20;
  const auto m = evaluate(truth, rows, opts);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_FALSE(m.auroc.defined());
  EXPECT_NE(m.auroc.reason.find("AUROC of class 1 is undefined"), std::string::npos)
      << m.auroc.reason;
  EXPECT_TRUE(has_warning(m, "AUROC of class 1 is undefined"));
  EXPECT_TRUE(has_warning(m, "recall of class 0 is undefined"));
  EXPECT_TRUE(has_warning(m, "precision of class 0 is undefined"));
  EXPECT_FALSE(m.auroc_ci.defined());
  EXPECT_EQ(m.auroc_ci.skipped, 20u);
  ASSERT_TRUE(m.precision_ci.defined());  // precision is defined in every replicate
  EXPECT_DOUBLE_EQ(*m.precision_ci.lower, 1.0);
}

TEST(metricsEdgeCases, PositiveClassNeverPredicted) {
  // The model says "no" for everything: precision of "yes" is 0 by zero_division, with a
  // warning naming the class; recall 0; AUROC still defined from the scores.
  const std::vector<int> truth = {0, 1, 0, 1};
  const Rows rows = {{0.9, 0.1}, {0.6, 0.4}, {0.8, 0.2}, {0.7, 0.3}};
  MetricsOptions opts;
  opts.bootstrap_resamples = 30;
  opts.class_names = {"no", "yes"};
  const auto m = evaluate(truth, rows, opts);
  EXPECT_DOUBLE_EQ(m.precision, 0.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.0);
  EXPECT_TRUE(has_warning(m, "precision of class 1 ('yes') is undefined (no predicted samples)"));
  EXPECT_TRUE(has_warning(m, "bootstrap: in 30 of 30 replicates class 1 ('yes') had no predicted"));
  EXPECT_DOUBLE_EQ(*m.auroc.value, 1.0);  // by hand: both positives score above both negatives
}

TEST(metricsEdgeCases, EmptyInput) {
  EXPECT_NE(error_of([] { evaluate({}, Rows{}); }).find("empty input"), std::string::npos);
  EXPECT_NE(error_of([] { auroc_binary({}, {}); }).find("empty input"), std::string::npos);
  EXPECT_NE(error_of([] { confusion_matrix({}, {}, 2); }).find("empty input"), std::string::npos);
}

TEST(metricsEdgeCases, MismatchedLengths) {
  const std::string e1 = error_of([] { evaluate({0, 1, 1}, Rows{{0.5, 0.5}, {0.2, 0.8}}); });
  EXPECT_NE(e1.find("mismatched lengths: 3 true labels but 2 probability rows"), std::string::npos)
      << e1;
  const std::string e2 =
      error_of([] { evaluate({0, 1}, std::vector<int>{0}, Rows{{0.5, 0.5}, {0.2, 0.8}}); });
  EXPECT_NE(e2.find("1 predicted labels"), std::string::npos) << e2;
  const std::string e3 = error_of([] { evaluate({0, 1}, Rows{{0.5, 0.5}, {0.2, 0.3, 0.5}}); });
  EXPECT_NE(e3.find("image 1 has 3 probabilities"), std::string::npos) << e3;
  EXPECT_NE(error_of([] { auroc_binary({0, 1}, {0.5}); }).find("mismatched"), std::string::npos);
}

TEST(metricsEdgeCases, LabelsOutOfRange) {
  const Rows rows = {{0.5, 0.5}, {0.2, 0.8}, {0.9, 0.1}};
  const std::string e1 = error_of([&] { evaluate({0, 2, 1}, rows); });
  EXPECT_NE(e1.find("true label of image 1 is 2, outside [0, 2)"), std::string::npos) << e1;
  const std::string e2 = error_of([&] { evaluate({0, 1, -1}, rows); });
  EXPECT_NE(e2.find("true label of image 2 is -1"), std::string::npos) << e2;
  const std::string e3 = error_of([&] { evaluate({0, 1, 1}, std::vector<int>{0, 5, 1}, rows); });
  EXPECT_NE(e3.find("predicted label of image 1 is 5"), std::string::npos) << e3;
  EXPECT_NE(error_of([] { confusion_matrix({0, 3}, {0, 1}, 3); }).find("true label of image 1"),
            std::string::npos);
}

TEST(metricsEdgeCases, NaNAndNonProbabilityScores) {
  const double nan = std::nan("");
  const std::string e1 = error_of([&] { evaluate({0, 1}, Rows{{0.5, 0.5}, {nan, 0.5}}); });
  EXPECT_NE(e1.find("score of image 1, class 0 is not finite"), std::string::npos) << e1;
  const std::string e2 = error_of([&] { auroc_binary({0, 1}, {0.5, nan}); });
  EXPECT_NE(e2.find("score of image 1 is not finite"), std::string::npos) << e2;
  const std::string e3 = error_of([] { evaluate({0, 1}, Rows{{2.0, -1.0}, {0.5, 0.5}}); });
  EXPECT_NE(e3.find("negative"), std::string::npos) << e3;
  const std::string e4 = error_of([] { evaluate({0, 1}, Rows{{3.0, 1.0}, {0.5, 0.5}}); });
  EXPECT_NE(e4.find("image 0 sum to 4, not 1"), std::string::npos) << e4;
  EXPECT_NE(error_of([] { evaluate({0, 1}, Rows{{1.0}, {1.0}}); }).find("at least 2 classes"),
            std::string::npos);
}

TEST(metricsEdgeCases, BadOptions) {
  const Rows rows3 = rows_from_weights(kMc3Weights);
  MetricsOptions opts;
  opts.positive_class = 1;
  const std::string e1 = error_of([&] { evaluate(kMc3Truth, rows3, opts); });
  EXPECT_NE(e1.find("positive_class applies to binary tasks only"), std::string::npos) << e1;
  opts.positive_class = 2;
  EXPECT_NE(error_of([&] { evaluate(kBinTruth, binary_rows(), opts); }).find("outside [0, 2)"),
            std::string::npos);
  MetricsOptions conf;
  conf.confidence = 1.5;
  EXPECT_NE(error_of([&] { evaluate(kBinTruth, binary_rows(), conf); }).find("confidence"),
            std::string::npos);
  MetricsOptions names;
  names.class_names = {"a", "b", "c"};
  EXPECT_NE(error_of([&] { evaluate(kBinTruth, binary_rows(), names); }).find("3 class names"),
            std::string::npos);
}

TEST(metricsBootstrap, MatchesIndependentPythonImplementation) {
  // reference_values.py, bootstrap_binary(): 200 resamples, seed 7, 95%, on the binary set.
  // Python draws the same indices (mt19937_64 from the standard, splitmix64 seeding, rejection
  // sampling) but computes the metrics on explicit resampled lists and AUROC by trapezoid.
  MetricsOptions opts;
  opts.bootstrap_resamples = 200;
  opts.seed = 7;
  const auto m = evaluate(kBinTruth, binary_rows(), opts);
  EXPECT_EQ(m.precision_ci.method, "percentile-bootstrap");
  EXPECT_EQ(m.precision_ci.resamples, 200u);
  EXPECT_NEAR(*m.precision_ci.lower, 0.4991666666666668, 1e-12);
  EXPECT_NEAR(*m.precision_ci.upper, 1.0, 1e-12);
  EXPECT_NEAR(*m.recall_ci.lower, 0.45454545454545453, 1e-12);
  EXPECT_NEAR(*m.recall_ci.upper, 1.0, 1e-12);
  EXPECT_NEAR(*m.f1_ci.lower, 0.5, 1e-12);
  EXPECT_NEAR(*m.f1_ci.upper, 0.9230769230769231, 1e-12);
  EXPECT_NEAR(*m.auroc_ci.lower, 0.5151060606060606, 1e-12);
  EXPECT_NEAR(*m.auroc_ci.upper, 0.9697045454545454, 1e-12);
  EXPECT_EQ(m.auroc_ci.skipped, 0u);
}

TEST(metricsBootstrap, DeterministicWithSeedAndThreadCount) {
  MetricsOptions opts;
  opts.bootstrap_resamples = 300;
  opts.seed = 123;
  const Rows rows = rows_from_weights(kMc4Weights);
  const auto a = evaluate(kMc4Truth, rows, opts);
  const auto b = evaluate(kMc4Truth, rows, opts);
  ThreadPool pool(2);
  opts.pool = &pool;
  const auto c = evaluate(kMc4Truth, rows, opts);
  for (const auto* m : {&b, &c}) {
    EXPECT_EQ(*m->precision_ci.lower, *a.precision_ci.lower);
    EXPECT_EQ(*m->precision_ci.upper, *a.precision_ci.upper);
    EXPECT_EQ(*m->f1_ci.lower, *a.f1_ci.lower);
    EXPECT_EQ(*m->auroc_ci.lower, *a.auroc_ci.lower);
    EXPECT_EQ(*m->auroc_ci.upper, *a.auroc_ci.upper);
    EXPECT_EQ(m->auroc_ci.skipped, a.auroc_ci.skipped);
  }
  opts.seed = 124;
  const auto d = evaluate(kMc4Truth, rows, opts);
  EXPECT_TRUE(*d.auroc_ci.lower != *a.auroc_ci.lower || *d.auroc_ci.upper != *a.auroc_ci.upper ||
              *d.f1_ci.lower != *a.f1_ci.lower)
      << "a different seed should give different replicates";
}

TEST(metricsBootstrap, IntervalsContainThePointEstimate) {
  // A larger synthetic binary set (deterministic, no ties by construction except where noted):
  // the percentile intervals bracket the point estimates and narrow as resamples are drawn
  // from more data.
  std::vector<int> truth;
  Rows rows;
  for (int i = 0; i < 400; ++i) {
    const int y = (i * 7) % 3 == 0 ? 1 : 0;
    // A score that is informative but noisy: depends on the label and on a hash of i.
    const double noise = static_cast<double>((i * 2654435761u) % 1000) / 1000.0;
    const double p = std::min(0.999, std::max(0.001, 0.35 * y + 0.65 * noise));
    truth.push_back(y);
    rows.push_back({1 - p, p});
  }
  MetricsOptions opts;  // default: 1000 resamples, 95%
  const auto m = evaluate(truth, rows, opts);
  EXPECT_EQ(m.auroc_ci.resamples, 1000u);
  for (auto [name, value, iv] :
       {std::tuple{"precision", m.precision, m.precision_ci},
        std::tuple{"recall", m.recall, m.recall_ci}, std::tuple{"f1", m.f1, m.f1_ci},
        std::tuple{"auroc", *m.auroc.value, m.auroc_ci}}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(iv.defined()) << iv.reason;
    EXPECT_LE(*iv.lower, value);
    EXPECT_GE(*iv.upper, value);
    EXPECT_LT(*iv.upper - *iv.lower, 0.3);  // 400 images: a few points wide, not degenerate
    EXPECT_GT(*iv.upper - *iv.lower, 0.01);
  }
}

TEST(metricsHelpers, ArgmaxAndSoftmax) {
  EXPECT_EQ(argmax({0.1, 0.7, 0.2}), 1);
  EXPECT_EQ(argmax({0.4, 0.4, 0.2}), 0);  // ties: lowest index, as numpy.argmax
  EXPECT_THROW(argmax({}), Error);
  EXPECT_THROW(argmax({0.1, std::nan("")}), Error);
  // By hand: softmax(0, ln 3) = (1/4, 3/4); shift-invariant for large logits.
  const auto s = softmax({0.0, std::log(3.0)});
  EXPECT_NEAR(s[0], 0.25, 1e-15);
  EXPECT_NEAR(s[1], 0.75, 1e-15);
  const auto big = softmax({1000.0, 1000.0 + std::log(3.0)});
  EXPECT_NEAR(big[1], 0.75, 1e-12);
  EXPECT_THROW(softmax({1.0, INFINITY}), Error);
}

}  // namespace
// The ROC curve's trapezoid area is the AUROC (ties as one diagonal step); undefined with a
// reason when a group is missing.
TEST(metricsRoc, CurveAreaIsTheAuroc) {
  const std::vector<int> truth = {0, 1, 1, 0, 1, 0, 0, 1, 1, 0};
  const std::vector<double> scores = {0.1, 0.9, 0.4, 0.4, 0.8, 0.3, 0.6, 0.4, 0.2, 0.05};
  const RocCurve c = roc_curve(truth, scores, 1);
  ASSERT_TRUE(c.defined());
  ASSERT_EQ(c.fpr.size(), c.tpr.size());
  EXPECT_EQ(c.fpr.front(), 0.0);
  EXPECT_EQ(c.tpr.front(), 0.0);
  EXPECT_EQ(c.fpr.back(), 1.0);
  EXPECT_EQ(c.tpr.back(), 1.0);
  EXPECT_EQ(c.fpr.size(), 9u);  // (0,0) + 8 distinct scores
  double area = 0;
  for (std::size_t i = 1; i < c.fpr.size(); ++i) area += (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2;
  EXPECT_NEAR(area, *auroc_binary(truth, scores, 1).value, 1e-12);
  const RocCurve none = roc_curve({1, 1, 1}, {0.2, 0.3, 0.4}, 1);
  EXPECT_FALSE(none.defined());
  EXPECT_EQ(none.reason, "no image outside the positive class");
}

}  // namespace hemi::metrics
