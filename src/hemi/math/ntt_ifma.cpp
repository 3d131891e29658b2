// AVX-512 IFMA NTT kernels (52-bit lanes): Harvey butterflies with 52-bit Shoup factors, for
// q < 2^50 so that lazy values below 4q fit in 52 bits. Stages with butterfly distance t >= 8
// work on whole vectors; t = 4, 2, 1 regroup two vectors with permutes.
#include <immintrin.h>

#include "hemi/math/ntt.h"
#include "hemi/math/simd.h"

namespace hemi::math::simd {

namespace {

const __m512i kMask52 = _mm512_set1_epi64((1ull << 52) - 1);

// y * w mod q in [0, 2q), for y < 2^52, w < q < 2^50, ws = floor(w 2^52 / q).
inline __m512i mul_shoup52(__m512i y, __m512i w, __m512i ws, __m512i q) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i quot = _mm512_madd52hi_epu64(zero, y, ws);
  __m512i lo = _mm512_madd52lo_epu64(zero, y, w);
  __m512i sub = _mm512_madd52lo_epu64(zero, quot, q);
  return _mm512_and_si512(_mm512_sub_epi64(lo, sub), kMask52);
}

// x in [0, 2m) -> x mod m (x in [0, m) kept).
inline __m512i reduce_once(__m512i x, __m512i m) { return _mm512_min_epu64(x, _mm512_sub_epi64(x, m)); }

struct Perm {
  __m512i x, y;        // gather X and Y halves from (v0, v1)
  __m512i back0, back1;  // scatter back from (X, Y)
  __m512i twiddle;     // replicate consecutive twiddles
};

Perm perm_for(std::size_t t) {
  Perm p;
  if (t == 4) {
    p.x = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
    p.y = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
    p.back0 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
    p.back1 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
    p.twiddle = _mm512_setr_epi64(0, 0, 0, 0, 1, 1, 1, 1);
  } else if (t == 2) {
    p.x = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13);
    p.y = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
    p.back0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    p.back1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    p.twiddle = _mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3);
  } else {  // t == 1
    p.x = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    p.y = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    p.back0 = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    p.back1 = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    p.twiddle = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  }
  return p;
}

// One stage with butterfly distance t >= 8: whole vectors, one twiddle per group.
template <typename Butterfly>
void wide_stage(u64* a, std::size_t m, std::size_t t, const u64* w, const u64* ws, Butterfly&& butterfly) {
  for (std::size_t i = 0; i < m; ++i) {
    const __m512i W = _mm512_set1_epi64(static_cast<long long>(w[m + i]));
    const __m512i Ws = _mm512_set1_epi64(static_cast<long long>(ws[m + i]));
    u64* x = a + 2 * i * t;
    u64* y = x + t;
    for (std::size_t j = 0; j < t; j += 8) {
      __m512i X = _mm512_loadu_si512(x + j), Y = _mm512_loadu_si512(y + j);
      butterfly(X, Y, W, Ws);
      _mm512_storeu_si512(x + j, X);
      _mm512_storeu_si512(y + j, Y);
    }
  }
}

// One stage with t = 4, 2 or 1: regroup two vectors into X and Y halves and back.
template <typename Butterfly>
void narrow_stage(u64* a, std::size_t n, std::size_t m, std::size_t t, const u64* w, const u64* ws,
                  Butterfly&& butterfly) {
  const Perm p = perm_for(t);
  const std::size_t blocks_per_16 = 16 / (2 * t);
  for (std::size_t k = 0, i = 0; k < n; k += 16, i += blocks_per_16) {
    __m512i v0 = _mm512_loadu_si512(a + k), v1 = _mm512_loadu_si512(a + k + 8);
    __m512i X = _mm512_permutex2var_epi64(v0, p.x, v1);
    __m512i Y = _mm512_permutex2var_epi64(v0, p.y, v1);
    __m512i W = _mm512_permutexvar_epi64(p.twiddle, _mm512_loadu_si512(w + m + i));
    __m512i Ws = _mm512_permutexvar_epi64(p.twiddle, _mm512_loadu_si512(ws + m + i));
    butterfly(X, Y, W, Ws);
    _mm512_storeu_si512(a + k, _mm512_permutex2var_epi64(X, p.back0, Y));
    _mm512_storeu_si512(a + k + 8, _mm512_permutex2var_epi64(X, p.back1, Y));
  }
}

}  // namespace

void ntt_forward_ifma(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(tb.modulus().value));
  const __m512i two_q = _mm512_add_epi64(q, q);
  const u64* w = tb.root_pows().data();
  const u64* ws = tb.root_pows_shoup52().data();
  auto butterfly = [&](__m512i& X, __m512i& Y, __m512i W, __m512i Ws) {
    X = reduce_once(X, two_q);
    __m512i T = mul_shoup52(Y, W, Ws, q);
    Y = _mm512_add_epi64(_mm512_sub_epi64(X, T), two_q);
    X = _mm512_add_epi64(X, T);
  };
  std::size_t t = n;
  std::size_t m = 1;
  for (; m < n && (t >> 1) >= 8; m <<= 1) {
    t >>= 1;
    wide_stage(a, m, t, w, ws, butterfly);
  }
  for (; m < n; m <<= 1) {
    t >>= 1;  // 4, 2, 1
    narrow_stage(a, n, m, t, w, ws, butterfly);
  }
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i v = _mm512_loadu_si512(a + i);
    v = reduce_once(reduce_once(v, two_q), q);
    _mm512_storeu_si512(a + i, v);
  }
}

void ntt_inverse_ifma(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(tb.modulus().value));
  const __m512i two_q = _mm512_add_epi64(q, q);
  const u64* w = tb.inv_root_pows().data();
  const u64* ws = tb.inv_root_pows_shoup52().data();
  auto butterfly = [&](__m512i& X, __m512i& Y, __m512i W, __m512i Ws) {
    __m512i U = reduce_once(_mm512_add_epi64(X, Y), two_q);
    __m512i V = _mm512_add_epi64(_mm512_sub_epi64(X, Y), two_q);
    X = U;
    Y = mul_shoup52(V, W, Ws, q);
  };
  std::size_t t = 1;
  std::size_t m = n >> 1;
  for (; t < 8; m >>= 1, t <<= 1) narrow_stage(a, n, m, t, w, ws, butterfly);
  for (; m >= 1; m >>= 1, t <<= 1) wide_stage(a, m, t, w, ws, butterfly);
  const __m512i ni = _mm512_set1_epi64(static_cast<long long>(tb.n_inv()));
  const __m512i nis = _mm512_set1_epi64(static_cast<long long>(tb.n_inv_shoup52()));
  for (std::size_t i = 0; i < n; i += 8) {
    __m512i v = _mm512_loadu_si512(a + i);
    v = reduce_once(mul_shoup52(v, ni, nis, q), q);
    _mm512_storeu_si512(a + i, v);
  }
}

}  // namespace hemi::math::simd
