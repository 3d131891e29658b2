#include "hemi/train/dp_accountant.h"

#include <cmath>
#include <limits>
#include <string>

#include "hemi/base/error.h"

namespace hemi::train {
namespace {

double log_add(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

void check_rate_noise(double q, double sigma, const char* what) {
  if (!(q >= 0 && q <= 1)) throw Error(std::string(what) + ": sampling rate must be in [0, 1], got " + std::to_string(q));
  if (!(sigma > 0) || !std::isfinite(sigma))
    throw Error(std::string(what) + ": noise multiplier must be positive, got " + std::to_string(sigma));
}

void check_delta(double delta, const char* what) {
  if (!(delta > 0 && delta < 1)) throw Error(std::string(what) + ": delta must be in (0, 1), got " + std::to_string(delta));
}

}  // namespace

std::vector<int> dp_orders() {
  std::vector<int> o;
  for (int a = 2; a <= 64; ++a) o.push_back(a);
  for (int a : {80, 96, 128, 192, 256}) o.push_back(a);
  return o;
}

double sampled_gaussian_rdp(double q, double sigma, int alpha) {
  check_rate_noise(q, sigma, "sampled Gaussian RDP");
  if (alpha < 2) throw Error("sampled Gaussian RDP: order must be an integer >= 2, got " + std::to_string(alpha));
  if (q == 0) return 0;
  if (q == 1) return alpha / (2 * sigma * sigma);  // the plain Gaussian mechanism
  // log A_α as a log-sum-exp of the binomial expansion (every term is positive).
  double log_a = -std::numeric_limits<double>::infinity();
  const double lq = std::log(q), l1q = std::log1p(-q);
  for (int k = 0; k <= alpha; ++k) {
    double log_binom = std::lgamma(alpha + 1.0) - std::lgamma(k + 1.0) - std::lgamma(alpha - k + 1.0);
    double term = log_binom + k * lq + (alpha - k) * l1q + (static_cast<double>(k) * k - k) / (2 * sigma * sigma);
    log_a = log_add(log_a, term);
  }
  return std::max(0.0, log_a) / (alpha - 1);
}

DpGuarantee rdp_to_dp(const std::vector<int>& orders, const std::vector<double>& rdp, double delta) {
  check_delta(delta, "RDP to (epsilon, delta)");
  if (orders.size() != rdp.size() || orders.empty())
    throw Error("RDP to (epsilon, delta): " + std::to_string(orders.size()) + " orders for " + std::to_string(rdp.size()) +
                " RDP values");
  DpGuarantee best{std::numeric_limits<double>::infinity(), delta, 0};
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i];
    double eps = rdp[i] + std::log((a - 1) / a) - (std::log(delta) + std::log(a)) / (a - 1);
    if (eps < best.epsilon) best = {std::max(0.0, eps), delta, orders[i]};
  }
  return best;
}

DpGuarantee dp_epsilon(double q, double sigma, std::int64_t steps, double delta) {
  check_rate_noise(q, sigma, "DP accountant");
  check_delta(delta, "DP accountant");
  if (steps < 0) throw Error("DP accountant: steps must be >= 0, got " + std::to_string(steps));
  if (steps == 0 || q == 0) return {0, delta, 0};  // nothing released about the data
  auto orders = dp_orders();
  std::vector<double> rdp;
  for (int a : orders) rdp.push_back(static_cast<double>(steps) * sampled_gaussian_rdp(q, sigma, a));
  return rdp_to_dp(orders, rdp, delta);
}

double dp_noise_for_epsilon(double q, std::int64_t steps, double epsilon, double delta) {
  if (!(epsilon > 0) || !std::isfinite(epsilon))
    throw Error("DP noise calibration: epsilon must be positive, got " + std::to_string(epsilon));
  check_delta(delta, "DP noise calibration");
  double lo = 0.2, hi = 200;
  if (dp_epsilon(q, hi, steps, delta).epsilon > epsilon)
    throw Error("DP noise calibration: epsilon " + std::to_string(epsilon) + " is out of reach (even noise multiplier 200 " +
                "spends more) at sampling rate " + std::to_string(q) + " over " + std::to_string(steps) + " steps");
  if (dp_epsilon(q, lo, steps, delta).epsilon <= epsilon) return lo;
  while (hi / lo > 1.001) {  // ε decreases with σ
    double mid = std::sqrt(lo * hi);
    (dp_epsilon(q, mid, steps, delta).epsilon > epsilon ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace hemi::train
