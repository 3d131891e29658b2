// Tests of statistics.h. Expected values come from tests/metrics/reference_values.py (run with
// python3; section "wilson", "mcnemar", "folds"): the Wilson interval from its formula with z
// from Python's statistics.NormalDist().inv_cdf, McNemar from math.comb in exact fractions,
// the fold summary from statistics.mean / statistics.stdev. Hand checks are noted inline.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "hemi/base/error.h"
#include "hemi/metrics/statistics.h"

namespace hemi::metrics {
namespace {

TEST(metricsNormalQuantile, MatchesPythonNormalDist) {
  // statistics.NormalDist().inv_cdf(p), Python 3.11.
  EXPECT_NEAR(normal_quantile(0.975), 1.9599639845400536, 1e-13);
  EXPECT_NEAR(normal_quantile(0.995), 2.5758293035489, 1e-13);
  EXPECT_NEAR(normal_quantile(0.05), -1.6448536269514726, 1e-13);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-11);
  EXPECT_DOUBLE_EQ(normal_quantile(0.5), 0.0);
  EXPECT_THROW(normal_quantile(0.0), Error);
  EXPECT_THROW(normal_quantile(1.0), Error);
  EXPECT_THROW(normal_quantile(std::nan("")), Error);
}

TEST(metricsWilson, KnownValues) {
  struct Case {
    std::size_t s, n;
    double confidence, lower, upper;
  };
  // reference_values.py, section "wilson".
  const Case cases[] = {
      {45, 51, 0.95, 0.7661915568567753, 0.9449492632208182},  // 88.24% of 51
      {0, 10, 0.95, 0.0, 0.27753279986288915},  // Python: 2.8e-17 (rounding), exactly 0 in theory
      {10, 10, 0.95, 0.7224672001371109, 1.0},
      {1, 2, 0.95, 0.09453120573423074, 0.9054687942657693},
      {45, 51, 0.90, 0.788254483481687, 0.9379275359468117},
      {950, 1000, 0.99, 0.9290930273094662, 0.9649749242774674},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.s) + "/" + std::to_string(c.n) + " @ " +
                 std::to_string(c.confidence));
    const Interval iv = wilson_interval(c.s, c.n, c.confidence);
    ASSERT_TRUE(iv.defined());
    EXPECT_NEAR(*iv.lower, c.lower, 1e-12);
    EXPECT_NEAR(*iv.upper, c.upper, 1e-12);
    EXPECT_EQ(iv.method, "wilson");
    EXPECT_DOUBLE_EQ(iv.confidence, c.confidence);
  }
}

TEST(metricsWilson, ContainsEstimateAndNarrowsWithN) {
  // Hand reasoning: the Wilson interval always contains p-hat, and for the same proportion it
  // shrinks as n grows.
  const Interval small = wilson_interval(9, 10);
  const Interval large = wilson_interval(900, 1000);
  EXPECT_LT(*small.lower, 0.9);
  EXPECT_GT(*small.upper, 0.9);
  EXPECT_GT(*large.lower, *small.lower);
  EXPECT_LT(*large.upper, *small.upper);
}

TEST(metricsWilson, AllOrNothingHitsTheBoundExactly) {
  // The exact Wilson bounds are 0 for no successes and 1 for all (center -/+ half simplifies to
  // them); in floating point the formula gave e.g. [2.8e-17, ...] for 0 of 10 and
  // [..., 0.9999999999999999] for 13 of 13, which a report prints as "not quite 100 %".
  for (std::size_t n = 1; n <= 2000; ++n) {
    for (double confidence : {0.9, 0.95, 0.99}) {
      EXPECT_EQ(*wilson_interval(0, n, confidence).lower, 0.0) << "0 of " << n;
      EXPECT_EQ(*wilson_interval(n, n, confidence).upper, 1.0) << n << " of " << n;
    }
  }
}

TEST(metricsWilson, RejectsBadArguments) {
  EXPECT_THROW(wilson_interval(0, 0), Error);
  EXPECT_THROW(wilson_interval(11, 10), Error);
  EXPECT_THROW(wilson_interval(5, 10, 1.0), Error);
  EXPECT_THROW(wilson_interval(5, 10, 0.0), Error);
  try {
    wilson_interval(11, 10);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceed"), std::string::npos) << e.what();
  }
}

TEST(metricsMcNemar, ExactPValues) {
  struct Case {
    std::size_t b, c;
    double p;
  };
  // reference_values.py, section "mcnemar" (exact fractions from math.comb). Hand checks:
  // (5,0): 2 / 2^5 = 0.0625; (10,2): 2 (1 + 12 + 66) / 4096 = 0.03857421875;
  // (0,30): 2 / 2^30.
  const Case cases[] = {
      {0, 0, 1.0},
      {1, 0, 1.0},
      {5, 0, 0.0625},
      {10, 2, 0.03857421875},
      {2, 10, 0.03857421875},
      {3, 3, 1.0},
      {100, 70, 0.02584438758134169},
      {6, 14, 0.11531829833984375},
      {2000, 1900, 0.11289365225934889},
      {0, 30, 1.862645149230957e-09},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("b=" + std::to_string(c.b) + " c=" + std::to_string(c.c));
    const double p = mcnemar_exact(c.b, c.c);
    EXPECT_NEAR(p, c.p, 1e-12 * std::max(1.0, c.p));
    EXPECT_NEAR(p / c.p, 1.0, 1e-9);  // relative, for the tiny ones
  }
}

TEST(metricsPercentile, LinearInterpolationLikeNumpy) {
  // By hand: positions q * (n - 1) on {1, 2, 3, 4}: q = 0.25 -> 1.75, q = 0.5 -> 2.5.
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({7}, 0.3), 7.0);
  EXPECT_THROW(percentile_sorted({}, 0.5), Error);
  EXPECT_THROW(percentile_sorted(v, 1.5), Error);
}

TEST(metricsFolds, MeanAndSampleStd) {
  // reference_values.py, section "folds": statistics.mean and statistics.stdev (divisor k-1).
  const FoldSummary s = summarize_folds({0.9, 0.85, 0.95, 0.8, 0.9});
  EXPECT_EQ(s.folds, 5u);
  EXPECT_NEAR(s.mean, 0.88, 1e-15);
  ASSERT_TRUE(s.std_dev.defined());
  EXPECT_NEAR(*s.std_dev.value, 0.057008771254956875, 1e-15);
  EXPECT_DOUBLE_EQ(s.min, 0.8);
  EXPECT_DOUBLE_EQ(s.max, 0.95);
  EXPECT_EQ(s.values, (std::vector<double>{0.9, 0.85, 0.95, 0.8, 0.9}));
}

TEST(metricsFolds, IdenticalFoldsHaveZeroStd) {
  // statistics.stdev([0.1] * 3) == 0.0; the mean of three 0.1 is 0.10000000000000002 in
  // floating point, which left a standard deviation of 1.7e-17 ("0.9 ± 0.0000000000000000170").
  for (double v : {0.1, 0.7, 0.91, 1.0 / 3}) {
    for (std::size_t k : {2u, 3u, 5u, 10u}) {
      const FoldSummary s = summarize_folds(std::vector<double>(k, v));
      EXPECT_EQ(*s.std_dev.value, 0.0) << k << " folds of " << v;
      EXPECT_EQ(s.mean, v) << k << " folds of " << v;
    }
  }
}

TEST(metricsFolds, SingleFoldHasNoStd) {
  const FoldSummary s = summarize_folds({0.7});
  EXPECT_DOUBLE_EQ(s.mean, 0.7);
  EXPECT_FALSE(s.std_dev.defined());
  EXPECT_NE(s.std_dev.reason.find("at least 2 folds"), std::string::npos) << s.std_dev.reason;
}

TEST(metricsFolds, RejectsEmptyAndNaN) {
  EXPECT_THROW(summarize_folds({}), Error);
  try {
    summarize_folds({0.5, std::nan(""), 0.6});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fold 1"), std::string::npos) << e.what();
  }
}

TEST(metricsIndexSampler, DeterministicInRangeAndUniformEnough) {
  IndexSampler a(42), b(42), c(43);
  std::vector<std::size_t> seq_a, seq_b, seq_c;
  for (int i = 0; i < 1000; ++i) {
    seq_a.push_back(a.next(7));
    seq_b.push_back(b.next(7));
    seq_c.push_back(c.next(7));
  }
  EXPECT_EQ(seq_a, seq_b);
  EXPECT_NE(seq_a, seq_c);
  std::vector<int> hist(7, 0);
  for (std::size_t v : seq_a) {
    ASSERT_LT(v, 7u);
    ++hist[v];
  }
  // 1000 draws over 7 values: expected 142.9 each, sd ~11; 5 sd bounds.
  for (int h : hist) {
    EXPECT_GT(h, 85);
    EXPECT_LT(h, 200);
  }
}

TEST(metricsIndexSampler, FollowsMt19937_64) {
  // The sampler returns x % n for the engine's outputs x below the largest multiple of n that
  // fits in 64 bits. For n = 2^32 that rejects only x >= 2^64 - 2^32 (probability 2^-32), so
  // these draws are the engine's outputs mod 2^32; std::mt19937_64 is specified exactly by the
  // standard, so this pins the sequence across standard libraries.
  IndexSampler s(5489);
  std::mt19937_64 engine(5489);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(s.next(std::size_t{1} << 32), engine() % (std::uint64_t{1} << 32));
  }
}

}  // namespace
}  // namespace hemi::metrics
