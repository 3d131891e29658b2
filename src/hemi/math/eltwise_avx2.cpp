// AVX2 element-wise kernels (contracts in eltwise.h and simd_kernels.h). For q < 2^31 the
// operands fit 32 bits in 64-bit lanes, so each product is one _mm256_mul_epu32; for
// 2^31 <= q < 2^50 products are exact in double precision (avx2_ops.h); additions work on any
// q below 2^62. Tails use the scalar kernels.
#include "hemi/math/eltwise.h"
#include "hemi/math/simd_kernels.h"
#include "hemi/math/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

HEMI_TARGET_BEGIN("avx2,bmi2,fma")
#define HEMI_AVX2_REGION

namespace hemi::math::simd::avx2 {

#include "hemi/math/avx2_ops.h"

namespace {
constexpr u64 kInt = u64{1} << 31;  // below: the 32-bit-operand kernels; above: doubles

// Wide primes: out[i] = x[i] * y_at(i) mod q through doubles, for x, y < q; advances i.
template <typename Y>
void mul_fp(u64* out, const u64* x, Y&& y_at, std::size_t n, u64 qv, std::size_t& i) {
  const F q = _mm256_set1_pd(static_cast<double>(qv)), qinv = _mm256_set1_pd(1.0 / static_cast<double>(qv));
  for (; i + 4 <= n; i += 4) {
    const F r = mul_mod_fp_lazy(to_double(load(x + i)), y_at(i), q, qinv);
    store(out + i, to_u64(sub_if_at_least(r, q)));
  }
}
}  // namespace

void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) store(x + i, reduce_once(_mm256_add_epi64(load(x + i), load(y + i)), q));
  scalar::add_mod_vec(x + i, y + i, n - i, qv);
}

void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    store(x + i, reduce_once(_mm256_add_epi64(_mm256_sub_epi64(load(x + i), load(y + i)), q), q));
  scalar::sub_mod_vec(x + i, y + i, n - i, qv);
}

// Barrett with k = bits(q) <= 31: p = x y < 2^2k, c1 = p >> (k-1) < 2^(k+1), mu = floor(2^2k / q)
// < 2^(k+1), estimate (c1 mu) >> (k+1) is short by at most 2, so the remainder is < 3q.
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  if (m.value >= kInt) {
    std::size_t i = 0;
    mul_fp(out, x, [y](std::size_t j) { return to_double(load(y + j)); }, n, m.value, i);
    return scalar::mul_mod_vec(out + i, x + i, y + i, n - i, m);
  }
  const int k = m.bits;
  const V q = set1(m.value), two_q = set1(2 * m.value);
  const V mu = set1(static_cast<u64>((u128{1} << (2 * k)) / m.value));
  const __m128i s1 = _mm_cvtsi32_si128(k - 1), s2 = _mm_cvtsi32_si128(k + 1);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V p = _mm256_mul_epu32(load(x + i), load(y + i));
    const V est = _mm256_srl_epi64(_mm256_mul_epu32(_mm256_srl_epi64(p, s1), mu), s2);
    const V r = _mm256_sub_epi64(p, _mm256_mul_epu32(est, q));
    store(out + i, reduce_once(reduce_once(r, two_q), q));
  }
  scalar::mul_mod_vec(out + i, x + i, y + i, n - i, m);
}

void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 qv) {
  if (qv >= kInt) {
    std::size_t i = 0;
    const F wd = _mm256_set1_pd(static_cast<double>(w));
    mul_fp(x, x, [wd](std::size_t) { return wd; }, n, qv, i);
    return scalar::mul_scalar_vec(x + i, n - i, w, w_shoup, qv);
  }
  const V q = set1(qv), vw = set1(w), w32 = set1(w_shoup >> 32);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) store(x + i, reduce_once(mul_shoup32_lazy(load(x + i), vw, w32, q), q));
  scalar::mul_scalar_vec(x + i, n - i, w, w_shoup, qv);
}

void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 qv) {
  const V q = set1(qv), two_q = set1(2 * qv);
  std::size_t i = 0;
  if (qv >= kInt) {
    const F qd = _mm256_set1_pd(static_cast<double>(qv)), qinv = _mm256_set1_pd(1.0 / static_cast<double>(qv));
    for (; i + 4 <= n; i += 4) {
      const V prod = to_u64(mul_mod_fp_lazy(to_double(load(x + i)), to_double(load(w + i)), qd, qinv));
      store(acc + i, reduce_once(_mm256_add_epi64(load(acc + i), prod), two_q));
    }
    return scalar::mac_shoup_lazy(acc + i, x + i, w + i, ws + i, n - i, qv);
  }
  for (; i + 4 <= n; i += 4) {
    const V prod = mul_shoup32_lazy(load(x + i), load(w + i), _mm256_srli_epi64(load(ws + i), 32), q);
    store(acc + i, reduce_once(_mm256_add_epi64(load(acc + i), prod), two_q));
  }
  scalar::mac_shoup_lazy(acc + i, x + i, w + i, ws + i, n - i, qv);
}

void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 w_shoup, u64 qv) {
  const V q = set1(qv), two_q = set1(2 * qv), vw = set1(w), w32 = set1(w_shoup >> 32);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V prod = mul_shoup32_lazy(load(x + i), vw, w32, q);
    store(acc + i, reduce_once(_mm256_add_epi64(load(acc + i), prod), two_q));
  }
  scalar::mac_scalar_lazy(acc + i, x + i, n - i, w, w_shoup, qv);
}

void reduce_from_2q(u64* x, std::size_t n, u64 qv) {
  const V q = set1(qv);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) store(x + i, reduce_once(load(x + i), q));
  scalar::reduce_from_2q(x + i, n - i, qv);
}

void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b) {
  if (a >= kInt || b.value >= kInt) {
    const double bv = static_cast<double>(b.value);
    const F fb = _mm256_set1_pd(bv), binv = _mm256_set1_pd(1.0 / bv);
    const F half = _mm256_set1_pd(static_cast<double>(a >> 1)), a_mod_b = _mm256_set1_pd(static_cast<double>(reduce_64(a, b)));
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const F v = to_double(load(x + i));
      const F sub = _mm256_and_pd(_mm256_cmp_pd(v, half, _CMP_GT_OQ), a_mod_b);  // x - a when x > a/2
      store(out + i, to_u64(add_if_negative(_mm256_sub_pd(reduce_fp(v, fb, binv), sub), fb)));
    }
    return scalar::convert_centered(out + i, x + i, n - i, a, b);
  }
  const V vb = set1(b.value), mu = set1((u64{1} << 32) / b.value);
  const V half = set1(a >> 1), a_mod_b = set1(reduce_64(a, b));
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V v = load(x + i);
    const V r = reduce_32(v, vb, mu);
    const V sub = _mm256_and_si256(_mm256_cmpgt_epi64(v, half), a_mod_b);  // x - a when x > a/2
    store(out + i, reduce_once(_mm256_add_epi64(_mm256_sub_epi64(r, sub), vb), vb));
  }
  scalar::convert_centered(out + i, x + i, n - i, a, b);
}

void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b, u64 c) {
  if (a >= kInt || b.value >= kInt) {
    const double bv = static_cast<double>(b.value);
    const F fb = _mm256_set1_pd(bv), binv = _mm256_set1_pd(1.0 / bv), fc = _mm256_set1_pd(static_cast<double>(c));
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
      store(out + i, to_u64(add_if_negative(_mm256_sub_pd(reduce_fp(to_double(load(x + i)), fb, binv), fc), fb)));
    return scalar::reduce_sub_const(out + i, x + i, n - i, a, b, c);
  }
  const V vb = set1(b.value), mu = set1((u64{1} << 32) / b.value), vc = set1(c);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V r = reduce_32(load(x + i), vb, mu);
    store(out + i, reduce_once(_mm256_add_epi64(_mm256_sub_epi64(r, vc), vb), vb));
  }
  scalar::reduce_sub_const(out + i, x + i, n - i, a, b, c);
}

void dot_accumulate(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n) {
  const V vw = set1(w), mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V p = _mm256_mul_epu32(load(x + i), vw);
    store(lo + i, _mm256_add_epi64(load(lo + i), _mm256_and_si256(p, mask)));
    store(hi + i, _mm256_add_epi64(load(hi + i), _mm256_srli_epi64(p, 32)));
  }
  for (; i < n; ++i) {
    const u64 p = x[i] * w;
    lo[i] += p & 0xffffffffu;
    hi[i] += p >> 32;
  }
}

void product_accumulate(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n) {
  const V mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V p = _mm256_mul_epu32(load(x + i), load(y + i));
    store(lo + i, _mm256_add_epi64(load(lo + i), _mm256_and_si256(p, mask)));
    store(hi + i, _mm256_add_epi64(load(hi + i), _mm256_srli_epi64(p, 32)));
  }
  for (; i < n; ++i) {
    const u64 p = x[i] * y[i];
    lo[i] += p & 0xffffffffu;
    hi[i] += p >> 32;
  }
}

// Many terms at once (q < 2^31): four products x w < 2^62 sum below 2^64, so each group of
// four is added in a register and split once; the partial sums stay in registers over all
// terms and meet memory once per coefficient.
void dot_accumulate_terms(u64* lo, u64* hi, const u64* const* x, const u64* w, std::size_t terms, std::size_t n) {
  const V mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V sl = _mm256_setzero_si256(), sh = _mm256_setzero_si256();
    std::size_t t = 0;
    for (; t + 4 <= terms; t += 4) {
      V p = _mm256_mul_epu32(load(x[t] + i), set1(w[t]));
      p = _mm256_add_epi64(p, _mm256_mul_epu32(load(x[t + 1] + i), set1(w[t + 1])));
      p = _mm256_add_epi64(p, _mm256_mul_epu32(load(x[t + 2] + i), set1(w[t + 2])));
      p = _mm256_add_epi64(p, _mm256_mul_epu32(load(x[t + 3] + i), set1(w[t + 3])));
      sl = _mm256_add_epi64(sl, _mm256_and_si256(p, mask));
      sh = _mm256_add_epi64(sh, _mm256_srli_epi64(p, 32));
    }
    for (; t < terms; ++t) {
      const V p = _mm256_mul_epu32(load(x[t] + i), set1(w[t]));
      sl = _mm256_add_epi64(sl, _mm256_and_si256(p, mask));
      sh = _mm256_add_epi64(sh, _mm256_srli_epi64(p, 32));
    }
    store(lo + i, _mm256_add_epi64(load(lo + i), sl));
    store(hi + i, _mm256_add_epi64(load(hi + i), sh));
  }
  for (; i < n; ++i) {
    for (std::size_t t = 0; t < terms; ++t) {
      const u64 p = x[t][i] * w[t];
      lo[i] += p & 0xffffffffu;
      hi[i] += p >> 32;
    }
  }
}

// The reductions that finish a dot product, in doubles (every part below 2^52 is exact):
// hi 2^32 + lo = (hi mod q)(2^32 mod q) + lo mod q; for wide primes mid is split at bit 32
// and hi 2^64 joins its upper half.
void dot_finish(u64* out, const u64* lo, const u64* hi, std::size_t n, u64 qv) {
  const F q = _mm256_set1_pd(static_cast<double>(qv)), qinv = _mm256_set1_pd(1.0 / static_cast<double>(qv));
  const F c32 = _mm256_set1_pd(static_cast<double>((u128{1} << 32) % qv));
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const F l = reduce_fp(to_double(load(lo + i)), q, qinv);
    const F h = mul_mod_fp_lazy(reduce_fp(to_double(load(hi + i)), q, qinv), c32, q, qinv);
    store(out + i, to_u64(sub_if_at_least(sub_if_at_least(_mm256_add_pd(l, h), q), q)));
  }
  for (; i < n; ++i) out[i] = static_cast<u64>(((static_cast<u128>(hi[i]) << 32) + lo[i]) % qv);
}

void dot_finish_wide(u64* out, const u64* lo, const u64* mid, const u64* hi, std::size_t n, u64 qv) {
  const F q = _mm256_set1_pd(static_cast<double>(qv)), qinv = _mm256_set1_pd(1.0 / static_cast<double>(qv));
  const F c32 = _mm256_set1_pd(static_cast<double>((u128{1} << 32) % qv));
  const F c64 = _mm256_set1_pd(static_cast<double>((u128{1} << 64) % qv));
  const V mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const V m = load(mid + i);
    const F l = reduce_fp(to_double(load(lo + i)), q, qinv);
    const F m_lo = mul_mod_fp_lazy(reduce_fp(to_double(_mm256_and_si256(m, mask)), q, qinv), c32, q, qinv);
    const V top = _mm256_add_epi64(_mm256_srli_epi64(m, 32), load(hi + i));
    const F t = mul_mod_fp_lazy(reduce_fp(to_double(top), q, qinv), c64, q, qinv);
    // l < q, m_lo and t < 2q: the sum is below 5q
    F r = _mm256_add_pd(_mm256_add_pd(l, m_lo), t);
    r = reduce_fp(r, q, qinv);
    store(out + i, to_u64(r));
  }
  for (; i < n; ++i)
    out[i] = static_cast<u64>(((static_cast<u128>(hi[i]) << 64) + (static_cast<u128>(mid[i]) << 32) + lo[i]) % qv);
}

// Wide primes (2^31 <= q < 2^50): x = x0 + x1 2^32 and w = w0 + w1 2^32 with x1, w1 < 2^18, so
// x w = x0 w0 + (x0 w1 + x1 w0) 2^32 + x1 w1 2^64 from four 32x32 products. Per term lo grows by
// < 2^32, mid by < 2^32 + 2^51 and hi by < 2^36: 4096 terms fit 64-bit words.
namespace {
// Adds x w's three parts to the register sums sl, sm, sh.
inline void wide_parts(V x, V w, V mask, V& sl, V& sm, V& sh) {
  const V x1 = _mm256_srli_epi64(x, 32), w1 = _mm256_srli_epi64(w, 32);
  const V p00 = _mm256_mul_epu32(x, w);
  const V cross = _mm256_add_epi64(_mm256_mul_epu32(x1, w), _mm256_mul_epu32(x, w1));
  sl = _mm256_add_epi64(sl, _mm256_and_si256(p00, mask));
  sm = _mm256_add_epi64(sm, _mm256_add_epi64(_mm256_srli_epi64(p00, 32), cross));
  sh = _mm256_add_epi64(sh, _mm256_mul_epu32(x1, w1));
}
inline void wide_term(u64* lo, u64* mid, u64* hi, std::size_t i, V x, V w, V mask) {
  V sl = load(lo + i), sm = load(mid + i), sh = load(hi + i);
  wide_parts(x, w, mask, sl, sm, sh);
  store(lo + i, sl);
  store(mid + i, sm);
  store(hi + i, sh);
}
inline void wide_term_scalar(u64* lo, u64* mid, u64* hi, std::size_t i, u64 x, u64 w) {
  const u64 x0 = x & 0xffffffffu, x1 = x >> 32, w0 = w & 0xffffffffu, w1 = w >> 32;
  const u64 p00 = x0 * w0;
  lo[i] += p00 & 0xffffffffu;
  mid[i] += (p00 >> 32) + x1 * w0 + x0 * w1;
  hi[i] += x1 * w1;
}
}  // namespace

void dot_accumulate_wide_terms(u64* lo, u64* mid, u64* hi, const u64* const* x, const u64* w, std::size_t terms,
                               std::size_t n) {
  const V mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V sl = _mm256_setzero_si256(), sm = _mm256_setzero_si256(), sh = _mm256_setzero_si256();
    for (std::size_t t = 0; t < terms; ++t) wide_parts(load(x[t] + i), set1(w[t]), mask, sl, sm, sh);
    store(lo + i, _mm256_add_epi64(load(lo + i), sl));
    store(mid + i, _mm256_add_epi64(load(mid + i), sm));
    store(hi + i, _mm256_add_epi64(load(hi + i), sh));
  }
  for (; i < n; ++i)
    for (std::size_t t = 0; t < terms; ++t) wide_term_scalar(lo, mid, hi, i, x[t][i], w[t]);
}

void dot_accumulate_wide(u64* lo, u64* mid, u64* hi, const u64* x, u64 w, std::size_t n) {
  const V vw = set1(w), mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) wide_term(lo, mid, hi, i, load(x + i), vw, mask);
  for (; i < n; ++i) wide_term_scalar(lo, mid, hi, i, x[i], w);
}

void product_accumulate_wide(u64* lo, u64* mid, u64* hi, const u64* x, const u64* y, std::size_t n) {
  const V mask = set1(0xffffffffu);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) wide_term(lo, mid, hi, i, load(x + i), load(y + i), mask);
  for (; i < n; ++i) wide_term_scalar(lo, mid, hi, i, x[i], y[i]);
}

}  // namespace hemi::math::simd::avx2

#undef HEMI_AVX2_REGION
HEMI_TARGET_END()
#endif  // __x86_64__
