// AVX-512 IFMA element-wise kernels for q < 2^50 (contracts in eltwise.h and simd_kernels.h).
// Tails use the scalar kernels.
#include "hemi/math/eltwise.h"
#include "hemi/math/simd_kernels.h"
#include "hemi/math/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

HEMI_TARGET_BEGIN("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw")
#define HEMI_IFMA_REGION

namespace hemi::math::simd::ifma {

#include "hemi/math/ifma_ops.h"

void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V s = _mm512_add_epi64(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i));
    _mm512_storeu_si512(x + i, reduce_once(s, q));
  }
  scalar::add_mod_vec(x + i, y + i, n - i, qv);
}

void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V d = _mm512_add_epi64(_mm512_sub_epi64(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i)), q);
    _mm512_storeu_si512(x + i, reduce_once(d, q));
  }
  scalar::sub_mod_vec(x + i, y + i, n - i, qv);
}

// Barrett for x = a * b < q^2 < 2^100 with k = bits(q): c1 = x >> (k-1) < 2^51,
// estimate = (c1 * mu) >> 52 with mu = floor(2^(k+51) / q) < 2^52; the remainder is < 4q.
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  const int k = m.bits;
  const V q = set1(m.value), two_q = set1(2 * m.value), m52 = mask52();
  const u64 mu = static_cast<u64>((static_cast<u128>(1) << (k + 51)) / m.value);
  const V vmu = set1(mu);
  const V zero = _mm512_setzero_si512();
  const __m128i shift_lo = _mm_cvtsi32_si128(k - 1), shift_hi = _mm_cvtsi32_si128(52 - (k - 1));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(y + i);
    V lo = _mm512_madd52lo_epu64(zero, a, b);
    V hi = _mm512_madd52hi_epu64(zero, a, b);
    V c1 = _mm512_or_si512(_mm512_srl_epi64(lo, shift_lo), _mm512_sll_epi64(hi, shift_hi));
    c1 = _mm512_and_si512(c1, m52);
    V est = _mm512_madd52hi_epu64(zero, c1, vmu);
    V r = _mm512_and_si512(_mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, est, q)), m52);
    r = reduce_once(reduce_once(r, two_q), q);
    _mm512_storeu_si512(out + i, r);
  }
  scalar::mul_mod_vec(out + i, x + i, y + i, n - i, m);
}

void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 qv) {
  const V q = set1(qv), vw = set1(w), vws = set1(w_shoup >> 12);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V v = mul_shoup52(_mm512_loadu_si512(x + i), vw, vws, q);
    _mm512_storeu_si512(x + i, reduce_once(v, q));
  }
  scalar::mul_scalar_vec(x + i, n - i, w, w_shoup, qv);
}

void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 qv) {
  const V q = set1(qv), two_q = set1(2 * qv);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const V v = _mm512_loadu_si512(x + i);
    // 64-bit Shoup factor >> 12 = the 52-bit one: floor(floor(w 2^64/q) / 2^12) = floor(w 2^52/q)
    V wsv = _mm512_srli_epi64(_mm512_loadu_si512(ws + i), 12);
    V prod = mul_shoup52(v, _mm512_loadu_si512(w + i), wsv, q);
    V a = _mm512_add_epi64(_mm512_loadu_si512(acc + i), prod);
    _mm512_storeu_si512(acc + i, reduce_once(a, two_q));
  }
  scalar::mac_shoup_lazy(acc + i, x + i, w + i, ws + i, n - i, qv);
}

void reduce_from_2q(u64* x, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm512_storeu_si512(x + i, reduce_once(_mm512_loadu_si512(x + i), q));
  scalar::reduce_from_2q(x + i, n - i, qv);
}

void dot_accumulate(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n) {
  const V vw = set1(w);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V v = _mm512_loadu_si512(x + i);
    _mm512_storeu_si512(lo + i, _mm512_madd52lo_epu64(_mm512_loadu_si512(lo + i), v, vw));
    _mm512_storeu_si512(hi + i, _mm512_madd52hi_epu64(_mm512_loadu_si512(hi + i), v, vw));
  }
  for (; i < n; ++i) {
    const u128 p = static_cast<u128>(x[i]) * w;
    lo[i] += static_cast<u64>(p) & ((u64{1} << 52) - 1);
    hi[i] += static_cast<u64>(p >> 52);
  }
}

void dot_accumulate_terms(u64* lo, u64* hi, const u64* const* x, const u64* w, std::size_t terms, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V sl = _mm512_loadu_si512(lo + i), sh = _mm512_loadu_si512(hi + i);
    for (std::size_t t = 0; t < terms; ++t) {
      const V v = _mm512_loadu_si512(x[t] + i), vw = set1(w[t]);
      sl = _mm512_madd52lo_epu64(sl, v, vw);
      sh = _mm512_madd52hi_epu64(sh, v, vw);
    }
    _mm512_storeu_si512(lo + i, sl);
    _mm512_storeu_si512(hi + i, sh);
  }
  for (; i < n; ++i) {
    for (std::size_t t = 0; t < terms; ++t) {
      const u128 p = static_cast<u128>(x[t][i]) * w[t];
      lo[i] += static_cast<u64>(p) & ((u64{1} << 52) - 1);
      hi[i] += static_cast<u64>(p >> 52);
    }
  }
}

void product_accumulate(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(y + i);
    _mm512_storeu_si512(lo + i, _mm512_madd52lo_epu64(_mm512_loadu_si512(lo + i), a, b));
    _mm512_storeu_si512(hi + i, _mm512_madd52hi_epu64(_mm512_loadu_si512(hi + i), a, b));
  }
  for (; i < n; ++i) {
    const u128 p = static_cast<u128>(x[i]) * y[i];
    lo[i] += static_cast<u64>(p) & ((u64{1} << 52) - 1);
    hi[i] += static_cast<u64>(p >> 52);
  }
}

}  // namespace hemi::math::simd::ifma

#undef HEMI_IFMA_REGION
HEMI_TARGET_END()
#endif  // __x86_64__
