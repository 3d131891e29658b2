// The exact RNS tools against __int128 arithmetic on bases small enough to hold every value.
#include <gtest/gtest.h>

#include <random>

#include "hemi/bfv/rns_exact.h"
#include "hemi/math/primes.h"

namespace hemi::bfv {
namespace {

using i128 = __int128;

std::vector<math::Modulus> moduli(const std::vector<u64>& v) {
  std::vector<math::Modulus> m;
  for (u64 x : v) m.emplace_back(x);
  return m;
}

i128 product(const std::vector<math::Modulus>& ms) {
  i128 p = 1;
  for (auto& m : ms) p *= m.value;
  return p;
}

// A uniform value in [0, bound).
i128 uniform(std::mt19937_64& rng, i128 bound) {
  const unsigned __int128 r = (static_cast<unsigned __int128>(rng()) << 64) | rng();
  return static_cast<i128>(r % static_cast<unsigned __int128>(bound));
}

u64 residue(i128 x, u64 m) {
  i128 r = x % static_cast<i128>(m);
  return static_cast<u64>(r < 0 ? r + m : r);
}

// round(a / b) for b > 0, halves away from zero.
i128 round_div(i128 a, i128 b) { return a >= 0 ? (2 * a + b) / (2 * b) : -((-2 * a + b) / (2 * b)); }

TEST(ExactConverter, CentredRepresentativeMatchesInt128) {
  const auto primes = math::generate_ntt_primes({30, 30, 31, 31, 31}, 16);
  const auto from = moduli({primes[0], primes[1]}), to = moduli({primes[2], primes[3], primes[4]});
  const i128 a = product(from);
  ExactConverter conv(from, to);
  std::mt19937_64 rng(7);
  const std::size_t n = 512;
  std::vector<i128> xs(n);
  for (std::size_t c = 0; c < n; ++c) {
    const i128 r = uniform(rng, a);  // moved to [-A/2, A/2)
    xs[c] = r >= a / 2 ? r - a : r;
  }
  // The edges of the centred range.
  xs[0] = a / 2 - 1;
  xs[1] = -(a / 2);
  xs[2] = 0;
  xs[3] = -1;
  std::vector<u64> in(2 * n), out(3 * n);
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t i = 0; i < 2; ++i) in[i * n + c] = residue(xs[c], from[i].value);
  u64* outs[3] = {out.data(), out.data() + n, out.data() + 2 * n};
  conv.convert(in.data(), outs, n, 3);
  for (std::size_t c = 0; c < n; ++c)
    for (std::size_t j = 0; j < 3; ++j) ASSERT_EQ(out[j * n + c], residue(xs[c], to[j].value)) << "coefficient " << c;
}

// round(t d / Q) against the exact value; HPS allows an error of one.
TEST(ScaleRounder, MatchesExactRoundingWithinOne) {
  const auto primes = math::generate_ntt_primes({25, 25, 25, 25}, 16);
  const auto q = moduli({primes[0], primes[1]}), ext = moduli({primes[2], primes[3]});
  const math::Modulus t(65537);
  const i128 qq = product(q), ee = product(ext), all = qq * ee;
  ScaleRounder to_ext(q, ext, t), to_t(q, {}, t);
  std::mt19937_64 rng(11);
  const std::size_t n = 2048;
  std::vector<i128> ds(n), xs(n);
  for (std::size_t c = 0; c < n; ++c) {
    const i128 r = uniform(rng, all);
    ds[c] = r >= all / 2 ? r - all : r;
    xs[c] = uniform(rng, qq);
  }
  std::vector<u64> in(4 * n), in_q(2 * n), out(2 * n), out_t(n);
  for (std::size_t c = 0; c < n; ++c) {
    for (std::size_t i = 0; i < 2; ++i) in[i * n + c] = residue(ds[c], q[i].value);
    for (std::size_t j = 0; j < 2; ++j) in[(2 + j) * n + c] = residue(ds[c], ext[j].value);
    for (std::size_t i = 0; i < 2; ++i) in_q[i * n + c] = residue(xs[c], q[i].value);
  }
  u64* outs[2] = {out.data(), out.data() + n};
  to_ext.scale(in.data(), outs, n);
  u64* tout = out_t.data();
  to_t.scale(in_q.data(), &tout, n);
  std::size_t exact = 0, exact_t = 0;
  for (std::size_t c = 0; c < n; ++c) {
    const i128 want = round_div(static_cast<i128>(t.value) * ds[c], qq);
    bool ok = false;
    for (int e : {0, -1, 1}) {
      if (residue(want + e, ext[0].value) == out[c] && residue(want + e, ext[1].value) == out[n + c]) {
        ok = true;
        exact += e == 0;
        break;
      }
    }
    ASSERT_TRUE(ok) << "coefficient " << c;
    const i128 want_t = round_div(static_cast<i128>(t.value) * xs[c], qq);
    const u64 got = out_t[c];
    ASSERT_TRUE(got == residue(want_t, t.value) || got == residue(want_t + 1, t.value) ||
                got == residue(want_t - 1, t.value)) << "coefficient " << c;
    exact_t += got == residue(want_t, t.value);
  }
  // The fixed-point error is far below one unit: nearly every value is exact.
  EXPECT_GE(exact, n - 2);
  EXPECT_GE(exact_t, n - 2);
}

}  // namespace
}  // namespace hemi::bfv
