#include "hemi/metrics/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "hemi/base/error.h"

namespace hemi::metrics {

namespace {

// Standard normal CDF.
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    throw Error("normal_quantile: p must be in (0, 1), got " + std::to_string(p));
  }
  // Acklam's rational approximation (relative error < 1.15e-9), then two Newton steps on the
  // erfc-based CDF, which bring it to double precision.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - p_low) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double inv_sqrt_2pi = 0.3989422804014327;
  for (int step = 0; step < 2; ++step) {
    double density = inv_sqrt_2pi * std::exp(-0.5 * x * x);
    if (density <= 0) break;
    x -= (normal_cdf(x) - p) / density;
  }
  return x;
}

Interval wilson_interval(std::size_t successes, std::size_t n, double confidence) {
  if (n == 0) throw Error("wilson_interval: n must be > 0 (no trials)");
  if (successes > n) {
    throw Error("wilson_interval: successes (" + std::to_string(successes) +
                ") exceed trials (" + std::to_string(n) + ")");
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw Error("wilson_interval: confidence must be in (0, 1), got " + std::to_string(confidence));
  }
  const double z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double center = (p + z2 / (2 * nn)) / denom;
  const double half = z / denom * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  Interval iv;
  // The bounds are exactly 0 for no successes and 1 for all (center -/+ half simplifies to
  // them); the formula's rounding would leave 2.8e-17 or 0.9999999999999999 there.
  iv.lower = successes == 0 ? 0.0 : std::max(0.0, center - half);
  iv.upper = successes == n ? 1.0 : std::min(1.0, center + half);
  iv.confidence = confidence;
  iv.method = "wilson";
  return iv;
}

double mcnemar_exact(std::size_t b, std::size_t c) {
  const std::size_t n = b + c;
  if (n == 0) return 1.0;
  const std::size_t k = std::min(b, c);
  if (2 * k == n) return 1.0;  // b == c: the tail holds at least half the mass
  // Binomial(n, 1/2) lower tail P(X <= k). The terms grow with i for i <= k < n/2, so start
  // from the largest, t_k = C(n, k) / 2^n (in log space), and walk down with
  // t_{i-1} = t_i * i / (n - i + 1).
  const double nd = static_cast<double>(n);
  const double kd = static_cast<double>(k);
  const double log_tk =
      std::lgamma(nd + 1) - std::lgamma(kd + 1) - std::lgamma(nd - kd + 1) - nd * std::log(2.0);
  double term = std::exp(log_tk);
  double tail = 0.0;
  for (std::size_t i = k + 1; i-- > 0;) {
    tail += term;
    if (i == 0) break;
    term *= static_cast<double>(i) / static_cast<double>(n - i + 1);
    if (term < tail * 1e-18) break;  // the rest cannot change the sum
  }
  return std::min(1.0, 2.0 * tail);
}

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw Error("percentile_sorted: empty list");
  if (!(q >= 0.0 && q <= 1.0)) {
    throw Error("percentile_sorted: q must be in [0, 1], got " + std::to_string(q));
  }
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

FoldSummary summarize_folds(const std::vector<double>& values) {
  if (values.empty()) throw Error("summarize_folds: no fold values");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw Error("summarize_folds: fold " + std::to_string(i) + " value is not finite (" +
                  std::to_string(values[i]) + ")");
    }
  }
  FoldSummary s;
  s.values = values;
  s.folds = values.size();
  const double k = static_cast<double>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / k;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  // Identical folds: their mean is that value and their spread 0, exactly (summing three 0.1
  // gives a mean of 0.10000000000000002 and a standard deviation of 1.7e-17).
  if (s.min == s.max) s.mean = s.min;
  if (values.size() < 2) {
    s.std_dev = MetricValue::undefined("sample standard deviation needs at least 2 folds, got 1");
  } else {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std_dev = MetricValue::of(std::sqrt(ss / (k - 1)));
  }
  return s;
}

std::size_t IndexSampler::next(std::size_t n) {
  HEMI_ASSERT(n > 0);
  const std::uint64_t range = static_cast<std::uint64_t>(n);
  // Accept x < limit, the largest multiple of range that fits, so x % range is uniform.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % range;
  std::uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return static_cast<std::size_t>(x % range);
}

}  // namespace hemi::metrics
