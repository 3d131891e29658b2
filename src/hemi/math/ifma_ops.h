// Inline AVX-512 IFMA helpers for the ifma kernel files only. Include this header inside their
// `#pragma GCC target("avx512f,avx512ifma,...")` region and namespace hemi::math::simd::ifma,
// never elsewhere: its functions are compiled for AVX-512.
#ifndef HEMI_IFMA_REGION
#error "ifma_ops.h belongs inside an AVX-512 IFMA target region (see ntt_ifma.cpp)"
#endif

namespace {

using V = __m512i;

inline V set1(u64 v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
inline V mask52() { return set1((u64{1} << 52) - 1); }

// x in [0, 2m) -> x mod m (x in [0, m) kept).
inline V reduce_once(V x, V m) { return _mm512_min_epu64(x, _mm512_sub_epi64(x, m)); }

// y * w mod q in [0, 2q), for y < 2^52, w < q < 2^50, ws = floor(w 2^52 / q).
inline V mul_shoup52(V y, V w, V ws, V q) {
  const V zero = _mm512_setzero_si512();
  const V quot = _mm512_madd52hi_epu64(zero, y, ws);
  const V lo = _mm512_madd52lo_epu64(zero, y, w);
  return _mm512_and_si512(_mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, quot, q)), mask52());
}

}  // namespace
