// The accountant against an independent computation: a direct numerical evaluation of the
// RDP integral of the sampled Gaussian mechanism (no binomial expansion), then the same
// (ε, δ) conversion written out here.
#include "hemi/train/dp_accountant.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hemi/base/error.h"

namespace hemi::train {
namespace {

// log ∫ N(z; 0, σ²) ((1 − q) + q·exp((2z − 1) / (2σ²)))^α dz by the trapezoid rule in log
// space, over [−40σ, α + 40σ] (the integrand peaks near z = α for large α).
double log_rdp_integral(double q, double sigma, double alpha) {
  const double lo = -40 * sigma, hi = alpha + 40 * sigma, h = sigma / 400;
  const auto steps = static_cast<long>((hi - lo) / h);
  double m = -INFINITY, s = 0;  // running log-sum-exp
  for (long i = 0; i <= steps; ++i) {
    const double z = lo + h * static_cast<double>(i);
    const double t = (2 * z - 1) / (2 * sigma * sigma);
    const double a = std::log1p(-q), b = std::log(q) + t;
    const double log_mix = std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
    double f = -z * z / (2 * sigma * sigma) - std::log(sigma * std::sqrt(2 * M_PI)) + alpha * log_mix;
    if (i == 0 || i == steps) f += std::log(0.5);
    if (f > m) {
      s = s * std::exp(m - f) + 1;
      m = f;
    } else {
      s += std::exp(f - m);
    }
  }
  return m + std::log(s) + std::log(h);
}

double oracle_epsilon(double q, double sigma, long steps, double delta) {
  double best = INFINITY;
  for (int a : dp_orders()) {
    const double rdp = static_cast<double>(steps) * log_rdp_integral(q, sigma, a) / (a - 1);
    best = std::min(best, rdp + std::log((a - 1.0) / a) - (std::log(delta) + std::log(a)) / (a - 1));
  }
  return best;
}

TEST(DpAccountant, RdpMatchesNumericalIntegral) {
  for (double q : {0.001, 0.004267, 0.01, 0.1}) {
    for (double sigma : {0.7, 1.1, 2.0}) {
      for (int alpha : {2, 3, 8, 32, 64}) {
        double got = sampled_gaussian_rdp(q, sigma, alpha);
        double want = log_rdp_integral(q, sigma, alpha) / (alpha - 1);
        EXPECT_NEAR(got, want, 1e-3 * want + 1e-12) << "q " << q << " sigma " << sigma << " alpha " << alpha;
      }
    }
  }
}

TEST(DpAccountant, WithoutSamplingIsTheGaussianMechanism) {
  // q = 1: RDP of the Gaussian mechanism with sensitivity 1 is α / (2σ²) (Mironov 2017, Prop. 7).
  EXPECT_DOUBLE_EQ(sampled_gaussian_rdp(1.0, 2.0, 10), 10 / 8.0);
  EXPECT_NEAR(log_rdp_integral(0.999999, 2.0, 10) / 9, 10 / 8.0, 1e-3);
  EXPECT_EQ(sampled_gaussian_rdp(0.0, 1.0, 10), 0.0);
}

TEST(DpAccountant, EpsilonMatchesIndependentComputationTo1Percent) {
  struct Case {
    double q, sigma;
    long steps;
    double delta;
  };
  // MNIST-sized runs (n = 60000): batch 256 (q ≈ 0.00427) for 60 and 15 epochs at σ = 1.1, and
  // batch 256 at σ = 0.7 for 45 epochs (TensorFlow Privacy's tutorial settings); a small set.
  for (const Case& c : {Case{256.0 / 60000, 1.1, 60 * 234, 1e-5}, Case{256.0 / 60000, 1.1, 15 * 234, 1e-5},
                        Case{256.0 / 60000, 0.7, 45 * 234, 1e-5}, Case{32.0 / 200, 1.5, 20 * 6, 1.0 / 200}}) {
    double got = dp_epsilon(c.q, c.sigma, c.steps, c.delta).epsilon;
    double want = oracle_epsilon(c.q, c.sigma, c.steps, c.delta);
    EXPECT_NEAR(got, want, 0.01 * want) << "q " << c.q << " sigma " << c.sigma << " steps " << c.steps;
  }
}

TEST(DpAccountant, MonotoneInNoiseAndSteps) {
  EXPECT_GT(dp_epsilon(0.01, 1.0, 1000, 1e-5).epsilon, dp_epsilon(0.01, 1.5, 1000, 1e-5).epsilon);
  EXPECT_LT(dp_epsilon(0.01, 1.0, 100, 1e-5).epsilon, dp_epsilon(0.01, 1.0, 1000, 1e-5).epsilon);
  EXPECT_EQ(dp_epsilon(0.01, 1.0, 0, 1e-5).epsilon, 0.0);
}

TEST(DpAccountant, CalibratesNoiseToTarget) {
  for (double eps : {1.0, 3.0, 8.0}) {
    const double q = 256.0 / 60000;
    const long steps = 30 * 234;
    double sigma = dp_noise_for_epsilon(q, steps, eps, 1e-5);
    double spent = dp_epsilon(q, sigma, steps, 1e-5).epsilon;
    EXPECT_LE(spent, eps);
    EXPECT_GT(spent, 0.99 * eps) << "sigma " << sigma;
    EXPECT_GT(dp_epsilon(q, sigma * 0.995, steps, 1e-5).epsilon, eps);
  }
}

TEST(DpAccountant, RejectsBadArguments) {
  EXPECT_THROW(sampled_gaussian_rdp(1.5, 1.0, 2), Error);
  EXPECT_THROW(sampled_gaussian_rdp(0.1, 0.0, 2), Error);
  EXPECT_THROW(sampled_gaussian_rdp(0.1, 1.0, 1), Error);
  EXPECT_THROW(dp_epsilon(0.1, 1.0, 10, 0.0), Error);
  EXPECT_THROW(dp_epsilon(0.1, 1.0, 10, 1.0), Error);
  EXPECT_THROW(dp_epsilon(0.1, 1.0, -1, 1e-5), Error);
  EXPECT_THROW(dp_noise_for_epsilon(0.1, 10, -1.0, 1e-5), Error);
  EXPECT_THROW(dp_noise_for_epsilon(1.0, 100000, 1e-4, 1e-5), Error);  // out of reach
  EXPECT_THROW(rdp_to_dp({2, 3}, {0.1}, 1e-5), Error);
}

}  // namespace
}  // namespace hemi::train
