#include "hemi/math/modarith.h"

#include <gtest/gtest.h>

#include <random>

namespace hemi::math {
namespace {

TEST(ModArith, Reduce128MatchesBuiltinRemainder) {
  std::mt19937_64 rng(1);
  for (u64 q : {3ull, 17ull, 67043329ull, 2147352577ull, 1152921504606748673ull,
                (1ull << 61) - 1}) {
    Modulus m(q);
    for (int i = 0; i < 20000; ++i) {
      u128 x = (static_cast<u128>(rng()) << 64) | rng();
      if (i % 2) x %= static_cast<u128>(q) * q;  // the usual product range
      ASSERT_EQ(reduce_128(x, m), static_cast<u64>(x % q)) << q;
      u64 y = rng();
      ASSERT_EQ(reduce_64(y, m), y % q);
    }
  }
}

TEST(ModArith, ShoupMultiplication) {
  std::mt19937_64 rng(2);
  for (u64 q : {67043329ull, 1152921504606748673ull}) {
    for (int i = 0; i < 20000; ++i) {
      u64 w = rng() % q, x = rng();  // any 64-bit x
      u64 lazy = mul_shoup_lazy(x, w, shoup(w, q), q);
      ASSERT_LT(lazy, 2 * q);
      ASSERT_EQ(lazy % q, static_cast<u64>(static_cast<u128>(x) * w % q));
      ASSERT_EQ(mul_shoup(x, w, shoup(w, q), q), static_cast<u64>(static_cast<u128>(x) * w % q));
    }
  }
}

TEST(ModArith, PowInverseAndSigned) {
  Modulus m(97);
  EXPECT_EQ(pow_mod(3, 5, m), 243u % 97);
  for (u64 a = 1; a < 97; ++a) EXPECT_EQ(mul_mod(a, inv_mod(a, m), m), 1u);
  EXPECT_THROW(inv_mod(0, m), Error);
  EXPECT_EQ(from_signed(-1, 97), 96u);
  EXPECT_EQ(from_signed(-97, 97), 0u);
  EXPECT_EQ(from_signed(INT64_MIN, 97), static_cast<u64>((static_cast<__int128>(INT64_MIN) % 97 + 97) % 97));
  EXPECT_THROW(Modulus(1ull << 62), Error);
}

}  // namespace
}  // namespace hemi::math
