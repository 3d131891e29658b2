// The privacy accountant for DP-SGD and client-level DP federated averaging: Rényi DP of the
// Poisson-subsampled Gaussian mechanism (Mironov 2017; Mironov, Talwar, Zhang 2019), composed
// over the steps and converted to (ε, δ). Pure math, no libtorch.
//
// One step samples each record independently with probability q (Poisson sampling), adds up
// the sampled records' contributions clipped to L2 norm C, and adds N(0, σ²C²) noise to every
// coordinate. Its RDP at integer order α ≥ 2 is (MTZ 2019, Sec. 3.3, "integer α")
//   ε_α = log A_α / (α − 1),  A_α = Σ_{k=0..α} C(α,k) (1−q)^(α−k) q^k exp((k² − k) / (2σ²)),
// RDP composes additively over steps, and (ε, δ) follows from the conversion of Balle et al.
// 2020 (Thm. 21; also Canonne, Kamath, Steinke 2020):
//   ε = min_α [ T·ε_α + log((α − 1)/α) − (log δ + log α) / (α − 1) ].
// Only integer orders are used; fractional orders would give a slightly smaller ε for large
// ε targets (≳ 8), never a larger one, so the reported guarantee is valid but may be a bit loose.
#pragma once

#include <cstdint>
#include <vector>

namespace hemi::train {

// 2, 3, ..., 64, 80, 96, 128, 192, 256.
std::vector<int> dp_orders();

// RDP of one step of the sampled Gaussian mechanism at integer order alpha ≥ 2, for sampling
// rate q in [0, 1] and noise multiplier sigma > 0. Throws hemi::Error on bad arguments.
double sampled_gaussian_rdp(double q, double sigma, int alpha);

struct DpGuarantee {
  double epsilon = 0;
  double delta = 0;
  int order = 0;  // the RDP order that gave the smallest ε
};

// (ε, δ) after `steps` steps at sampling rate q and noise multiplier sigma.
DpGuarantee dp_epsilon(double q, double sigma, std::int64_t steps, double delta);

// The conversion alone, from an RDP curve (rdp[i] at orders[i], already composed).
DpGuarantee rdp_to_dp(const std::vector<int>& orders, const std::vector<double>& rdp, double delta);

// The smallest noise multiplier (to 0.1 % relative, by bisection on σ in [0.2, 200]) whose
// ε after `steps` steps at rate q is at most `epsilon`. Throws hemi::Error if even σ = 200
// does not reach the target.
double dp_noise_for_epsilon(double q, std::int64_t steps, double epsilon, double delta);

}  // namespace hemi::train
