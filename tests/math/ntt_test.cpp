#include "hemi/math/ntt.h"

#include <gtest/gtest.h>

#include <random>

#include "hemi/math/primes.h"

namespace hemi::math {
namespace {

std::vector<u64> random_poly(std::size_t n, u64 bound, std::mt19937_64& rng) {
  std::vector<u64> a(n);
  for (auto& x : a) x = rng() % bound;
  return a;
}

// Schoolbook product in Z_q[X]/(X^n + 1): the oracle.
std::vector<u64> negacyclic_product(const std::vector<u64>& a, const std::vector<u64>& b,
                                   const Modulus& m) {
  const std::size_t n = a.size();
  std::vector<u64> c(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      u64 p = mul_mod(a[i], b[j], m);
      if (i + j < n)
        c[i + j] = add_mod(c[i + j], p, m.value);
      else
        c[i + j - n] = sub_mod(c[i + j - n], p, m.value);
    }
  return c;
}

struct Case {
  std::size_t n;
  int bits;
};

class NttTest : public ::testing::TestWithParam<Case> {};

TEST_P(NttTest, ProductMatchesSchoolbook) {
  auto [n, bits] = GetParam();
  Modulus m(generate_ntt_primes({bits}, n)[0]);
  NttTables t(n, m);
  std::mt19937_64 rng(n * 131 + bits);
  auto a = random_poly(n, m.value, rng), b = random_poly(n, m.value, rng);
  auto expect = negacyclic_product(a, b, m);
  auto fa = a, fb = b;
  ntt_forward(fa.data(), t);
  ntt_forward(fb.data(), t);
  for (std::size_t i = 0; i < n; ++i) fa[i] = mul_mod(fa[i], fb[i], m);
  ntt_inverse(fa.data(), t);
  EXPECT_EQ(fa, expect);
}

TEST_P(NttTest, OutputIsEvaluationAtOddPowersInBitReversedOrder) {
  auto [n, bits] = GetParam();
  Modulus m(generate_ntt_primes({bits}, n)[0]);
  NttTables t(n, m);
  std::mt19937_64 rng(7);
  auto a = random_poly(n, m.value, rng);
  auto f = a;
  ntt_forward(f.data(), t);
  for (std::size_t i = 0; i < n; i += (n > 64 ? n / 64 : 1)) {
    u64 x = pow_mod(t.root(), 2 * bit_reverse(i, t.log_n()) + 1, m), v = 0, xp = 1;
    for (std::size_t k = 0; k < n; ++k) {
      v = add_mod(v, mul_mod(a[k], xp, m), m.value);
      xp = mul_mod(xp, x, m);
    }
    ASSERT_EQ(f[i], v) << i;
  }
}

TEST_P(NttTest, InverseUndoesForward) {
  auto [n, bits] = GetParam();
  Modulus m(generate_ntt_primes({bits}, n)[0]);
  NttTables t(n, m);
  std::mt19937_64 rng(11);
  auto a = random_poly(n, m.value, rng), f = a;
  ntt_forward(f.data(), t);
  ntt_inverse(f.data(), t);
  EXPECT_EQ(f, a);
}

INSTANTIATE_TEST_SUITE_P(Sizes, NttTest,
                         ::testing::Values(Case{8, 20}, Case{16, 26}, Case{32, 30}, Case{64, 49},
                                           Case{256, 50}, Case{256, 60}, Case{1024, 36},
                                           Case{8192, 26}, Case{8192, 31}, Case{16384, 40},
                                           Case{16384, 60}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "_q" +
                                  std::to_string(info.param.bits);
                         });

TEST(Ntt, RejectsBadSizes) {
  Modulus m(generate_ntt_primes({30}, 64)[0]);
  EXPECT_THROW(NttTables(48, m), Error);
  EXPECT_THROW(NttTables(4, m), Error);
  EXPECT_THROW(NttTables(64, Modulus(19)), Error);  // 19 is not 1 mod 128
}

}  // namespace
}  // namespace hemi::math
