// Inline AVX2 helpers for the avx2 kernel files only. Include this header inside their
// `#pragma GCC target("avx2,bmi2")` region and namespace hemi::math::simd::avx2, never elsewhere:
// its functions are compiled for AVX2.
#ifndef HEMI_AVX2_REGION
#error "avx2_ops.h belongs inside an AVX2 target region (see ntt_avx2.cpp)"
#endif

namespace {

using V = __m256i;

inline V load(const u64* p) { return _mm256_loadu_si256(reinterpret_cast<const V*>(p)); }
inline void store(u64* p, V v) { _mm256_storeu_si256(reinterpret_cast<V*>(p), v); }
inline V set1(u64 v) { return _mm256_set1_epi64x(static_cast<long long>(v)); }

// x < 2m (all lanes below 2^63) -> x mod m.
inline V reduce_once(V x, V m) { return _mm256_sub_epi64(x, _mm256_andnot_si256(_mm256_cmpgt_epi64(m, x), m)); }

// x < 2^32, w < q < 2^31, w32 = floor(w 2^32 / q) -> x w mod q in [0, 2q) (Shoup).
inline V mul_shoup32_lazy(V x, V w, V w32, V q) {
  const V quot = _mm256_srli_epi64(_mm256_mul_epu32(x, w32), 32);
  return _mm256_sub_epi64(_mm256_mul_epu32(x, w), _mm256_mul_epu32(quot, q));
}

// x < 2^32, b < 2^31, mu = floor(2^32 / b) -> x mod b (Barrett; the estimate is short by at
// most one, so one correction).
inline V reduce_32(V x, V b, V mu) {
  const V quot = _mm256_srli_epi64(_mm256_mul_epu32(x, mu), 32);
  return reduce_once(_mm256_sub_epi64(x, _mm256_mul_epu32(quot, b)), b);
}

}  // namespace

// Primes from 2^31 to 2^50: exact modular products in double precision. Integers below 2^52
// convert exactly to and from doubles with the 2^52 bias trick; x w = h + l exactly
// (h = fl(x w), l = fma(x, w, -h)), and with quot = floor(h / q) (off by at most one for
// x < 2^51) x w - quot q = (h - quot q) + (l - fma residue) is an exact integer in [-q, 2q).
namespace {

using F = __m256d;

inline F bias() { return _mm256_set1_pd(4503599627370496.0); }  // 2^52
// x < 2^52 -> double(x)
inline F to_double(V x) {
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(x, _mm256_castpd_si256(bias()))), bias());
}
// an integer-valued double in [0, 2^52) -> u64
inline V to_u64(F d) {
  return _mm256_xor_si256(_mm256_castpd_si256(_mm256_add_pd(d, bias())), _mm256_castpd_si256(bias()));
}
// x w - quot q exactly, for |x| < 2^51, w < q < 2^50 (integer-valued doubles), qinv = fl(1/q);
// quot = floor (kNearest false: result in [-q, 2q)) or the nearest integer (|result| <= 1.5q)
// of fl(x w) / q.
template <bool kNearest>
inline F mul_mod_fp_quot(F x, F w, F q, F qinv) {
  const F h = _mm256_mul_pd(x, w);
  const F l = _mm256_fmsub_pd(x, w, h);
  const F e = _mm256_mul_pd(h, qinv);
  F quot;
  if constexpr (kNearest)
    quot = _mm256_round_pd(e, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  else
    quot = _mm256_floor_pd(e);
  const F qh = _mm256_mul_pd(quot, q);
  const F ql = _mm256_fmsub_pd(quot, q, qh);
  return _mm256_add_pd(_mm256_sub_pd(h, qh), _mm256_sub_pd(l, ql));
}
inline F mul_mod_fp_raw(F x, F w, F q, F qinv) { return mul_mod_fp_quot<false>(x, w, q, qinv); }
// r + m where r < 0 (r in [-m, m) -> [0, m))
inline F add_if_negative(F r, F m) {
  return _mm256_add_pd(r, _mm256_and_pd(_mm256_cmp_pd(r, _mm256_setzero_pd(), _CMP_LT_OQ), m));
}
// r - m where r >= m (r in [0, 2m) -> [0, m))
inline F sub_if_at_least(F r, F m) {
  return _mm256_sub_pd(r, _mm256_and_pd(_mm256_cmp_pd(r, m, _CMP_GE_OQ), m));
}
// x w mod q in [0, 2q)
inline F mul_mod_fp_lazy(F x, F w, F q, F qinv) { return add_if_negative(mul_mod_fp_raw(x, w, q, qinv), q); }
// Signed lazy forms (the NTT for q < 2^46): values are integers of either sign, kept small
// instead of in [0, 2q). round() in place of floor() centres the remainder.
inline F round_nearest(F x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline F mul_mod_fp_signed(F x, F w, F q, F qinv) { return mul_mod_fp_quot<true>(x, w, q, qinv); }
// |x| < 2^52 -> x - round(x / q) q, |result| <= q/2 + 1 ulp of the estimate (< q), exact.
inline F reduce_signed(F x, F q, F qinv) { return _mm256_fnmadd_pd(round_nearest(_mm256_mul_pd(x, qinv)), q, x); }
// x < 2^52, b < 2^50 -> x mod b (the quotient estimate is off by at most one)
inline F reduce_fp(F x, F b, F binv) {
  const F quot = _mm256_floor_pd(_mm256_mul_pd(x, binv));
  const F r = _mm256_fnmadd_pd(quot, b, x);  // exact: every term is an integer below 2^53
  return sub_if_at_least(add_if_negative(r, b), b);
}

}  // namespace
