// The CKKS canonical embedding restricted to N/2 slots (the "special FFT" of Cheon-Kim-Kim-Song):
// slot j of a real polynomial m is m(zeta^(5^j)), zeta = exp(i*pi/N). forward() maps the
// packed coefficient vector w_j = m_j + i*m_(j+N/2) to the slot values; inverse() undoes it.
// Dispatch: the AVX2 path (simd.h) runs the butterflies two complex numbers at a time with the
// same roundings as the scalar kernels (no FMA), so both give bit-identical results.
// Immutable after construction; thread-safe.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace hemi::math {

class SpecialFft {
 public:
  explicit SpecialFft(std::size_t slots);  // slots = N/2, a power of two >= 1
  std::size_t slots() const { return slots_; }
  void forward(std::complex<double>* v) const;  // coefficients -> slots
  void inverse(std::complex<double>* v) const;  // slots -> coefficients (divides by slots)
  // The portable kernels (the reference for the SIMD ones).
  void forward_scalar(std::complex<double>* v) const;
  void inverse_scalar(std::complex<double>* v) const;
  // Stage twiddles: for the stage of butterfly half-length h (1, 2, 4, ...), entry h - 1 + j
  // is zeta^(5^j mod 4h) in units of 2 pi / 4h; inverse stages use the conjugates.
  const std::vector<std::complex<double>>& twiddles() const { return twiddles_; }
  const std::vector<std::size_t>& bit_reversal() const { return bitrev_; }

 private:
  std::size_t slots_;
  std::size_t m_;                           // 4 * slots = 2N
  std::vector<std::complex<double>> roots_;  // exp(2 pi i k / m), k in [0, m)
  std::vector<std::size_t> rot_group_;      // 5^j mod m
  std::vector<std::size_t> bitrev_;
  std::vector<std::complex<double>> twiddles_;
};

}  // namespace hemi::math
