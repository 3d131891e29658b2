// AVX-512 IFMA element-wise kernels for q < 2^50 (see eltwise.h for the contracts).
#include <immintrin.h>

#include <bit>

#include "hemi/math/eltwise.h"

namespace hemi::math::simd {

namespace {
const __m512i kMask52 = _mm512_set1_epi64((1ll << 52) - 1);
inline __m512i set1(u64 v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
// x in [0, 2m) -> x mod m
inline __m512i reduce_once(__m512i x, __m512i m) { return _mm512_min_epu64(x, _mm512_sub_epi64(x, m)); }
// y * w mod q in [0, 2q) for y < 2^52, ws52 = floor(w 2^52 / q)
inline __m512i mul_shoup52(__m512i y, __m512i w, __m512i ws52, __m512i q) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i quot = _mm512_madd52hi_epu64(zero, y, ws52);
  __m512i lo = _mm512_madd52lo_epu64(zero, y, w);
  return _mm512_and_si512(_mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, quot, q)), kMask52);
}
}  // namespace

void add_mod_vec_ifma(u64* x, const u64* y, std::size_t n, u64 qv) {
  const __m512i q = set1(qv);
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i s = _mm512_add_epi64(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i));
    _mm512_storeu_si512(x + i, reduce_once(s, q));
  }
}

void sub_mod_vec_ifma(u64* x, const u64* y, std::size_t n, u64 qv) {
  const __m512i q = set1(qv);
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i d = _mm512_add_epi64(_mm512_sub_epi64(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i)), q);
    _mm512_storeu_si512(x + i, reduce_once(d, q));
  }
}

// Barrett for x = a * b < q^2 < 2^100 with k = bits(q): c1 = x >> (k-1) < 2^51,
// estimate = (c1 * mu) >> 52 with mu = floor(2^(k+51) / q) < 2^52; the remainder is < 4q.
void mul_mod_vec_ifma(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  const int k = m.bits;
  const __m512i q = set1(m.value), two_q = set1(2 * m.value);
  const u64 mu = static_cast<u64>((static_cast<u128>(1) << (k + 51)) / m.value);
  const __m512i vmu = set1(mu);
  const __m512i zero = _mm512_setzero_si512();
  const __m128i shift_lo = _mm_cvtsi32_si128(k - 1), shift_hi = _mm_cvtsi32_si128(52 - (k - 1));
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(y + i);
    __m512i lo = _mm512_madd52lo_epu64(zero, a, b);
    __m512i hi = _mm512_madd52hi_epu64(zero, a, b);
    __m512i c1 = _mm512_or_si512(_mm512_srl_epi64(lo, shift_lo), _mm512_sll_epi64(hi, shift_hi));
    c1 = _mm512_and_si512(c1, kMask52);
    __m512i est = _mm512_madd52hi_epu64(zero, c1, vmu);
    __m512i r = _mm512_and_si512(_mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, est, q)), kMask52);
    r = reduce_once(reduce_once(r, two_q), q);
    _mm512_storeu_si512(out + i, r);
  }
}

void mul_scalar_vec_ifma(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 qv) {
  const __m512i q = set1(qv), vw = set1(w), vws = set1(w_shoup >> 12);
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i v = mul_shoup52(_mm512_loadu_si512(x + i), vw, vws, q);
    _mm512_storeu_si512(x + i, reduce_once(v, q));
  }
}

void mac_shoup_lazy_ifma(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 qv) {
  const __m512i q = set1(qv), two_q = set1(2 * qv);
  for (std::size_t i = 0; i < n; i += 8) {
    const __m512i v = _mm512_loadu_si512(x + i);
    // 64-bit Shoup factor >> 12 = the 52-bit one: floor(floor(w 2^64/q) / 2^12) = floor(w 2^52/q)
    __m512i wsv = _mm512_srli_epi64(_mm512_loadu_si512(ws + i), 12);
    __m512i prod = mul_shoup52(v, _mm512_loadu_si512(w + i), wsv, q);
    __m512i a = _mm512_add_epi64(_mm512_loadu_si512(acc + i), prod);
    _mm512_storeu_si512(acc + i, reduce_once(a, two_q));
  }
}

void reduce_from_2q_ifma(u64* x, std::size_t n, u64 qv) {
  const __m512i q = set1(qv);
  for (std::size_t i = 0; i < n; i += 8) _mm512_storeu_si512(x + i, reduce_once(_mm512_loadu_si512(x + i), q));
}

void dot_accumulate_ifma(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n) {
  const __m512i vw = set1(w);
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i v = _mm512_loadu_si512(x + i);
    _mm512_storeu_si512(lo + i, _mm512_madd52lo_epu64(_mm512_loadu_si512(lo + i), v, vw));
    _mm512_storeu_si512(hi + i, _mm512_madd52hi_epu64(_mm512_loadu_si512(hi + i), v, vw));
  }
}

void product_accumulate_ifma(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(y + i);
    _mm512_storeu_si512(lo + i, _mm512_madd52lo_epu64(_mm512_loadu_si512(lo + i), a, b));
    _mm512_storeu_si512(hi + i, _mm512_madd52hi_epu64(_mm512_loadu_si512(hi + i), a, b));
  }
}

}  // namespace hemi::math::simd
