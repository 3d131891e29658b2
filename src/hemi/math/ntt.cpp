#include "hemi/math/ntt.h"

#include <bit>
#include <string>

#include "hemi/math/primes.h"
#include "hemi/math/simd_kernels.h"

namespace hemi::math {

std::size_t bit_reverse(std::size_t x, int bits) {
  std::size_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | (x & 1);
    x >>= 1;
  }
  return r;
}

NttTables::NttTables(std::size_t n, const Modulus& q) : n_(n), q_(q) {
  if (n < 8 || n > (std::size_t{1} << 17) || (n & (n - 1)) != 0)
    throw Error("NTT size " + std::to_string(n) + " is not a power of two in [8, 2^17]");
  if (q.bits > 61) throw Error("NTT modulus too large");
  log_n_ = std::countr_zero(n);
  root_ = minimal_primitive_root(2 * n, q);
  const u64 inv_root = inv_mod(root_, q);
  root_pows_.resize(n);
  inv_root_pows_.resize(n);
  root_pows_shoup_.resize(n);
  inv_root_pows_shoup_.resize(n);
  u64 p = 1, ip = 1;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t r = bit_reverse(i, log_n_);
    root_pows_[r] = p;
    inv_root_pows_[r] = ip;
    p = mul_mod(p, root_, q);
    ip = mul_mod(ip, inv_root, q);
  }
  for (std::size_t i = 0; i < n; ++i) {
    root_pows_shoup_[i] = shoup(root_pows_[i], q.value);
    inv_root_pows_shoup_[i] = shoup(inv_root_pows_[i], q.value);
  }
  n_inv_ = inv_mod(n, q);
  n_inv_shoup_ = shoup(n_inv_, q.value);
  if (ifma_eligible()) {
    auto shoup52 = [&](u64 w) {
      return static_cast<u64>((static_cast<u128>(w) << 52) / q.value);
    };
    root_pows_shoup52_.resize(n);
    inv_root_pows_shoup52_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      root_pows_shoup52_[i] = shoup52(root_pows_[i]);
      inv_root_pows_shoup52_[i] = shoup52(inv_root_pows_[i]);
    }
    n_inv_shoup52_ = shoup52(n_inv_);
  }
}

void ntt_forward_scalar(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const u64 q = tb.modulus().value, two_q = 2 * q;
  const u64* w = tb.root_pows().data();
  const u64* ws = tb.root_pows_shoup().data();
  std::size_t t = n;
  for (std::size_t m = 1; m < n; m <<= 1) {
    t >>= 1;
    for (std::size_t i = 0; i < m; ++i) {
      const u64 W = w[m + i], Ws = ws[m + i];
      u64* x = a + 2 * i * t;
      u64* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        // x, y < 4q -> x', y' < 4q
        u64 X = x[j];
        X -= (X >= two_q) ? two_q : 0;
        u64 T = mul_shoup_lazy(y[j], W, Ws, q);
        x[j] = X + T;
        y[j] = X - T + two_q;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    u64 v = a[i];
    v -= (v >= two_q) ? two_q : 0;
    v -= (v >= q) ? q : 0;
    a[i] = v;
  }
}

void ntt_inverse_scalar(u64* a, const NttTables& tb) {
  const std::size_t n = tb.n();
  const u64 q = tb.modulus().value, two_q = 2 * q;
  const u64* w = tb.inv_root_pows().data();
  const u64* ws = tb.inv_root_pows_shoup().data();
  std::size_t t = 1;
  for (std::size_t m = n >> 1; m >= 1; m >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const u64 W = w[m + i], Ws = ws[m + i];
      u64* x = a + 2 * i * t;
      u64* y = x + t;
      for (std::size_t j = 0; j < t; ++j) {
        // x, y < 2q -> x', y' < 2q
        u64 X = x[j], Y = y[j];
        u64 U = X + Y;
        U -= (U >= two_q) ? two_q : 0;
        x[j] = U;
        y[j] = mul_shoup_lazy(X - Y + two_q, W, Ws, q);
      }
    }
    t <<= 1;
  }
  const u64 ni = tb.n_inv(), nis = tb.n_inv_shoup();
  for (std::size_t i = 0; i < n; ++i) a[i] = mul_shoup(a[i], ni, nis, q);
}

void ntt_forward(u64* a, const NttTables& t) {
#if defined(__x86_64__)
  switch (simd::kernel_path(t.ifma_eligible(), simd::avx2::eligible(t.modulus().value))) {
    case simd::Path::avx512ifma: return simd::ifma::ntt_forward(a, t);
    case simd::Path::avx2: return simd::avx2::ntt_forward(a, t);
    case simd::Path::scalar: break;
  }
#endif
  ntt_forward_scalar(a, t);
}

void ntt_inverse(u64* a, const NttTables& t) {
#if defined(__x86_64__)
  switch (simd::kernel_path(t.ifma_eligible(), simd::avx2::eligible(t.modulus().value))) {
    case simd::Path::avx512ifma: return simd::ifma::ntt_inverse(a, t);
    case simd::Path::avx2: return simd::avx2::ntt_inverse(a, t);
    case simd::Path::scalar: break;
  }
#endif
  ntt_inverse_scalar(a, t);
}

}  // namespace hemi::math
