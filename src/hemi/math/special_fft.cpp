#include "hemi/math/special_fft.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "hemi/base/error.h"
#include "hemi/math/ntt.h"
#include "hemi/math/simd_kernels.h"

namespace hemi::math {

SpecialFft::SpecialFft(std::size_t slots) : slots_(slots), m_(4 * slots) {
  if (slots == 0 || (slots & (slots - 1)) != 0)
    throw Error("special FFT: slot count " + std::to_string(slots) + " is not a power of two");
  roots_.resize(m_ + 1);
  for (std::size_t k = 0; k <= m_; ++k) {
    double angle = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(m_);
    roots_[k] = {std::cos(angle), std::sin(angle)};
  }
  rot_group_.resize(slots);
  std::size_t g = 1;
  for (std::size_t j = 0; j < slots; ++j) {
    rot_group_[j] = g;
    g = (g * 5) % m_;
  }
  const int bits = std::countr_zero(slots);
  bitrev_.resize(slots);
  for (std::size_t i = 0; i < slots; ++i) bitrev_[i] = bit_reverse(i, bits);
  twiddles_.resize(slots > 1 ? slots - 1 : 0);
  for (std::size_t half = 1; half < slots; half <<= 1) {
    const std::size_t lenq = 8 * half, gap = m_ / lenq;
    for (std::size_t j = 0; j < half; ++j) twiddles_[half - 1 + j] = roots_[(rot_group_[j] % lenq) * gap];
  }
}

namespace {
// (a + bi)(c + di) written out, with the roundings the vector kernels repeat.
inline std::complex<double> mul(std::complex<double> x, std::complex<double> w) {
  return {x.real() * w.real() - x.imag() * w.imag(), x.imag() * w.real() + x.real() * w.imag()};
}
inline std::complex<double> mul_conj(std::complex<double> x, std::complex<double> w) {
  return {x.real() * w.real() + x.imag() * w.imag(), x.imag() * w.real() - x.real() * w.imag()};
}
}  // namespace

void SpecialFft::forward_scalar(std::complex<double>* v) const {
  const std::size_t n = slots_;
  for (std::size_t i = 0; i < n; ++i)
    if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  for (std::size_t half = 1; half < n; half <<= 1) {
    const std::complex<double>* w = twiddles_.data() + half - 1;
    for (std::size_t i = 0; i < n; i += 2 * half) {
      for (std::size_t j = 0; j < half; ++j) {
        const std::complex<double> u = v[i + j], t = mul(v[i + j + half], w[j]);
        v[i + j] = u + t;
        v[i + j + half] = u - t;
      }
    }
  }
}

void SpecialFft::inverse_scalar(std::complex<double>* v) const {
  const std::size_t n = slots_;
  for (std::size_t half = n >> 1; half >= 1; half >>= 1) {
    const std::complex<double>* w = twiddles_.data() + half - 1;
    for (std::size_t i = 0; i < n; i += 2 * half) {
      for (std::size_t j = 0; j < half; ++j) {
        const std::complex<double> a = v[i + j], b = v[i + j + half];
        v[i + j] = a + b;
        v[i + j + half] = mul_conj(a - b, w[j]);
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  const double inv = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = {v[i].real() * inv, v[i].imag() * inv};
}

void SpecialFft::forward(std::complex<double>* v) const {
#if defined(__x86_64__)
  if (simd::kernel_path(false, true) == simd::Path::avx2) return simd::avx2::fft_forward(v, *this);
#endif
  forward_scalar(v);
}

void SpecialFft::inverse(std::complex<double>* v) const {
#if defined(__x86_64__)
  if (simd::kernel_path(false, true) == simd::Path::avx2) return simd::avx2::fft_inverse(v, *this);
#endif
  inverse_scalar(v);
}

}  // namespace hemi::math
