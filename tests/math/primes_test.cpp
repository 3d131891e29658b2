#include "hemi/math/primes.h"

#include <gtest/gtest.h>

namespace hemi::math {
namespace {

// Expected values computed independently with a short Python script (deterministic
// Miller-Rabin, search downward from 2^b - 2n + 1 in steps of 2n; the minimal root as the least
// odd power of one primitive 2n-th root). The 60-bit values coincide with SEAL's chain for
// N = 16384.
TEST(Primes, KnownAnswers) {
  EXPECT_EQ(generate_ntt_primes({26, 26, 26, 26, 26, 26}, 8192),
            (std::vector<u64>{67043329, 66994177, 66961409, 66813953, 66551809, 66420737}));
  EXPECT_EQ(generate_ntt_primes({31, 26, 31}, 8192),
            (std::vector<u64>{2147352577, 67043329, 2147205121}));
  EXPECT_EQ(generate_ntt_primes({60, 40, 40, 60}, 16384),
            (std::vector<u64>{1152921504606748673ull, 1099510054913ull, 1099508121601ull,
                              1152921504606683137ull}));
}

TEST(Primes, ExcludedPrimesAreSkipped) {
  EXPECT_EQ(generate_ntt_primes({26}, 8192, {67043329}), (std::vector<u64>{66994177}));
}

TEST(Primes, MinimalPrimitiveRootKnownAnswers) {
  EXPECT_EQ(minimal_primitive_root(16384, Modulus(67043329)), 4721u);
  EXPECT_EQ(minimal_primitive_root(16384, Modulus(2147352577)), 44302u);
  EXPECT_EQ(minimal_primitive_root(16, Modulus(17)), 3u);
  EXPECT_EQ(minimal_primitive_root(16, Modulus(97)), 8u);
}

TEST(Primes, IsPrimeAgreesWithTrialDivision) {
  for (u64 n = 0; n < 5000; ++n) {
    bool trial = n >= 2;
    for (u64 d = 2; d * d <= n; ++d)
      if (n % d == 0) trial = false;
    ASSERT_EQ(is_prime(n), trial) << n;
  }
  EXPECT_TRUE(is_prime(1152921504606748673ull));
  EXPECT_FALSE(is_prime(3215031751ull));  // strong pseudoprime to bases 2, 3, 5, 7
}

TEST(Primes, Rejections) {
  EXPECT_THROW(generate_ntt_primes({62}, 8192), Error);
  EXPECT_THROW(generate_ntt_primes({1}, 8192), Error);
  EXPECT_THROW(generate_ntt_primes({14}, 8192), Error);  // no 14-bit prime = 1 mod 16384
  EXPECT_THROW(minimal_primitive_root(16, Modulus(19)), Error);  // 19 != 1 mod 16
}

}  // namespace
}  // namespace hemi::math
