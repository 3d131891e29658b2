#include "hemi/math/eltwise.h"

#include <algorithm>

#include "hemi/math/simd.h"

namespace hemi::math {

namespace {
inline bool vector_path(u64 q, std::size_t n) { return q < (u64{1} << 50) && n % 8 == 0 && simd::use_ifma(); }
}  // namespace

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
void reduce_from_2q(u64* x, std::size_t n, u64 q) {
  for (std::size_t i = 0; i < n; ++i) x[i] -= (x[i] >= q) ? q : 0;
}
}  // namespace scalar

void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  if (vector_path(q, n)) return simd::add_mod_vec_ifma(x, y, n, q);
  scalar::add_mod_vec(x, y, n, q);
}
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q) {
  if (vector_path(q, n)) return simd::sub_mod_vec_ifma(x, y, n, q);
  scalar::sub_mod_vec(x, y, n, q);
}
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m) {
  if (vector_path(m.value, n)) return simd::mul_mod_vec_ifma(out, x, y, n, m);
  scalar::mul_mod_vec(out, x, y, n, m);
}
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 ws, u64 q) {
  if (vector_path(q, n)) return simd::mul_scalar_vec_ifma(x, n, w, ws, q);
  scalar::mul_scalar_vec(x, n, w, ws, q);
}
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* ws, std::size_t n, u64 q) {
  if (vector_path(q, n)) return simd::mac_shoup_lazy_ifma(acc, x, w, ws, n, q);
  scalar::mac_shoup_lazy(acc, x, w, ws, n, q);
}
void reduce_from_2q(u64* x, std::size_t n, u64 q) {
  if (vector_path(q, n)) return simd::reduce_from_2q_ifma(x, n, q);
  scalar::reduce_from_2q(x, n, q);
}

void permute(u64* out, const u64* x, const std::uint32_t* perm, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = x[perm[i]];
}

DotAccumulator::DotAccumulator(std::size_t n, const Modulus& m)
    : n_(n), m_(m), ifma_(vector_path(m.value, n)) {
  if (ifma_) {
    // Each half is below 2^52: 2^12 of them fit a 64-bit word.
    max_terms_ = 4096;
    lo_.assign(n, 0);
    hi_.assign(n, 0);
  } else {
    const u128 max_prod = static_cast<u128>(m.value - 1) * (m.value - 1);
    max_terms_ = static_cast<std::size_t>(std::min<u128>(~u128{0} / max_prod - 1, u128{1} << 30));
    wide_.assign(n, 0);
  }
}

void DotAccumulator::fold() {
  // Reduce the sums to one value < q each, which then counts as a single term.
  if (ifma_) {
    for (std::size_t i = 0; i < n_; ++i) {
      lo_[i] = reduce_128((static_cast<u128>(hi_[i]) << 52) + lo_[i], m_);
      hi_[i] = 0;
    }
  } else {
    for (std::size_t i = 0; i < n_; ++i) wide_[i] = reduce_128(wide_[i], m_);
  }
  pending_ = 1;
}

void DotAccumulator::add(const u64* x, u64 w) {
  if (pending_ + 1 >= max_terms_) fold();
  ++pending_;
  if (ifma_) return simd::dot_accumulate_ifma(lo_.data(), hi_.data(), x, w, n_);
  for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[i]) * w;
}

void DotAccumulator::add_product(const u64* x, const u64* y) {
  if (pending_ + 1 >= max_terms_) fold();
  ++pending_;
  if (ifma_) return simd::product_accumulate_ifma(lo_.data(), hi_.data(), x, y, n_);
  for (std::size_t i = 0; i < n_; ++i) wide_[i] += static_cast<u128>(x[i]) * y[i];
}

void DotAccumulator::finish(u64* out) {
  if (ifma_) {
    for (std::size_t i = 0; i < n_; ++i) {
      out[i] = reduce_128((static_cast<u128>(hi_[i]) << 52) + lo_[i], m_);
      lo_[i] = hi_[i] = 0;
    }
  } else {
    for (std::size_t i = 0; i < n_; ++i) {
      out[i] = reduce_128(wide_[i], m_);
      wide_[i] = 0;
    }
  }
  pending_ = 0;
}

}  // namespace hemi::math
