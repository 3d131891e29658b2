// Sampling of secrets, errors and uniform polynomials (internal to the ckks layer).
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ckks/params.h"
#include "hemi/ckks/poly.h"

namespace hemi::ckks::detail {

inline constexpr double kErrorStdDev = 3.2;
inline constexpr int kErrorBound = 19;  // about 6 sigma; the tails beyond are cut

std::vector<std::int8_t> sample_ternary(Prng& prng, std::size_t n);
std::vector<std::int8_t> sample_gaussian(Prng& prng, std::size_t n);

// A poly over the first q_limbs primes of Q (and all of P when with_p), uniform per limb;
// uniform in NTT form is uniform, so it is sampled there directly.
RnsPoly sample_uniform(Prng& prng, const Context& ctx, std::size_t q_limbs, bool with_p);

// Small signed coefficients -> NTT form over the first q_limbs primes of Q (and P).
RnsPoly small_to_ntt(const std::int8_t* coeffs, const Context& ctx, std::size_t q_limbs, bool with_p);

// Limb index in Context::qp of limb `i` of a poly with q_limbs Q-limbs followed by P-limbs.
inline std::size_t qp_index(const Context& ctx, std::size_t i, std::size_t q_limbs) {
  return i < q_limbs ? i : ctx.q.size() + (i - q_limbs);
}

}  // namespace hemi::ckks::detail
