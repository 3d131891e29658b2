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
