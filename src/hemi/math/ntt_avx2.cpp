// AVX2 NTT kernels. For q < 2^31: four 64-bit lanes whose values stay below 2q < 2^32, so
// every product is one _mm256_mul_epu32; Shoup factors are the 64-bit table entries shifted
// down by 32. For 2^31 <= q < 2^50: the limb is converted to doubles once and every product is
// exact in double precision (avx2_ops.h). Butterflies keep [0, 2q) in both (Harvey's with both
// outputs corrected). Stages with butterfly distance t >= 4 work on whole vectors; t = 2 and
// t = 1 regroup two vectors.
#include "hemi/math/ntt.h"
#include "hemi/math/simd_kernels.h"
#include "hemi/math/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

HEMI_TARGET_BEGIN("avx2,bmi2,fma")
#define HEMI_AVX2_REGION

namespace hemi::math::simd::avx2 {

#include "hemi/math/avx2_ops.h"

namespace {

// Applies `bf` to every butterfly of the stage with m groups of distance t.
template <typename Butterfly>
void stage(u64* a, std::size_t n, std::size_t m, std::size_t t, const u64* w, const u64* ws, Butterfly bf) {
  if (t >= 4) {
    for (std::size_t i = 0; i < m; ++i) {
      const V W = set1(w[m + i]), W32 = set1(ws[m + i] >> 32);
      u64* x = a + 2 * i * t;
      u64* y = x + t;
      for (std::size_t j = 0; j < t; j += 4) {
        V X = load(x + j), Y = load(y + j);
        bf(X, Y, W, W32);
        store(x + j, X);
        store(y + j, Y);
      }
    }
  } else if (t == 2) {  // [x0 x1 y0 y1][x0' x1' y0' y1']: groups m+i and m+i+1
    for (std::size_t k = 0, i = 0; k < n; k += 8, i += 2) {
      const V v0 = load(a + k), v1 = load(a + k + 4);
      V X = _mm256_permute2x128_si256(v0, v1, 0x20), Y = _mm256_permute2x128_si256(v0, v1, 0x31);
      const V W = _mm256_setr_epi64x(static_cast<long long>(w[m + i]), static_cast<long long>(w[m + i]),
                                     static_cast<long long>(w[m + i + 1]), static_cast<long long>(w[m + i + 1]));
      const V W32 = _mm256_setr_epi64x(static_cast<long long>(ws[m + i] >> 32), static_cast<long long>(ws[m + i] >> 32),
                                       static_cast<long long>(ws[m + i + 1] >> 32),
                                       static_cast<long long>(ws[m + i + 1] >> 32));
      bf(X, Y, W, W32);
      store(a + k, _mm256_permute2x128_si256(X, Y, 0x20));
      store(a + k + 4, _mm256_permute2x128_si256(X, Y, 0x31));
    }
  } else {  // t == 1: [x0 y0 x1 y1][x2 y2 x3 y3]; unpack puts groups in lane order 0 2 1 3
    for (std::size_t k = 0, i = 0; k < n; k += 8, i += 4) {
      const V v0 = load(a + k), v1 = load(a + k + 4);
      V X = _mm256_unpacklo_epi64(v0, v1), Y = _mm256_unpackhi_epi64(v0, v1);
      const V W = _mm256_permute4x64_epi64(load(w + m + i), 0xD8);
      const V W32 = _mm256_srli_epi64(_mm256_permute4x64_epi64(load(ws + m + i), 0xD8), 32);
      bf(X, Y, W, W32);
      store(a + k, _mm256_unpacklo_epi64(X, Y));
      store(a + k + 4, _mm256_unpackhi_epi64(X, Y));
    }
  }
}

// The same stages over doubles (t >= 4 whole vectors; t = 2, 1 regrouped), twiddles converted
// from the integer tables as they are loaded.
template <typename Butterfly>
void stage_fp(double* a, std::size_t n, std::size_t m, std::size_t t, const u64* w, Butterfly bf) {
  if (t >= 4) {
    for (std::size_t i = 0; i < m; ++i) {
      const F W = _mm256_set1_pd(static_cast<double>(w[m + i]));
      double* x = a + 2 * i * t;
      double* y = x + t;
      for (std::size_t j = 0; j < t; j += 4) {
        F X = _mm256_loadu_pd(x + j), Y = _mm256_loadu_pd(y + j);
        bf(X, Y, W);
        _mm256_storeu_pd(x + j, X);
        _mm256_storeu_pd(y + j, Y);
      }
    }
  } else if (t == 2) {
    for (std::size_t k = 0, i = 0; k < n; k += 8, i += 2) {
      const F v0 = _mm256_loadu_pd(a + k), v1 = _mm256_loadu_pd(a + k + 4);
      F X = _mm256_permute2f128_pd(v0, v1, 0x20), Y = _mm256_permute2f128_pd(v0, v1, 0x31);
      const double w0 = static_cast<double>(w[m + i]), w1 = static_cast<double>(w[m + i + 1]);
      const F W = _mm256_setr_pd(w0, w0, w1, w1);
      bf(X, Y, W);
      _mm256_storeu_pd(a + k, _mm256_permute2f128_pd(X, Y, 0x20));
      _mm256_storeu_pd(a + k + 4, _mm256_permute2f128_pd(X, Y, 0x31));
    }
  } else {
    for (std::size_t k = 0, i = 0; k < n; k += 8, i += 4) {
      const F v0 = _mm256_loadu_pd(a + k), v1 = _mm256_loadu_pd(a + k + 4);
      F X = _mm256_unpacklo_pd(v0, v1), Y = _mm256_unpackhi_pd(v0, v1);
      const F W = _mm256_permute4x64_pd(to_double(load(w + m + i)), 0xD8);
      bf(X, Y, W);
      _mm256_storeu_pd(a + k, _mm256_unpacklo_pd(X, Y));
      _mm256_storeu_pd(a + k + 4, _mm256_unpackhi_pd(X, Y));
    }
  }
}

// The limb as doubles, in place of the integers (same 8-byte slots).
double* as_doubles(u64* a, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 4) _mm256_storeu_pd(reinterpret_cast<double*>(a + i), to_double(load(a + i)));
  return reinterpret_cast<double*>(a);
}
void back_to_u64(double* d, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 4) store(reinterpret_cast<u64*>(d + i), to_u64(_mm256_loadu_pd(d + i)));
}

// Primes below 2^46: signed lazy butterflies with no range corrections. Forward: |T| <= 1.5q
// and the outputs grow by at most that per stage, so after at most 17 stages (n <= 2^17) from
// inputs < 4q every value stays below 30q < 2^51, where mul_mod_fp_signed is exact.
// Inverse: the sum is re-centred every stage (|X| < q) and the product |Y| <= 1.5q, so
// every operand stays below 3q. One reduction to [0, q) at the end. Results are the same
// residues as the scalar kernel's.
constexpr u64 kSignedLazyBound = u64{1} << 46;

void ntt_forward_fp_signed(double* d, const NttTables& tb) {
  const std::size_t n = tb.n();
  const double qv = static_cast<double>(tb.modulus().value);
  const F q = _mm256_set1_pd(qv), qinv = _mm256_set1_pd(1.0 / qv);
  auto bf = [q, qinv](F& X, F& Y, F W) {
    const F T = mul_mod_fp_signed(Y, W, q, qinv);
    Y = _mm256_sub_pd(X, T);
    X = _mm256_add_pd(X, T);
  };
  const u64* w = tb.root_pows().data();
  std::size_t t = n;
  for (std::size_t m = 1; m < n; m <<= 1) {
    t >>= 1;
    stage_fp(d, n, m, t, w, bf);
  }
  for (std::size_t i = 0; i < n; i += 4) _mm256_storeu_pd(d + i, reduce_fp(_mm256_loadu_pd(d + i), q, qinv));
}

void ntt_inverse_fp_signed(double* d, const NttTables& tb) {
  const std::size_t n = tb.n();
  const double qv = static_cast<double>(tb.modulus().value);
  const F q = _mm256_set1_pd(qv), qinv = _mm256_set1_pd(1.0 / qv);
  auto bf = [q, qinv](F& X, F& Y, F W) {
    const F D = _mm256_sub_pd(X, Y);
    X = reduce_signed(_mm256_add_pd(X, Y), q, qinv);
    Y = mul_mod_fp_signed(D, W, q, qinv);
  };
  const u64* w = tb.inv_root_pows().data();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m >= 1; m >>= 1, t <<= 1) stage_fp(d, n, m, t, w, bf);
  const F ni = _mm256_set1_pd(static_cast<double>(tb.n_inv()));
  for (std::size_t i = 0; i < n; i += 4)
    _mm256_storeu_pd(d + i, reduce_fp(mul_mod_fp_signed(_mm256_loadu_pd(d + i), ni, q, qinv), q, qinv));
}

void ntt_forward_fp(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const double qv = static_cast<double>(tb.modulus().value);
  const F q = _mm256_set1_pd(qv), two_q = _mm256_set1_pd(2 * qv), qinv = _mm256_set1_pd(1.0 / qv);
  double* d = as_doubles(a, n);
  if (tb.modulus().value < kSignedLazyBound && n <= (std::size_t{1} << 17)) {
    ntt_forward_fp_signed(d, tb);
    return back_to_u64(d, n);
  }
  for (std::size_t i = 0; i < n; i += 4) {  // input < 4q -> [0, 2q)
    _mm256_storeu_pd(d + i, sub_if_at_least(_mm256_loadu_pd(d + i), two_q));
  }
  auto bf = [q, two_q, qinv](F& X, F& Y, F W) {
    const F T = mul_mod_fp_lazy(Y, W, q, qinv);
    Y = add_if_negative(_mm256_sub_pd(X, T), two_q);
    X = sub_if_at_least(_mm256_add_pd(X, T), two_q);
  };
  const u64* w = tb.root_pows().data();
  std::size_t t = n;
  for (std::size_t m = 1; m < n; m <<= 1) {
    t >>= 1;
    stage_fp(d, n, m, t, w, bf);
  }
  for (std::size_t i = 0; i < n; i += 4) _mm256_storeu_pd(d + i, sub_if_at_least(_mm256_loadu_pd(d + i), q));
  back_to_u64(d, n);
}

void ntt_inverse_fp(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const double qv = static_cast<double>(tb.modulus().value);
  const F q = _mm256_set1_pd(qv), two_q = _mm256_set1_pd(2 * qv), qinv = _mm256_set1_pd(1.0 / qv);
  double* d = as_doubles(a, n);
  if (tb.modulus().value < kSignedLazyBound) {
    ntt_inverse_fp_signed(d, tb);
    return back_to_u64(d, n);
  }
  auto bf = [q, two_q, qinv](F& X, F& Y, F W) {
    const F U = sub_if_at_least(_mm256_add_pd(X, Y), two_q);
    const F D = add_if_negative(_mm256_sub_pd(X, Y), two_q);
    X = U;
    Y = mul_mod_fp_lazy(D, W, q, qinv);
  };
  const u64* w = tb.inv_root_pows().data();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m >= 1; m >>= 1, t <<= 1) stage_fp(d, n, m, t, w, bf);
  const F ni = _mm256_set1_pd(static_cast<double>(tb.n_inv()));
  for (std::size_t i = 0; i < n; i += 4)
    _mm256_storeu_pd(d + i, sub_if_at_least(mul_mod_fp_lazy(_mm256_loadu_pd(d + i), ni, q, qinv), q));
  back_to_u64(d, n);
}

void ntt_forward_int(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const V q = set1(tb.modulus().value), two_q = set1(2 * tb.modulus().value);
  // Input < 4q -> [0, 2q).
  for (std::size_t i = 0; i < n; i += 4) store(a + i, reduce_once(load(a + i), two_q));
  auto bf = [q, two_q](V& X, V& Y, V W, V W32) {
    const V T = mul_shoup32_lazy(Y, W, W32, q);
    Y = reduce_once(_mm256_add_epi64(_mm256_sub_epi64(X, T), two_q), two_q);
    X = reduce_once(_mm256_add_epi64(X, T), two_q);
  };
  const u64* w = tb.root_pows().data();
  const u64* ws = tb.root_pows_shoup().data();
  std::size_t t = n;
  for (std::size_t m = 1; m < n; m <<= 1) {
    t >>= 1;
    stage(a, n, m, t, w, ws, bf);
  }
  for (std::size_t i = 0; i < n; i += 4) store(a + i, reduce_once(load(a + i), q));
}

void ntt_inverse_int(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const V q = set1(tb.modulus().value), two_q = set1(2 * tb.modulus().value);
  auto bf = [q, two_q](V& X, V& Y, V W, V W32) {
    const V U = reduce_once(_mm256_add_epi64(X, Y), two_q);
    const V D = reduce_once(_mm256_add_epi64(_mm256_sub_epi64(X, Y), two_q), two_q);
    X = U;
    Y = mul_shoup32_lazy(D, W, W32, q);
  };
  const u64* w = tb.inv_root_pows().data();
  const u64* ws = tb.inv_root_pows_shoup().data();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m >= 1; m >>= 1, t <<= 1) stage(a, n, m, t, w, ws, bf);
  const V ni = set1(tb.n_inv()), ni32 = set1(tb.n_inv_shoup() >> 32);
  for (std::size_t i = 0; i < n; i += 4) store(a + i, reduce_once(mul_shoup32_lazy(load(a + i), ni, ni32, q), q));
}

}  // namespace

void ntt_forward(u64* a, const NttTables& t) {
  if (t.modulus().value < (u64{1} << 31)) return ntt_forward_int(a, t);
  ntt_forward_fp(a, t);
}

void ntt_inverse(u64* a, const NttTables& t) {
  if (t.modulus().value < (u64{1} << 31)) return ntt_inverse_int(a, t);
  ntt_inverse_fp(a, t);
}

}  // namespace hemi::math::simd::avx2

#undef HEMI_AVX2_REGION
HEMI_TARGET_END()
#endif  // __x86_64__
