// Element-wise kernels: the scalar versions (the reference for every SIMD path, whose twin tests
// are in simd_twins_test.cpp) against 128-bit arithmetic, on random inputs across the ranges.
#include "hemi/math/eltwise.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>


namespace hemi::math {
namespace {

constexpr std::size_t kN = 1024;

std::vector<u64> rnd(std::size_t n, u64 bound, std::mt19937_64& rng) {
  std::vector<u64> v(n);
  for (auto& x : v) x = rng() % bound;
  return v;
}

class Eltwise : public ::testing::TestWithParam<u64> {};

TEST_P(Eltwise, ScalarMatchesOracle) {
  const Modulus m(GetParam());
  const u64 q = m.value;
  std::mt19937_64 rng(q);
  auto x = rnd(kN, q, rng), y = rnd(kN, q, rng);
  auto a = x;
  scalar::add_mod_vec(a.data(), y.data(), kN, q);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(a[i], (x[i] + y[i]) % q);
  a = x;
  scalar::sub_mod_vec(a.data(), y.data(), kN, q);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(a[i], (x[i] + q - y[i]) % q);
  std::vector<u64> out(kN);
  scalar::mul_mod_vec(out.data(), x.data(), y.data(), kN, m);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(out[i], static_cast<u64>(static_cast<u128>(x[i]) * y[i] % q));
  const u64 w = y[7];
  a = x;
  scalar::mul_scalar_vec(a.data(), kN, w, shoup(w, q), q);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(a[i], static_cast<u64>(static_cast<u128>(x[i]) * w % q));
  std::vector<u64> ws(kN);
  for (std::size_t i = 0; i < kN; ++i) ws[i] = shoup(y[i], q);
  std::vector<std::uint32_t> perm(kN);
  for (std::size_t i = 0; i < kN; ++i) perm[i] = static_cast<std::uint32_t>((i * 7 + 3) % kN);
  auto acc = rnd(kN, 2 * q, rng);
  auto expect = acc;
  std::vector<u64> px(kN);
  permute(px.data(), x.data(), perm.data(), kN);  // what key switching does before the products
  scalar::mac_shoup_lazy(acc.data(), px.data(), y.data(), ws.data(), kN, q);
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_LT(acc[i], 2 * q);
    ASSERT_EQ(acc[i] % q, static_cast<u64>((expect[i] + static_cast<u128>(x[perm[i]]) * y[i]) % q));
  }
  acc = rnd(kN, 2 * q, rng);
  expect = acc;
  scalar::mac_scalar_lazy(acc.data(), x.data(), kN, w, shoup(w, q), q);
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_LT(acc[i], 2 * q);
    ASSERT_EQ(acc[i] % q, static_cast<u64>((expect[i] + static_cast<u128>(x[i]) * w) % q));
  }
  // Single-prime conversion from a = 2^31 - 2^17 + 1 (a prime): centred representative mod q.
  const u64 a_prime = 2147352577ull;
  auto xa = rnd(kN, a_prime, rng);
  xa[0] = 0, xa[1] = a_prime / 2, xa[2] = a_prime / 2 + 1, xa[3] = a_prime - 1;
  scalar::convert_centered(out.data(), xa.data(), kN, a_prime, m);
  for (std::size_t i = 0; i < kN; ++i) {
    const __int128 c = xa[i] > a_prime / 2 ? static_cast<__int128>(xa[i]) - a_prime : xa[i];
    const __int128 r = ((c % static_cast<__int128>(q)) + q) % q;
    ASSERT_EQ(out[i], static_cast<u64>(r)) << xa[i];
  }
  scalar::reduce_sub_const(out.data(), xa.data(), kN, a_prime, m, w);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(out[i], (xa[i] % q + q - w) % q);
}

INSTANTIATE_TEST_SUITE_P(Primes, Eltwise,
                         ::testing::Values(17ull, 67043329ull, 2147352577ull, 1099510054913ull,
                                           1125899906826241ull /* 50 bits */, 1152921504606748673ull),
                         [](const auto& info) { return "q" + std::to_string(info.param); });

}  // namespace
}  // namespace hemi::math

namespace hemi::math {
namespace {

// Both forms (a bound below q: no division; otherwise the general reduction) against
// from_signed, at the edges of each.
TEST(FromSignedVec, MatchesFromSignedOnBothForms) {
  const u64 q = 1073479681;  // 30 bits
  const std::int64_t qs = static_cast<std::int64_t>(q);
  std::vector<std::int64_t> small = {0, 1, -1, qs - 1, -(qs - 1), 12345, -12345};
  std::vector<std::int64_t> large = {0, qs, -qs, qs + 1, -qs - 1, INT64_MAX, INT64_MIN + 1, INT64_MIN, -1};
  for (const auto* v : {&small, &large}) {
    // max_abs's contract excludes INT64_MIN; the general form takes any bound >= q.
    const u64 bound = v == &small ? max_abs(v->data(), v->size()) : ~u64{0};
    std::vector<u64> out(v->size());
    from_signed_vec(out.data(), v->data(), v->size(), q, bound);
    for (std::size_t i = 0; i < v->size(); ++i) EXPECT_EQ(out[i], from_signed((*v)[i], q)) << (*v)[i];
  }
  EXPECT_EQ(max_abs(small.data(), small.size()), q - 1);
}

}  // namespace
}  // namespace hemi::math
