// Noise flooding for IND-CPA-D security (Li and Micciancio, EUROCRYPT 2021; Li, Micciancio,
// Schultz and Sorrell, CRYPTO 2022), the way OpenFHE's NOISE_FLOODING_DECRYPT does it:
//
//   1. estimate t, the standard deviation of the decryption error, in coefficient units
//      (integers at the ciphertext's scale);
//   2. derive the flooding width sigma = sqrt(12 tau) 2^(s/2) t from a statistical security
//      level s and a query budget tau (decryptions of related ciphertexts an adversary sees);
//   3. add integer noise of that width to every coefficient of the decrypted polynomial, on
//      the integer grid, before decoding;
//   4. decode, and round the values to a power-of-two grid below the flooded precision, so
//      nothing printed carries digits beyond what the flooding leaves.
//
// The estimate of t comes either from the caller (a separate run on a throwaway key, OpenFHE's
// EXEC_NOISE_ESTIMATION: the rigorous mode) or from the decryption itself: the messages hemi
// encrypts are real, so the imaginary parts of the decoded slots are pure error. That estimate
// is rounded up to a whole power of two and floored at the rescaling noise of the parameters,
// so sigma takes one of a few public values (docs/ckks.md, "Noise flooding").
// Client side. Thread-safe (no state); one Prng per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"

namespace hemi::ckks {

struct FloodingPolicy {
  int statistical_security = 30;      // s: an adversary's advantage is at most 2^-s
  std::uint64_t query_budget = 1024;  // tau: flooded decryptions an adversary may collect
  double log2_error_std = 0;          // log2 t in coefficient units; 0: estimate per decryption
};

// The policy for results that leave the client, covering `query_budget` shared decryptions
// at the default statistical security (30 bits); 0: no flooding (exact values, local only).
inline std::optional<FloodingPolicy> flooding_for_budget(std::uint64_t query_budget) {
  if (query_budget == 0) return std::nullopt;
  FloodingPolicy p;
  p.query_budget = query_budget;
  return p;
}

// What a flooded decryption did (all public).
struct FloodingReport {
  double log2_error_std = 0;  // the t used (log2, coefficient units)
  double sigma = 0;           // flooding width in coefficient units
  double slot_sigma = 0;      // the resulting standard deviation of each decoded real value
  double grid = 0;            // decoded values are multiples of this (a power of two)
};

// sqrt(12 tau) 2^(s/2) 2^log2_error_std. Throws on s outside [1, 128], tau < 1, or a width
// beyond 2^60 (it would wrap around every prime).
double flooding_sigma(const FloodingPolicy& policy, double log2_error_std);

// log2 of the standard deviation of the rounding error a rescale leaves in each coefficient,
// sqrt((1 + h) / 12) for a ternary secret with h = 2N/3 non-zero coefficients: the smallest
// error any result decrypts with, used as the floor of the estimate.
double log2_rescale_noise(const Params& params);

// Standard deviation of the error of a decrypted real-valued plaintext, in coefficient units,
// from the imaginary parts of its slots: t = scale * sqrt(2) * std(Im) / sqrt(N).
double estimate_error_std(const Encoder& encoder, const Plaintext& pt);

// Adds independent integer noise of width sigma to every coefficient of pt (in NTT form): a
// rounded Gaussian, the same integer in every limb. The noise polynomial is wiped afterwards.
void add_flooding_noise(Plaintext& pt, double sigma, const Params& params, Prng& prng);

// decrypt, estimate (unless the policy pins t), flood, decode the real parts, round to the grid.
std::vector<double> decrypt_flooded(const Decryptor& decryptor, const Encoder& encoder, const Ciphertext& ct,
                                    const FloodingPolicy& policy, Prng& prng, FloodingReport* report = nullptr);

}  // namespace hemi::ckks
