// Sampling of secrets, errors and uniform polynomials: ternary secrets, sigma = 3.2 Gaussian
// errors cut at about 6 sigma, uniform polynomials (from the OS CSPRNG or a public seed).
// Internal to the ring layer and the schemes above it (ckks, bfv).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ring/params.h"
#include "hemi/ring/poly.h"

namespace hemi::ring::detail {

// Domain-separation labels of the public seeded streams (Prng(seed, label)): one per purpose,
// so a seed reused across purposes never expands to related polynomials. Part of the format:
// changing one changes every seeded object (known-answer tests pin each stream). They still
// say "ckks": they were named when the ring lived in the ckks layer, and BFV keys and seeded
// ciphertexts use the same streams.
inline constexpr std::string_view kLabelRelinKeyA = "hemi/ckks/relin-key/a";
inline constexpr std::string_view kLabelGaloisKeyA = "hemi/ckks/galois-key/a";
inline constexpr std::string_view kLabelSeededCiphertextA = "hemi/ckks/seeded-ciphertext/a";

inline constexpr double kErrorStdDev = 3.2;
inline constexpr int kErrorBound = 19;  // about 6 sigma; the tails beyond are cut

std::vector<std::int8_t> sample_ternary(Prng& prng, std::size_t n);
std::vector<std::int8_t> sample_gaussian(Prng& prng, std::size_t n);

// A poly over the first q_limbs primes of Q (and all of P when with_p), uniform per limb;
// uniform in NTT form is uniform, so it is sampled there directly.
RnsPoly sample_uniform(Prng& prng, const Context& ctx, std::size_t q_limbs, bool with_p);

// x mod q for |x| < q, without a branch on the sign of x (secret coefficients): the
// sign extension of x is an all-ones mask exactly when x < 0, and selects the + q.
inline math::u64 small_to_mod(std::int64_t x, math::u64 q) {
  const math::u64 mask = static_cast<math::u64>(x >> 63);
  return static_cast<math::u64>(x) + (q & mask);
}

// The secret-key file's 2-bit codes: 0 -> 0, 1 -> 1, -1 -> 2 (3 is invalid), both ways
// without a branch on the coefficient.
inline std::uint8_t ternary_code(std::int8_t v) {
  const std::uint8_t c = static_cast<std::uint8_t>(v) & 3;  // 0, 1, or 3 for -1
  return static_cast<std::uint8_t>(c ^ (c >> 1));
}
inline std::int8_t ternary_from_code(std::uint8_t code) {
  return static_cast<std::int8_t>((code & 1) - (code >> 1));
}

// Small signed coefficients -> NTT form over the first q_limbs primes of Q (and P).
RnsPoly small_to_ntt(const std::int8_t* coeffs, const Context& ctx, std::size_t q_limbs, bool with_p);

// Limb index in Context::qp of limb `i` of a poly with q_limbs Q-limbs followed by P-limbs.
inline std::size_t qp_index(const Context& ctx, std::size_t i, std::size_t q_limbs) {
  return i < q_limbs ? i : ctx.q.size() + (i - q_limbs);
}

}  // namespace hemi::ring::detail
