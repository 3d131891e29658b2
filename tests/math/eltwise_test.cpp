// Element-wise kernels: the scalar versions against 128-bit arithmetic, the IFMA versions
// against the scalar ones, on random inputs across the stated ranges.
#include "hemi/math/eltwise.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hemi/math/simd.h"

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
}

TEST_P(Eltwise, IfmaMatchesScalar) {
  const Modulus m(GetParam());
  const u64 q = m.value;
  if (q >= (u64{1} << 50) || !simd::cpu_has_ifma()) GTEST_SKIP() << "no IFMA path for this prime here";
  std::mt19937_64 rng(q + 1);
  for (int rep = 0; rep < 4; ++rep) {
    auto x = rnd(kN, q, rng), y = rnd(kN, q, rng);
    if (rep == 0) {  // the extremes
      for (std::size_t i = 0; i < 16; ++i) x[i] = y[i] = q - 1 - (i % 2);
    }
    auto s = x, v = x;
    scalar::add_mod_vec(s.data(), y.data(), kN, q);
    simd::add_mod_vec_ifma(v.data(), y.data(), kN, q);
    ASSERT_EQ(s, v);
    s = x;
    v = x;
    scalar::sub_mod_vec(s.data(), y.data(), kN, q);
    simd::sub_mod_vec_ifma(v.data(), y.data(), kN, q);
    ASSERT_EQ(s, v);
    scalar::mul_mod_vec(s.data(), x.data(), y.data(), kN, m);
    simd::mul_mod_vec_ifma(v.data(), x.data(), y.data(), kN, m);
    ASSERT_EQ(s, v);
    s = x;
    v = x;
    scalar::mul_scalar_vec(s.data(), kN, y[3], shoup(y[3], q), q);
    simd::mul_scalar_vec_ifma(v.data(), kN, y[3], shoup(y[3], q), q);
    ASSERT_EQ(s, v);
    std::vector<u64> ws(kN);
    for (std::size_t i = 0; i < kN; ++i) ws[i] = shoup(y[i], q);
    auto acc = rnd(kN, 2 * q, rng);
    s = acc;
    v = acc;
    // Lazy results may differ by q between the paths: compare residues and the range.
    auto same_lazy = [&] {
      for (std::size_t i = 0; i < kN; ++i) {
        ASSERT_LT(v[i], 2 * q);
        ASSERT_EQ(s[i] % q, v[i] % q);
      }
    };
    scalar::mac_shoup_lazy(s.data(), x.data(), y.data(), ws.data(), kN, q);
    simd::mac_shoup_lazy_ifma(v.data(), x.data(), y.data(), ws.data(), kN, q);
    same_lazy();
    s = acc;
    v = acc;
    scalar::reduce_from_2q(s.data(), kN, q);
    simd::reduce_from_2q_ifma(v.data(), kN, q);
    ASSERT_EQ(s, v);
  }
}

INSTANTIATE_TEST_SUITE_P(Primes, Eltwise,
                         ::testing::Values(17ull, 67043329ull, 2147352577ull, 1099510054913ull,
                                           1125899906826241ull /* 50 bits */, 1152921504606748673ull),
                         [](const auto& info) { return "q" + std::to_string(info.param); });

}  // namespace
}  // namespace hemi::math
