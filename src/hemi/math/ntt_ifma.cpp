// AVX-512 IFMA NTT kernels (52-bit lanes): Harvey butterflies with 52-bit Shoup factors, for
// q < 2^50 so that lazy values below 4q fit in 52 bits. Stages with butterfly distance t >= 8
// work on whole vectors; t = 4, 2, 1 regroup two vectors with permutes. Compiled inside a
// target region and namespace of its own (simd_kernels.h); n >= 16.
#include "hemi/math/ntt.h"
#include "hemi/math/simd_kernels.h"
#include "hemi/math/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

HEMI_TARGET_BEGIN("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw")
#define HEMI_IFMA_REGION

namespace hemi::math::simd::ifma {

#include "hemi/math/ifma_ops.h"

namespace {

struct Perm {
  __m512i x, y;          // gather X and Y halves from (v0, v1)
  __m512i back0, back1;  // scatter back from (X, Y)
  __m512i twiddle;       // replicate consecutive twiddles
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
    const V W = set1(w[m + i]);
    const V Ws = set1(ws[m + i]);
    u64* x = a + 2 * i * t;
    u64* y = x + t;
    for (std::size_t j = 0; j < t; j += 8) {
      V X = _mm512_loadu_si512(x + j), Y = _mm512_loadu_si512(y + j);
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
    V v0 = _mm512_loadu_si512(a + k), v1 = _mm512_loadu_si512(a + k + 8);
    V X = _mm512_permutex2var_epi64(v0, p.x, v1);
    V Y = _mm512_permutex2var_epi64(v0, p.y, v1);
    V W = _mm512_permutexvar_epi64(p.twiddle, _mm512_loadu_si512(w + m + i));
    V Ws = _mm512_permutexvar_epi64(p.twiddle, _mm512_loadu_si512(ws + m + i));
    butterfly(X, Y, W, Ws);
    _mm512_storeu_si512(a + k, _mm512_permutex2var_epi64(X, p.back0, Y));
    _mm512_storeu_si512(a + k + 8, _mm512_permutex2var_epi64(X, p.back1, Y));
  }
}

}  // namespace

void ntt_forward(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const V q = set1(tb.modulus().value);
  const V two_q = _mm512_add_epi64(q, q);
  const u64* w = tb.root_pows().data();
  const u64* ws = tb.root_pows_shoup52().data();
  auto butterfly = [&](V& X, V& Y, V W, V Ws) {
    X = reduce_once(X, two_q);
    V T = mul_shoup52(Y, W, Ws, q);
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
    V v = _mm512_loadu_si512(a + i);
    v = reduce_once(reduce_once(v, two_q), q);
    _mm512_storeu_si512(a + i, v);
  }
}

void ntt_inverse(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const V q = set1(tb.modulus().value);
  const V two_q = _mm512_add_epi64(q, q);
  const u64* w = tb.inv_root_pows().data();
  const u64* ws = tb.inv_root_pows_shoup52().data();
  auto butterfly = [&](V& X, V& Y, V W, V Ws) {
    V U = reduce_once(_mm512_add_epi64(X, Y), two_q);
    V D = _mm512_add_epi64(_mm512_sub_epi64(X, Y), two_q);
    X = U;
    Y = mul_shoup52(D, W, Ws, q);
  };
  std::size_t t = 1;
  std::size_t m = n >> 1;
  for (; t < 8; m >>= 1, t <<= 1) narrow_stage(a, n, m, t, w, ws, butterfly);
  for (; m >= 1; m >>= 1, t <<= 1) wide_stage(a, m, t, w, ws, butterfly);
  const V ni = set1(tb.n_inv());
  const V nis = set1(tb.n_inv_shoup52());
  for (std::size_t i = 0; i < n; i += 8) {
    V v = _mm512_loadu_si512(a + i);
    v = reduce_once(mul_shoup52(v, ni, nis, q), q);
    _mm512_storeu_si512(a + i, v);
  }
}

}  // namespace hemi::math::simd::ifma

#undef HEMI_IFMA_REGION
HEMI_TARGET_END()
#endif  // __x86_64__
