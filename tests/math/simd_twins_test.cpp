// Every vector kernel of every SIMD path against the scalar reference: lengths 1 upward and
// misaligned starts (tails and unaligned loads), extremes of each range, every prime size the
// path accepts. A path the CPU supports always runs; one it lacks is skipped with the reason,
// and SimdPaths.Exercised prints which paths ran.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "hemi/math/eltwise.h"
#include "hemi/math/ntt.h"
#include "hemi/math/primes.h"
#include "hemi/math/simd.h"
#include "hemi/math/simd_kernels.h"
#include "hemi/math/special_fft.h"

namespace hemi::math {
namespace {

using simd::Path;

// One path's kernels as function pointers; null where the path has no version of its own.
struct Kernels {
  bool (*eligible)(u64);
  bool (*eligible_acc)(u64);  // mac_scalar and the dot accumulators
  std::size_t min_ntt_n;
  void (*ntt_forward)(u64*, const NttTables&);
  void (*ntt_inverse)(u64*, const NttTables&);
  void (*add)(u64*, const u64*, std::size_t, u64);
  void (*sub)(u64*, const u64*, std::size_t, u64);
  void (*mul)(u64*, const u64*, const u64*, std::size_t, const Modulus&);
  void (*mul_scalar)(u64*, std::size_t, u64, u64, u64);
  void (*mac_shoup)(u64*, const u64*, const u64*, const u64*, std::size_t, u64);
  void (*mac_scalar)(u64*, const u64*, std::size_t, u64, u64, u64);
  void (*reduce_2q)(u64*, std::size_t, u64);
  void (*convert_centered)(u64*, const u64*, std::size_t, u64, const Modulus&);
  void (*reduce_sub_const)(u64*, const u64*, std::size_t, u64, const Modulus&, u64);
  void (*dot_acc)(u64*, u64*, const u64*, u64, std::size_t);
  void (*prod_acc)(u64*, u64*, const u64*, const u64*, std::size_t);
  int split;  // the dot accumulators' split bit
  // Accumulators for primes the path takes but eligible_acc does not (lo + mid 2^32 + hi 2^64).
  void (*dot_acc_wide)(u64*, u64*, u64*, const u64*, u64, std::size_t);
  void (*prod_acc_wide)(u64*, u64*, u64*, const u64*, const u64*, std::size_t);
};

// Null when this build has no kernels for the path (not an x86-64 build).
const Kernels* kernels_for(Path p) {
#if defined(__x86_64__)
  namespace a = simd::avx2;
  namespace f = simd::ifma;
  static const Kernels avx2{a::eligible,      a::eligible_int, 8,
                            a::ntt_forward,   a::ntt_inverse,
                            a::add_mod_vec,   a::sub_mod_vec,
                            a::mul_mod_vec,   a::mul_scalar_vec,
                            a::mac_shoup_lazy, a::mac_scalar_lazy,
                            a::reduce_from_2q, a::convert_centered,
                            a::reduce_sub_const, a::dot_accumulate,
                            a::product_accumulate, 32,
                            a::dot_accumulate_wide, a::product_accumulate_wide};
  static const Kernels ifma{f::eligible,      f::eligible, 16,
                            f::ntt_forward,   f::ntt_inverse,
                            f::add_mod_vec,   f::sub_mod_vec,
                            f::mul_mod_vec,   f::mul_scalar_vec,
                            f::mac_shoup_lazy, nullptr,
                            f::reduce_from_2q, nullptr,
                            nullptr,          f::dot_accumulate,
                            f::product_accumulate, 52,
                            nullptr,          nullptr};
  if (p == Path::avx2) return &avx2;
  if (p == Path::avx512ifma) return &ifma;
#endif
  return nullptr;
}

// Skips (with the reason) when the path cannot run here; returns its kernels otherwise.
const Kernels* runnable(Path p) {
  const Kernels* k = kernels_for(p);
  if (!k) return nullptr;
  return simd::cpu_supports(p) ? k : nullptr;
}
std::string not_run_reason(Path p) {
  if (!kernels_for(p)) return std::string(simd::path_name(p)) + " not run: this build is not x86-64";
  return std::string(simd::path_name(p)) + " not run: this CPU lacks " + simd::path_requirements(p);
}

const std::vector<u64>& test_primes() {
  static const std::vector<u64> p = {17ull,          65537ull,         67043329ull /* 26 bits */,
                                     1073479681ull /* 30 */, 2147352577ull /* 31 */, 2147205121ull /* 31 */,
                                     1099510054913ull /* 40 */, 1125899906826241ull /* 50 */};
  return p;
}

std::vector<std::size_t> test_lengths() {
  std::vector<std::size_t> n;
  for (std::size_t i = 1; i <= 40; ++i) n.push_back(i);
  for (std::size_t i : {63, 64, 65, 127, 1024, 1031}) n.push_back(i);
  return n;
}

std::vector<u64> rnd(std::size_t n, u64 bound, std::mt19937_64& rng) {
  std::vector<u64> v(n);
  for (auto& x : v) x = rng() % bound;
  return v;
}

class SimdTwins : public ::testing::TestWithParam<Path> {};

TEST_P(SimdTwins, EltwiseMatchesScalar) {
  const Path path = GetParam();
  const Kernels* k = runnable(path);
  if (!k) GTEST_SKIP() << not_run_reason(path);
  std::mt19937_64 rng(1);
  int primes_run = 0;
  for (u64 qv : test_primes()) {
    if (!k->eligible(qv)) continue;
    ++primes_run;
    const Modulus m(qv);
    const u64 q = qv;
    for (std::size_t len : test_lengths()) {
      for (std::size_t off : {0, 1, 3}) {  // misaligned starts
        SCOPED_TRACE("q=" + std::to_string(q) + " n=" + std::to_string(len) + " offset=" + std::to_string(off));
        auto X = rnd(len + off, q, rng), Y = rnd(len + off, q, rng);
        for (std::size_t i = 0; i < std::min<std::size_t>(len, 5); ++i) X[off + i] = Y[off + i] = q - 1 - i % 2;
        const u64* x = X.data() + off;
        const u64* y = Y.data() + off;
        auto check = [&](auto&& run_scalar, auto&& run_vector) {
          std::vector<u64> s(X), v(X);
          run_scalar(s.data() + off);
          run_vector(v.data() + off);
          ASSERT_EQ(s, v);
        };
        check([&](u64* o) { scalar::add_mod_vec(o, y, len, q); }, [&](u64* o) { k->add(o, y, len, q); });
        check([&](u64* o) { scalar::sub_mod_vec(o, y, len, q); }, [&](u64* o) { k->sub(o, y, len, q); });
        check([&](u64* o) { scalar::mul_mod_vec(o, x, y, len, m); }, [&](u64* o) { k->mul(o, x, y, len, m); });
        const u64 w = y[len - 1], ws = shoup(w, q);
        check([&](u64* o) { scalar::mul_scalar_vec(o, len, w, ws, q); },
              [&](u64* o) { k->mul_scalar(o, len, w, ws, q); });
        std::vector<u64> yshoup(len);
        for (std::size_t i = 0; i < len; ++i) yshoup[i] = shoup(y[i], q);
        auto A = rnd(len + off, 2 * q, rng);
        // Lazy results may differ by q between paths: compare residues and the range.
        auto same_lazy = [&](auto&& run_scalar, auto&& run_vector) {
          std::vector<u64> s(A), v(A);
          run_scalar(s.data() + off);
          run_vector(v.data() + off);
          for (std::size_t i = 0; i < len + off; ++i) {
            ASSERT_LT(v[i], 2 * q);
            ASSERT_EQ(s[i] % q, v[i] % q);
          }
        };
        same_lazy([&](u64* o) { scalar::mac_shoup_lazy(o, x, y, yshoup.data(), len, q); },
                  [&](u64* o) { k->mac_shoup(o, x, y, yshoup.data(), len, q); });
        if (k->mac_scalar && k->eligible_acc(q))
          same_lazy([&](u64* o) { scalar::mac_scalar_lazy(o, x, len, w, ws, q); },
                    [&](u64* o) { k->mac_scalar(o, x, len, w, ws, q); });
        {
          std::vector<u64> s(A), v(A);
          scalar::reduce_from_2q(s.data() + off, len, q);
          k->reduce_2q(v.data() + off, len, q);
          ASSERT_EQ(s, v);
        }
        for (u64 a : {u64{1073479681}, u64{2147352577}, u64{2147205121}, u64{1099510054913}, u64{1125899906826241}}) {
          if (!k->convert_centered || !k->eligible(a)) continue;
          auto Xa = rnd(len + off, a, rng);
          Xa[off] = a / 2 + (len % 2);  // both sides of the centre over the lengths
          check([&](u64* o) { scalar::convert_centered(o, Xa.data() + off, len, a, m); },
                [&](u64* o) { k->convert_centered(o, Xa.data() + off, len, a, m); });
          check([&](u64* o) { scalar::reduce_sub_const(o, Xa.data() + off, len, a, m, w); },
                [&](u64* o) { k->reduce_sub_const(o, Xa.data() + off, len, a, m, w); });
        }
      }
    }
  }
  EXPECT_GT(primes_run, 2) << "too few primes exercised the " << simd::path_name(path) << " kernels";
}

TEST_P(SimdTwins, DotAccumulatorsSumExactly) {
  const Path path = GetParam();
  const Kernels* k = runnable(path);
  if (!k) GTEST_SKIP() << not_run_reason(path);
  std::mt19937_64 rng(2);
  for (u64 q : test_primes()) {
    if (!k->eligible_acc(q)) continue;
    for (std::size_t len : test_lengths()) {
      std::vector<u64> lo(len, 0), hi(len, 0);
      std::vector<u128> want(len, 0);
      for (int term = 0; term < 9; ++term) {
        auto x = rnd(len, q, rng), y = rnd(len, q, rng);
        if (term == 0) x.assign(len, q - 1), y.assign(len, q - 1);
        if (term % 2) {
          k->prod_acc(lo.data(), hi.data(), x.data(), y.data(), len);
          for (std::size_t i = 0; i < len; ++i) want[i] += static_cast<u128>(x[i]) * y[i];
        } else {
          k->dot_acc(lo.data(), hi.data(), x.data(), y[0], len);
          for (std::size_t i = 0; i < len; ++i) want[i] += static_cast<u128>(x[i]) * y[0];
        }
      }
      for (std::size_t i = 0; i < len; ++i)
        ASSERT_TRUE(((static_cast<u128>(hi[i]) << k->split) + lo[i]) == want[i]) << "q=" << q << " n=" << len << " i=" << i;
    }
  }
}

// Only AVX2 has them: IFMA's own accumulators take every prime that path accepts.
TEST(SimdWideAccumulators, Avx2SumExactly) {
  const Kernels* k = runnable(Path::avx2);
  if (!k) GTEST_SKIP() << not_run_reason(Path::avx2);
  std::mt19937_64 rng(12);
  int primes_run = 0;
  for (u64 q : test_primes()) {
    if (!k->eligible(q) || k->eligible_acc(q)) continue;
    ++primes_run;
    for (std::size_t len : test_lengths()) {
      std::vector<u64> lo(len, 0), mid(len, 0), hi(len, 0);
      std::vector<u128> want(len, 0);
      // 4095 terms: the most a DotAccumulator adds between folds, all at the extreme q - 1 but
      // a few random ones, so the bound on mid is reached.
      for (int term = 0; term < 4095; ++term) {
        const bool random = term % 1000 == 1;
        auto x = random ? rnd(len, q, rng) : std::vector<u64>(len, q - 1);
        auto y = random ? rnd(len, q, rng) : std::vector<u64>(len, q - 1);
        if (term % 2) {
          k->prod_acc_wide(lo.data(), mid.data(), hi.data(), x.data(), y.data(), len);
          for (std::size_t i = 0; i < len; ++i) want[i] += static_cast<u128>(x[i]) * y[i];
        } else {
          k->dot_acc_wide(lo.data(), mid.data(), hi.data(), x.data(), y[0], len);
          for (std::size_t i = 0; i < len; ++i) want[i] += static_cast<u128>(x[i]) * y[0];
        }
      }
      for (std::size_t i = 0; i < len; ++i) {
        const u128 got = (static_cast<u128>(hi[i]) << 64) + (static_cast<u128>(mid[i]) << 32) + lo[i];
        ASSERT_TRUE(got == want[i]) << "q=" << q << " n=" << len << " i=" << i;
      }
    }
  }
  EXPECT_GT(primes_run, 1) << "too few wide primes exercised";
}

TEST_P(SimdTwins, NttMatchesScalar) {
  const Path path = GetParam();
  const Kernels* k = runnable(path);
  if (!k) GTEST_SKIP() << not_run_reason(path);
  std::mt19937_64 rng(3);
  int cases = 0;
  // 46 bits: the largest primes of the AVX2 signed lazy butterflies (below 2^46), whose
  // values grow most over the stages of the largest ring (2^16).
  for (std::size_t n = 8; n <= 65536; n *= 2) {
    for (int bits : {20, 26, 30, 31, 40, 46, 50}) {
      if (n < k->min_ntt_n || bits >= 62 || (n > 16384 && bits < 46)) continue;
      const Modulus m(generate_ntt_primes({bits}, n)[0]);
      if (!k->eligible(m.value)) continue;
      ++cases;
      const NttTables t(n, m);
      SCOPED_TRACE("n=" + std::to_string(n) + " q=" + std::to_string(m.value));
      for (int rep = 0; rep < 2; ++rep) {
        auto a = rnd(n + 1, 4 * m.value, rng);  // forward accepts < 4q; +1: a misaligned start
        if (rep == 0) a[1] = a[2] = 4 * m.value - 1;
        auto s = a, v = a;
        ntt_forward_scalar(s.data() + 1, t);
        k->ntt_forward(v.data() + 1, t);
        ASSERT_EQ(s, v);
        auto b = rnd(n + 1, 2 * m.value, rng);  // inverse accepts < 2q
        if (rep == 0) b[1] = b[2] = 2 * m.value - 1;
        s = b;
        v = b;
        ntt_inverse_scalar(s.data() + 1, t);
        k->ntt_inverse(v.data() + 1, t);
        ASSERT_EQ(s, v);
      }
    }
  }
  EXPECT_GT(cases, 10);
}

// The public kernels take the active path when the prime suits it and fall back otherwise.
TEST_P(SimdTwins, DispatchTakesThePath) {
  const Path path = GetParam();
  if (!runnable(path)) GTEST_SKIP() << not_run_reason(path);
  simd::ScopedPath scoped(path);
  EXPECT_EQ(simd::active_path(), path);
  EXPECT_EQ(simd::kernel_path(true, true), path);
  EXPECT_EQ(simd::kernel_path(false, false), Path::scalar);
  EXPECT_EQ(simd::kernel_path(false, true), Path::avx2);  // IFMA CPUs have AVX2
  const Modulus m(generate_ntt_primes({31}, 8192)[0]);
  const NttTables t(8192, m);
  std::mt19937_64 rng(4);
  auto a = rnd(8192, m.value, rng), s = a;
  ntt_forward(a.data(), t);
  ntt_forward_scalar(s.data(), t);
  EXPECT_EQ(a, s);
}

// The vector reductions that finish a dot product, at the extremes of their contracts.
TEST(SimdDotFinish, Avx2MatchesOracle) {
  if (!runnable(Path::avx2)) GTEST_SKIP() << not_run_reason(Path::avx2);
#if defined(__x86_64__)
  std::mt19937_64 rng(15);
  const u64 b52 = (u64{1} << 52) - 1, b48 = (u64{1} << 48) - 1;
  for (u64 q : test_primes()) {
    if (!simd::avx2::eligible(q)) continue;
    for (std::size_t len : {1, 3, 4, 5, 37, 512}) {
      std::vector<u64> lo(len), mid(len), hi(len), out(len);
      for (std::size_t i = 0; i < len; ++i) {
        const int kind = static_cast<int>(i % 4);
        lo[i] = kind == 0 ? b52 : rng() & b52;
        mid[i] = kind == 1 ? ~u64{0} : rng();
        hi[i] = kind == 2 ? b48 : rng() & b48;
      }
      if (simd::avx2::eligible_int(q)) {
        std::vector<u64> hi52(len);
        for (std::size_t i = 0; i < len; ++i) hi52[i] = i % 4 == 3 ? b52 : rng() & b52;
        simd::avx2::dot_finish(out.data(), lo.data(), hi52.data(), len, q);
        for (std::size_t i = 0; i < len; ++i)
          ASSERT_EQ(out[i], static_cast<u64>(((static_cast<u128>(hi52[i]) << 32) + lo[i]) % q)) << "q=" << q << " i=" << i;
      } else {
        simd::avx2::dot_finish_wide(out.data(), lo.data(), mid.data(), hi.data(), len, q);
        for (std::size_t i = 0; i < len; ++i) {
          const u128 v = (static_cast<u128>(hi[i]) << 64) + (static_cast<u128>(mid[i]) << 32) + lo[i];
          ASSERT_EQ(out[i], static_cast<u64>(v % q)) << "q=" << q << " i=" << i;
        }
      }
    }
  }
#endif
}

// DotAccumulator on the path, past its fold point (max_terms), for every prime size: the
// reduced sums equal 128-bit arithmetic.
void check_dot_accumulator(Path path) {
  simd::ScopedPath scoped(path);
  std::mt19937_64 rng(13);
  for (u64 qv : test_primes()) {
    const Modulus m(qv);
    const std::size_t n = 37;
    DotAccumulator acc(n, m);
    const std::size_t terms = acc.max_terms() > 5000 ? 300 : 2 * acc.max_terms() + 5;
    std::vector<u64> want(n, 0), got(n);
    for (std::size_t t = 0; t < terms; ++t) {
      auto x = t % 7 ? rnd(n, qv, rng) : std::vector<u64>(n, qv - 1);
      auto y = t % 5 ? rnd(n, qv, rng) : std::vector<u64>(n, qv - 1);
      if (t % 11 == 4) {  // a run of terms at once, crossing folds too
        const std::size_t run = 1 + rng() % 40;
        std::vector<std::vector<u64>> xs;
        std::vector<const u64*> xp;
        std::vector<u64> ws;
        for (std::size_t r = 0; r < run; ++r) {
          xs.push_back(r % 3 ? rnd(n, qv, rng) : std::vector<u64>(n, qv - 1));
          ws.push_back(r % 4 ? rng() % qv : qv - 1);
        }
        for (auto& v : xs) xp.push_back(v.data());
        acc.add_terms(xp.data(), ws.data(), run);
        for (std::size_t r = 0; r < run; ++r)
          for (std::size_t i = 0; i < n; ++i) want[i] = static_cast<u64>((want[i] + static_cast<u128>(xs[r][i]) * ws[r]) % qv);
      } else if (t % 3) {
        acc.add(x.data(), y[0]);
        for (std::size_t i = 0; i < n; ++i) want[i] = static_cast<u64>((want[i] + static_cast<u128>(x[i]) * y[0]) % qv);
      } else {
        acc.add_product(x.data(), y.data());
        for (std::size_t i = 0; i < n; ++i) want[i] = static_cast<u64>((want[i] + static_cast<u128>(x[i]) * y[i]) % qv);
      }
    }
    acc.finish(got.data());
    ASSERT_EQ(got, want) << "q=" << qv << " terms=" << terms;
  }
}

TEST_P(SimdTwins, DotAccumulatorMatchesOracleAcrossFolds) {
  const Path path = GetParam();
  if (!runnable(path)) GTEST_SKIP() << not_run_reason(path);
  check_dot_accumulator(path);
}

// The scalar accumulator (128-bit sums), which every CPU runs.
TEST(SimdScalar, DotAccumulatorMatchesOracleAcrossFolds) { check_dot_accumulator(Path::scalar); }

// The encoder's FFT has an AVX2 kernel only (the IFMA path uses it too): bit-identical results.
TEST(SimdFft, Avx2MatchesScalarExactly) {
  if (!runnable(Path::avx2)) GTEST_SKIP() << not_run_reason(Path::avx2);
#if defined(__x86_64__)
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> d(-1e6, 1e6);
  for (std::size_t slots = 1; slots <= 8192; slots *= 2) {
    const SpecialFft fft(slots);
    std::vector<std::complex<double>> z(slots);
    for (auto& x : z) x = {d(rng), d(rng)};
    auto s = z, v = z;
    fft.forward_scalar(s.data());
    simd::avx2::fft_forward(v.data(), fft);
    ASSERT_TRUE(s == v) << "forward, slots=" << slots;
    fft.inverse_scalar(s.data());
    simd::avx2::fft_inverse(v.data(), fft);
    ASSERT_TRUE(s == v) << "inverse, slots=" << slots;
  }
#endif
}

INSTANTIATE_TEST_SUITE_P(Paths, SimdTwins, ::testing::Values(Path::avx2, Path::avx512ifma),
                         [](const auto& info) { return std::string(simd::path_name(info.param)); });

TEST(SimdPaths, Exercised) {
  std::string ran = "scalar", skipped;
  for (Path p : {Path::avx2, Path::avx512ifma}) {
    if (runnable(p))
      ran += std::string(" ") + simd::path_name(p);
    else
      skipped += "\n  " + not_run_reason(p);
  }
  std::cout << "SIMD kernel paths exercised: " << ran << (skipped.empty() ? "" : "\nNot run:" + skipped)
            << "\nActive by default: " << simd::active_path_name() << "\n";
  ::testing::Test::RecordProperty("simd_paths_exercised", ran);
  EXPECT_TRUE(simd::cpu_supports(Path::scalar));
  const auto supported = simd::supported_paths();
  EXPECT_EQ(supported.back(), simd::best_supported_path());
}

TEST(SimdPaths, RejectsUnknownAndUnsupportedPaths) {
  EXPECT_EQ(simd::parse_path("avx2"), Path::avx2);
  EXPECT_EQ(simd::parse_path("avx512ifma"), Path::avx512ifma);
  EXPECT_THROW(simd::parse_path("sse4"), Error);
  EXPECT_THROW(simd::parse_path(""), Error);
  for (Path p : simd::kAllPaths) {
    if (!simd::cpu_supports(p)) {
      EXPECT_THROW(simd::set_active_path(p), Error) << simd::path_name(p);
    }
  }
  simd::ScopedPath scalar(Path::scalar);
  EXPECT_EQ(simd::kernel_path(true, true), Path::scalar);
}

}  // namespace
}  // namespace hemi::math
