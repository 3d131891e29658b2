#include "hemi/bfv/noise.h"

#include <algorithm>
#include <cmath>

#include "hemi/ring/sampling.h"

namespace hemi::bfv {

namespace {
// log2(2^a + 2^b)
double log_add(double a, double b) {
  if (a < b) std::swap(a, b);
  if (std::isinf(b)) return a;
  return a + std::log2(1 + std::exp2(b - a));
}
}  // namespace

// Fresh public: t/Q (e0 + e u + e1 s + eps), |eps| <= 1/2 the rounding of Q m / t, so
// ||v|| <= t (B (2N + 1) + 1/2) / Q.
double NoiseEstimator::fresh_public(std::size_t level) const {
  const double n = static_cast<double>(params_.n()), t = static_cast<double>(params_.t().value);
  const double b = ring::detail::kErrorBound;
  return std::log2(t * (b * (2 * n + 1) + 0.5)) - params_.log2_q(level);
}

// Fresh symmetric: t/Q (e + eps): ||v|| <= t (B + 1/2) / Q.
double NoiseEstimator::fresh_symmetric(std::size_t level) const {
  const double t = static_cast<double>(params_.t().value), b = ring::detail::kErrorBound;
  return std::log2(t * (b + 0.5)) - params_.log2_q(level);
}

double NoiseEstimator::add(double a, double b) const { return log_add(a, b); }

double NoiseEstimator::multiply_plain(double a, double max_coeff) const {
  return a + std::log2(std::max(1.0, static_cast<double>(params_.n()) * max_coeff));
}

double NoiseEstimator::multiply_const(double a, double k) const { return a + std::log2(std::max(1.0, std::fabs(k))); }

// With t/Q ct_i(s) = m_i + v_i + t a_i, ||a_i|| <= (N + 3) / 2 and ||m_i|| <= t/2, the product
// has v = m1 v2 + m2 v1 + v1 v2 + t (a1 v2 + a2 v1) + t/Q (rounding), so
// ||v|| <= N (t/2 + t (N + 3)/2) (v1 + v2) + N v1 v2 + t (1 + N + N^2) (3/2) / Q.
double NoiseEstimator::multiply(double a, double b, std::size_t level) const {
  const double n = static_cast<double>(params_.n()), t = static_cast<double>(params_.t().value);
  double r = std::log2(n * (t / 2 + t * (n + 3) / 2)) + log_add(a, b);
  r = log_add(r, std::log2(n) + a + b);
  return log_add(r, std::log2(t * (1 + n + n * n) * 1.5) - params_.log2_q(level));
}

// Hybrid key switching adds t/Q (sum_j d_j e_j / P + rounding): the digits d_j are below
// (alpha + 1) D (D the largest digit modulus, the fast base conversion's overflow included),
// so ||added|| <= t/Q (dnum (alpha + 1) D N B / P + (N + 1) / 2).
double NoiseEstimator::key_switch(double a, std::size_t level) const {
  const auto& ring = params_.ring();
  const double n = static_cast<double>(params_.n()), t = static_cast<double>(params_.t().value);
  const double b = ring::detail::kErrorBound;
  const std::size_t alpha = ring.digit_size(), dnum = (level + alpha) / alpha;
  double log_d = 0, log_p = 0;
  for (std::size_t j = 0; j < dnum; ++j) {
    double d = 0;
    for (std::size_t i = j * alpha; i < std::min((j + 1) * alpha, level + 1); ++i)
      d += std::log2(static_cast<double>(ring.q()[i].value));
    log_d = std::max(log_d, d);
  }
  for (const auto& p : ring.p()) log_p += std::log2(static_cast<double>(p.value));
  const double added = log_add(std::log2(dnum * (alpha + 1.0) * n * b) + log_d - log_p, std::log2((n + 1) / 2));
  return log_add(a, std::log2(t) + added - params_.log2_q(level));
}

// c' = round(c / q_l) = c / q_l + eps, |eps| <= 1/2 per coefficient, so
// t/Q_{l-1} c'(s) = t/Q_l c(s) + t/Q_{l-1} (eps0 + eps1 s): v' = v + t (1 + N) / (2 Q_{l-1}).
double NoiseEstimator::mod_switch(double a, std::size_t level) const {
  const double n = static_cast<double>(params_.n()), t = static_cast<double>(params_.t().value);
  return log_add(a, std::log2(t * (1 + n) / 2) - params_.log2_q(level - 1));
}

}  // namespace hemi::bfv
