// AVX2 kernels for the CKKS special FFT: two complex doubles per vector in butterflies of
// half-length >= 2 (the first forward / last inverse stage stays scalar). Products are a
// multiply and an addsub, not FMA, so the results equal the scalar kernels' bit for bit.
#include "hemi/math/simd_kernels.h"
#include "hemi/math/simd_target.h"
#include "hemi/math/special_fft.h"

#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>

HEMI_TARGET_BEGIN("avx2,bmi2")

namespace hemi::math::simd::avx2 {

namespace {

using D = __m256d;
using C = std::complex<double>;

inline D load(const C* p) { return _mm256_loadu_pd(reinterpret_cast<const double*>(p)); }
inline void store(C* p, D v) { _mm256_storeu_pd(reinterpret_cast<double*>(p), v); }

// x w for two complex numbers: (xr wr - xi wi, xi wr + xr wi).
inline D mul(D x, D w) {
  const D wr = _mm256_movedup_pd(w), wi = _mm256_permute_pd(w, 0xF), xs = _mm256_permute_pd(x, 0x5);
  return _mm256_addsub_pd(_mm256_mul_pd(x, wr), _mm256_mul_pd(xs, wi));
}
// x conj(w): (xr wr + xi wi, xi wr - xr wi).
inline D mul_conj(D x, D w) {
  const D wr = _mm256_movedup_pd(w), wi = _mm256_permute_pd(w, 0xF), xs = _mm256_permute_pd(x, 0x5);
  const D neg = _mm256_xor_pd(_mm256_mul_pd(xs, wi), _mm256_set1_pd(-0.0));
  return _mm256_addsub_pd(_mm256_mul_pd(x, wr), neg);
}

}  // namespace

void fft_forward(C* v, const SpecialFft& f) {
  const std::size_t n = f.slots();
  const auto& br = f.bit_reversal();
  for (std::size_t i = 0; i < n; ++i)
    if (i < br[i]) std::swap(v[i], v[br[i]]);
  const C* tw = f.twiddles().data();
  if (n >= 2) {  // half = 1: one complex per butterfly
    const C w = tw[0];
    for (std::size_t i = 0; i < n; i += 2) {
      const C u = v[i], x = v[i + 1];
      const C t{x.real() * w.real() - x.imag() * w.imag(), x.imag() * w.real() + x.real() * w.imag()};
      v[i] = u + t;
      v[i + 1] = u - t;
    }
  }
  for (std::size_t half = 2; half < n; half <<= 1) {
    const C* w = tw + half - 1;
    for (std::size_t i = 0; i < n; i += 2 * half) {
      for (std::size_t j = 0; j < half; j += 2) {
        const D u = load(v + i + j), t = mul(load(v + i + j + half), load(w + j));
        store(v + i + j, _mm256_add_pd(u, t));
        store(v + i + j + half, _mm256_sub_pd(u, t));
      }
    }
  }
}

void fft_inverse(C* v, const SpecialFft& f) {
  const std::size_t n = f.slots();
  const C* tw = f.twiddles().data();
  for (std::size_t half = n >> 1; half >= 2; half >>= 1) {
    const C* w = tw + half - 1;
    for (std::size_t i = 0; i < n; i += 2 * half) {
      for (std::size_t j = 0; j < half; j += 2) {
        const D a = load(v + i + j), b = load(v + i + j + half);
        store(v + i + j, _mm256_add_pd(a, b));
        store(v + i + j + half, mul_conj(_mm256_sub_pd(a, b), load(w + j)));
      }
    }
  }
  if (n >= 2) {
    const C w = tw[0];
    for (std::size_t i = 0; i < n; i += 2) {
      const C a = v[i], b = v[i + 1], d = a - b;
      v[i] = a + b;
      v[i + 1] = {d.real() * w.real() + d.imag() * w.imag(), d.imag() * w.real() - d.real() * w.imag()};
    }
  }
  const auto& br = f.bit_reversal();
  for (std::size_t i = 0; i < n; ++i)
    if (i < br[i]) std::swap(v[i], v[br[i]]);
  const D inv = _mm256_set1_pd(1.0 / static_cast<double>(n));
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) store(v + i, _mm256_mul_pd(load(v + i), inv));
  const double inv_n = 1.0 / static_cast<double>(n);
  for (; i < n; ++i) v[i] = {v[i].real() * inv_n, v[i].imag() * inv_n};
}

}  // namespace hemi::math::simd::avx2

HEMI_TARGET_END()
#endif  // __x86_64__
