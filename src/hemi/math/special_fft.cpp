#include "hemi/math/special_fft.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "hemi/base/error.h"
#include "hemi/math/ntt.h"

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
}

void SpecialFft::forward(std::complex<double>* v) const {
  const std::size_t n = slots_;
  for (std::size_t i = 0; i < n; ++i)
    if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len >> 1, lenq = len << 2, gap = m_ / lenq;
    for (std::size_t i = 0; i < n; i += len) {
      for (std::size_t j = 0; j < half; ++j) {
        const std::size_t idx = (rot_group_[j] % lenq) * gap;
        std::complex<double> u = v[i + j];
        std::complex<double> t = v[i + j + half] * roots_[idx];
        v[i + j] = u + t;
        v[i + j + half] = u - t;
      }
    }
  }
}

void SpecialFft::inverse(std::complex<double>* v) const {
  const std::size_t n = slots_;
  for (std::size_t len = n; len >= 2; len >>= 1) {
    const std::size_t half = len >> 1, lenq = len << 2, gap = m_ / lenq;
    for (std::size_t i = 0; i < n; i += len) {
      for (std::size_t j = 0; j < half; ++j) {
        const std::size_t idx = (lenq - (rot_group_[j] % lenq)) * gap;
        std::complex<double> u = v[i + j] + v[i + j + half];
        std::complex<double> t = (v[i + j] - v[i + j + half]) * roots_[idx];
        v[i + j] = u;
        v[i + j + half] = t;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (i < bitrev_[i]) std::swap(v[i], v[bitrev_[i]]);
  const double inv = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace hemi::math
