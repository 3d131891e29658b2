#include "hemi/math/eltwise.h"

#include <algorithm>

#include "hemi/math/simd_kernels.h"

namespace hemi::math {

using simd::avx2::eligible;

namespace scalar {
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  for (std::size_t i = 0; i < n; ++i) x[i] = math::add_mod(x[i], y[i], q);
}
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  for (std::size_t i = 0; i < n; ++i) x[i] = math::sub_mod(x[i], y[i], q);
}
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  for (std::size_t i = 0; i < n; ++i) out[i] = math::mul_mod(x[i], y[i], m);
}
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 ws, u64 q) {
  for (std::size_t i = 0; i < n; ++i) x[i] = math::mul_shoup(x[i], w, ws, q);
}
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 q) {
  const u64 two_q = 2 * q;
  for (std::size_t i = 0; i < n; ++i) {
    u64 a = acc[i] + math::mul_shoup_lazy(x[i], w[i], ws[i], q);
    a -= (a >= two_q) ? two_q : 0;
    acc[i] = a;
  }
}
void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 ws, u64 q) {
  const u64 two_q = 2 * q;
  for (std::size_t i = 0; i < n; ++i) {
    u64 a = acc[i] + math::mul_shoup_lazy(x[i], w, ws, q);
    a -= (a >= two_q) ? two_q : 0;
    acc[i] = a;
  }
}
void reduce_from_2q(u64* x, std::size_t n, u64 q) {
  for (std::size_t i = 0; i < n; ++i) x[i] -= (x[i] >= q) ? q : 0;
}
void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b) {
  const u64 half = a >> 1, a_mod_b = reduce_64(a, b);
  for (std::size_t i = 0; i < n; ++i) {
    const u64 r = reduce_64(x[i], b);
    out[i] = x[i] > half ? sub_mod(r, a_mod_b, b.value) : r;
  }
}
void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64, const Modulus& b, u64 c) {
  for (std::size_t i = 0; i < n; ++i) out[i] = sub_mod(reduce_64(x[i], b), c, b.value);
}
}  // namespace scalar

// Additions and reductions need no products: the AVX2 kernels take any q < 2^62.
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  HEMI_DISPATCH(add_mod_vec, simd::ifma::eligible(q), true, x, y, n, q);
}
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  HEMI_DISPATCH(sub_mod_vec, simd::ifma::eligible(q), true, x, y, n, q);
}
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  HEMI_DISPATCH(mul_mod_vec, simd::ifma::eligible(m.value), eligible(m.value), out, x, y, n, m);
}
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 ws, u64 q) {
  HEMI_DISPATCH(mul_scalar_vec, simd::ifma::eligible(q), eligible(q), x, n, w, ws, q);
}
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 q) {
  HEMI_DISPATCH(mac_shoup_lazy, simd::ifma::eligible(q), eligible(q), acc, x, w, ws, n, q);
}
void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 ws, u64 q) {
  // x < 2^32 is the caller's contract; the AVX2 kernel needs q < 2^31 besides.
  HEMI_DISPATCH_AVX2(mac_scalar_lazy, simd::avx2::eligible_int(q), acc, x, n, w, ws, q);
}
void reduce_from_2q(u64* x, std::size_t n, u64 q) {
  HEMI_DISPATCH(reduce_from_2q, simd::ifma::eligible(q), true, x, n, q);
}
void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b) {
  HEMI_DISPATCH_AVX2(convert_centered, eligible(a) && eligible(b.value), out, x, n, a, b);
}
void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b, u64 c) {
  HEMI_DISPATCH_AVX2(reduce_sub_const, eligible(a) && eligible(b.value), out, x, n, a, b, c);
}

void from_signed_vec(u64* out, const std::int64_t* v, std::size_t n, u64 q, u64 bound) {
  if (bound >= q) {
    for (std::size_t i = 0; i < n; ++i) out[i] = from_signed(v[i], q);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = v[i] < 0 ? q - static_cast<u64>(-v[i]) : static_cast<u64>(v[i]);
}

u64 max_abs(const std::int64_t* v, std::size_t n) {
  u64 m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, static_cast<u64>(v[i] < 0 ? -v[i] : v[i]));
  return m;
}

void permute(u64* out, const u64* x, const std::uint32_t* perm, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = x[perm[i]];
}

DotAccumulator::DotAccumulator(std::size_t n, const Modulus& m) : n_(n), m_(m) {
  const bool avx2_int = simd::avx2::eligible_int(m.value);
  switch (simd::kernel_path(simd::ifma::eligible(m.value), simd::avx2::eligible(m.value))) {
    case simd::Path::avx512ifma: mode_ = Mode::ifma52; break;
    case simd::Path::avx2: mode_ = avx2_int ? Mode::avx2_32 : Mode::avx2_wide; break;
    case simd::Path::scalar: mode_ = Mode::scalar; break;
  }
  if (mode_ != Mode::scalar) {
    // Each part of a product stays below 2^52 (IFMA's halves; AVX2's lo, hi and, for wide
    // primes, mid < 2^32 + 2^51): 2^12 terms fit a 64-bit word.
    max_terms_ = 4096;
    lo_.assign(n, 0);
    hi_.assign(n, 0);
    if (mode_ == Mode::avx2_wide) mid_.assign(n, 0);
  } else {
    const u128 max_prod = static_cast<u128>(m.value - 1) * (m.value - 1);
    max_terms_ = static_cast<std::size_t>(std::min<u128>(~u128{0} / max_prod - 1, u128{1} << 30));
    wide_.assign(n, 0);
  }
}

u64 DotAccumulator::sum_mod(std::size_t i) const {
  switch (mode_) {
    case Mode::ifma52: return reduce_128((static_cast<u128>(hi_[i]) << 52) + lo_[i], m_);
    case Mode::avx2_32: return reduce_128((static_cast<u128>(hi_[i]) << 32) + lo_[i], m_);
    case Mode::avx2_wide:
      return reduce_128((static_cast<u128>(hi_[i]) << 64) + (static_cast<u128>(mid_[i]) << 32) + lo_[i], m_);
    case Mode::scalar: break;
  }
  return reduce_128(wide_[i], m_);
}

void DotAccumulator::fold() {
  // Reduce the sums to one value < q each, which then counts as a single term.
  for (std::size_t i = 0; i < n_; ++i) {
    const u64 v = sum_mod(i);
    if (mode_ == Mode::scalar) {
      wide_[i] = v;
    } else {
      lo_[i] = v;
      hi_[i] = 0;
      if (mode_ == Mode::avx2_wide) mid_[i] = 0;
    }
  }
  pending_ = 1;
}

void DotAccumulator::add(const u64* x, u64 w) {
  if (pending_ + 1 >= max_terms_) fold();
  ++pending_;
#if defined(__x86_64__)
  switch (mode_) {
    case Mode::ifma52: return simd::ifma::dot_accumulate(lo_.data(), hi_.data(), x, w, n_);
    case Mode::avx2_32: return simd::avx2::dot_accumulate(lo_.data(), hi_.data(), x, w, n_);
    case Mode::avx2_wide: return simd::avx2::dot_accumulate_wide(lo_.data(), mid_.data(), hi_.data(), x, w, n_);
    case Mode::scalar: break;
  }
#endif
  for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[i]) * w;
}

void DotAccumulator::add_terms(const u64* const* x, const u64* w, std::size_t terms) {
  while (terms) {
    if (pending_ + 1 >= max_terms_) fold();
    const std::size_t take = std::min(terms, max_terms_ - 1 - pending_);
    pending_ += take;
#if defined(__x86_64__)
    switch (mode_) {
      case Mode::ifma52: simd::ifma::dot_accumulate_terms(lo_.data(), hi_.data(), x, w, take, n_); break;
      case Mode::avx2_32: simd::avx2::dot_accumulate_terms(lo_.data(), hi_.data(), x, w, take, n_); break;
      case Mode::avx2_wide:
        simd::avx2::dot_accumulate_wide_terms(lo_.data(), mid_.data(), hi_.data(), x, w, take, n_);
        break;
      case Mode::scalar:
        for (std::size_t t = 0; t < take; ++t)
          for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[t][i]) * w[t];
        break;
    }
#else
    for (std::size_t t = 0; t < take; ++t)
      for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[t][i]) * w[t];
#endif
    x += take;
    w += take;
    terms -= take;
  }
}

void DotAccumulator::add_product(const u64* x, const u64* y) {
  if (pending_ + 1 >= max_terms_) fold();
  ++pending_;
#if defined(__x86_64__)
  switch (mode_) {
    case Mode::ifma52: return simd::ifma::product_accumulate(lo_.data(), hi_.data(), x, y, n_);
    case Mode::avx2_32: return simd::avx2::product_accumulate(lo_.data(), hi_.data(), x, y, n_);
    case Mode::avx2_wide:
      return simd::avx2::product_accumulate_wide(lo_.data(), mid_.data(), hi_.data(), x, y, n_);
    case Mode::scalar: break;
  }
#endif
  for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[i]) * y[i];
}

void DotAccumulator::finish(u64* out) {
#if defined(__x86_64__)
  if (mode_ == Mode::avx2_32)
    simd::avx2::dot_finish(out, lo_.data(), hi_.data(), n_, m_.value);
  else if (mode_ == Mode::avx2_wide)
    simd::avx2::dot_finish_wide(out, lo_.data(), mid_.data(), hi_.data(), n_, m_.value);
  else
#endif
    for (std::size_t i = 0; i < n_; ++i) out[i] = sum_mod(i);
  std::fill(lo_.begin(), lo_.end(), 0);
  std::fill(mid_.begin(), mid_.end(), 0);
  std::fill(hi_.begin(), hi_.end(), 0);
  std::fill(wide_.begin(), wide_.end(), u128{0});
  pending_ = 0;
}

}  // namespace hemi::math
