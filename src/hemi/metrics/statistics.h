// Statistics used by the metrics layer: the Wilson score interval, McNemar's exact test,
// percentiles, k-fold summaries and the deterministic bootstrap index sampler.
// All functions are pure and thread-safe. Bad arguments throw hemi::Error naming the function
// and the values. Definitions and references: docs/metrics.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hemi/metrics/value.h"

namespace hemi::metrics {

// The standard normal quantile Phi^{-1}(p) for p in (0, 1), accurate to about 1e-14.
double normal_quantile(double p);

// The Wilson score interval for a binomial proportion successes / n at the given two-sided
// confidence (e.g. 0.95, z = 1.959964). Throws if n == 0, successes > n, or confidence is not
// in (0, 1).
Interval wilson_interval(std::size_t successes, std::size_t n, double confidence = 0.95);

// McNemar's exact test: the two-sided binomial test of the discordant pairs b and c against
// p = 1/2, p = min(1, 2 * sum_{i <= min(b,c)} C(b+c, i) / 2^(b+c)); 1 when b + c == 0.
double mcnemar_exact(std::size_t b, std::size_t c);

// The q-quantile (q in [0, 1]) of `sorted` (ascending, non-empty) with linear interpolation
// between order statistics at position q * (n - 1) (numpy.percentile's default).
double percentile_sorted(const std::vector<double>& sorted, double q);

// k-fold aggregation: mean and sample standard deviation (divisor k - 1) of per-fold values,
// with the values themselves. `std_dev` is undefined for a single fold.
struct FoldSummary {
  std::vector<double> values;
  std::size_t folds = 0;
  double mean = 0;
  MetricValue std_dev;
  double min = 0;
  double max = 0;
};
// Throws on an empty list or a non-finite value.
FoldSummary summarize_folds(const std::vector<double>& values);

// Uniform indices in [0, n) from std::mt19937_64 by rejection sampling, so the sequence is the
// same with every standard library (std::uniform_int_distribution is not specified exactly).
// Not thread-safe: one sampler per thread.
class IndexSampler {
 public:
  explicit IndexSampler(std::uint64_t seed) : engine_(seed) {}
  std::size_t next(std::size_t n);  // n > 0

 private:
  std::mt19937_64 engine_;
};

}  // namespace hemi::metrics
