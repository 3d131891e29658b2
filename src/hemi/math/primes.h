// NTT-friendly primes and roots of unity.
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/math/modarith.h"

namespace hemi::math {

// Deterministic Miller-Rabin for all 64-bit inputs.
bool is_prime(u64 n);

// For each requested bit size b (2 <= b <= 61), the largest prime q < 2^b with
// q = 1 (mod 2n), all distinct, skipping those in `exclude`. Deterministic: the same sizes
// give the same primes in the same order. Throws hemi::Error when a size has too few.
std::vector<u64> generate_ntt_primes(const std::vector<int>& bit_sizes, std::size_t n,
                                     const std::vector<u64>& exclude = {});

// The smallest primitive 2n-th root of unity modulo prime q (q = 1 mod 2n), i.e. the least
// psi in [2, q) with psi^n = -1, minimised over all primitive 2n-th roots (as SEAL does).
u64 minimal_primitive_root(std::size_t two_n, const Modulus& q);

}  // namespace hemi::math
