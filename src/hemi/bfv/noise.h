// A noise-budget estimate for the client, without keys: worst-case bounds on the invariant
// noise ||v||_inf (t/Q [c0 + c1 s]_Q = m + v + t k; decryption is correct while ||v|| < 1/2)
// through a sequence of operations. Every bound is a proven worst case for ternary secrets
// and errors cut at |e| <= 19 (ring/sampling.h), so a positive estimated budget guarantees
// correct decryption; measured budgets (Decryptor::noise_budget) are typically 5-10 bits
// above it per multiplication. The formulas and their derivation are in docs/bfv.md.
// Values are log2 ||v||; budget = -1 - log2 ||v||. Immutable; thread-safe.
#pragma once

#include <cstddef>

#include "hemi/bfv/params.h"

namespace hemi::bfv {

class NoiseEstimator {
 public:
  explicit NoiseEstimator(Params params) : params_(std::move(params)) {}

  double fresh_public(std::size_t level) const;
  double fresh_symmetric(std::size_t level) const;
  double add(double a, double b) const;
  // Product with a plaintext whose coefficients (centred) are at most max_coeff in absolute
  // value: at most N * max_coeff; a constant (one coefficient) multiplies by |k|.
  double multiply_plain(double a, double max_coeff) const;
  double multiply_const(double a, double k) const;
  // The HPS tensor product of two ciphertexts at `level`, before relinearization.
  double multiply(double a, double b, std::size_t level) const;
  // Relinearization or a rotation at `level` (hybrid key switching) adds a term.
  double key_switch(double a, std::size_t level) const;
  // From `level` to level - 1.
  double mod_switch(double a, std::size_t level) const;
  static double budget(double log2_noise) { return -1.0 - log2_noise; }

 private:
  Params params_;
};

}  // namespace hemi::bfv
