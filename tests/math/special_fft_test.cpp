#include "hemi/math/special_fft.h"

#include "hemi/base/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

namespace hemi::math {
namespace {

// Naive oracle: slot j of real polynomial m of degree < N is m(zeta^(5^j)), zeta = e^(i pi/N).
std::vector<std::complex<double>> naive_slots(const std::vector<double>& m) {
  const std::size_t N = m.size(), slots = N / 2;
  std::vector<std::complex<double>> z(slots);
  std::size_t g = 1;
  for (std::size_t j = 0; j < slots; ++j) {
    std::complex<double> acc = 0;
    for (std::size_t k = 0; k < N; ++k) {
      double angle = std::numbers::pi * static_cast<double>((g * k) % (2 * N)) / static_cast<double>(N);
      acc += m[k] * std::complex<double>(std::cos(angle), std::sin(angle));
    }
    z[j] = acc;
    g = (g * 5) % (2 * N);
  }
  return z;
}

TEST(SpecialFft, ForwardMatchesNaiveEmbedding) {
  for (std::size_t N : {4u, 16u, 64u, 256u}) {
    std::mt19937_64 rng(N);
    std::uniform_real_distribution<double> d(-1, 1);
    std::vector<double> m(N);
    for (auto& x : m) x = d(rng);
    auto expect = naive_slots(m);
    SpecialFft fft(N / 2);
    std::vector<std::complex<double>> w(N / 2);
    for (std::size_t j = 0; j < N / 2; ++j) w[j] = {m[j], m[j + N / 2]};
    auto ws = w;
    fft.forward(w.data());         // the active SIMD path
    fft.forward_scalar(ws.data());  // the reference kernel
    for (std::size_t j = 0; j < N / 2; ++j) {
      ASSERT_NEAR(w[j].real(), expect[j].real(), 1e-9) << N << " " << j;
      ASSERT_NEAR(w[j].imag(), expect[j].imag(), 1e-9) << N << " " << j;
      ASSERT_NEAR(ws[j].real(), expect[j].real(), 1e-9) << N << " " << j;
      ASSERT_NEAR(ws[j].imag(), expect[j].imag(), 1e-9) << N << " " << j;
    }
  }
}

TEST(SpecialFft, InverseUndoesForward) {
  SpecialFft fft(512);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> d(-1, 1);
  std::vector<std::complex<double>> z(512), w;
  for (auto& x : z) x = {d(rng), d(rng)};
  w = z;
  fft.inverse(w.data());
  fft.forward(w.data());
  for (std::size_t j = 0; j < z.size(); ++j) ASSERT_LT(std::abs(w[j] - z[j]), 1e-12);
}

TEST(SpecialFft, RejectsNonPowerOfTwo) { EXPECT_THROW(SpecialFft(6), Error); }

}  // namespace
}  // namespace hemi::math
