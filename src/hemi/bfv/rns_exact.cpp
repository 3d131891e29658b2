#include "hemi/bfv/rns_exact.h"

#include "hemi/base/aligned_vector.h"
#include "hemi/base/error.h"

namespace hemi::bfv {

namespace {
// prod_{k != skip} m_k mod target (skip = SIZE_MAX: the whole product).
u64 product_mod(const std::vector<math::Modulus>& ms, std::size_t skip, const math::Modulus& target) {
  u64 r = 1 % target.value;
  for (std::size_t k = 0; k < ms.size(); ++k)
    if (k != skip) r = math::mul_mod(r, math::reduce_64(ms[k].value, target), target);
  return r;
}
}  // namespace

ExactConverter::ExactConverter(std::vector<math::Modulus> from, std::vector<math::Modulus> to)
    : from_(std::move(from)), to_(std::move(to)) {
  HEMI_ASSERT(!from_.empty() && from_.size() <= 64);
  const std::size_t k = from_.size();
  for (std::size_t i = 0; i < k; ++i) {
    const u64 inv = math::inv_mod(product_mod(from_, i, from_[i]), from_[i]);
    hat_inv_.push_back(inv);
    hat_inv_shoup_.push_back(math::shoup(inv, from_[i].value));
  }
  for (const auto& b : to_) {
    for (std::size_t i = 0; i < k; ++i) hat_mod_to_.push_back(product_mod(from_, i, b));
    a_mod_to_.push_back(product_mod(from_, SIZE_MAX, b));
    for (std::size_t v = 0; v <= k; ++v) v_a_mod_to_.push_back(math::mul_mod(v % b.value, a_mod_to_.back(), b));
  }
}

void ExactConverter::convert(const u64* in, u64* const* outs, std::size_t n, std::size_t to_count) const {
  const std::size_t k = from_.size();
  HEMI_ASSERT(to_count <= to_.size());
  U64Vec y(k * n);
  std::vector<u64> v(n);
  std::vector<u128> frac(n, 0);
  for (std::size_t i = 0; i < k; ++i) {
    const math::Modulus& a = from_[i];
    const u64* x = in + i * n;
    u64* yi = y.data() + i * n;
    for (std::size_t c = 0; c < n; ++c) {
      yi[c] = math::mul_shoup(x[c], hat_inv_[i], hat_inv_shoup_[i], a.value);
      // y / a in 64-bit fixed point: y * floor(2^128 / a) / 2^64.
      frac[c] += static_cast<u128>(yi[c]) * a.ratio_hi + math::mul_hi(yi[c], a.ratio_lo);
    }
  }
  // v = round(sum_i y_i / a_i): x = sum_i y_i (A/a_i) - v A is the centred representative.
  for (std::size_t c = 0; c < n; ++c) v[c] = static_cast<u64>((frac[c] + (u128{1} << 63)) >> 64);
  for (std::size_t j = 0; j < to_count; ++j) {
    const math::Modulus& b = to_[j];
    const u64* hat = hat_mod_to_.data() + j * k;
    // v = round(sum_i y_i / a_i) <= k (each y_i / a_i < 1): v A mod b_j from a table.
    const u64* v_a = v_a_mod_to_.data() + j * (k + 1);
    u64* out = outs[j];
    for (std::size_t c = 0; c < n; ++c) {
      u128 s = 0;
      for (std::size_t i = 0; i < k; ++i) s += static_cast<u128>(y[i * n + c]) * hat[i];
      const u64 pos = math::reduce_128(s, b);
      out[c] = math::sub_mod(pos, v_a[v[c]], b.value);
    }
  }
}

ScaleRounder::ScaleRounder(std::vector<math::Modulus> q, std::vector<math::Modulus> ext, const math::Modulus& t)
    : q_(std::move(q)), ext_(std::move(ext)) {
  HEMI_ASSERT(!q_.empty() && q_.size() <= 63);
  targets_ = ext_.empty() ? std::vector<math::Modulus>{t} : ext_;
  const std::size_t k = q_.size();
  std::vector<u64> r(k);
  for (std::size_t i = 0; i < k; ++i) {
    const math::Modulus& qi = q_[i];
    // a_i = (Q E / q_i)^-1 mod q_i; r_i = t E a_i mod q_i, so t E a_i / q_i = floor(..) + r_i / q_i.
    const u64 e_mod = product_mod(ext_, SIZE_MAX, qi);
    const u64 a = math::inv_mod(math::mul_mod(product_mod(q_, i, qi), e_mod, qi), qi);
    r[i] = math::mul_mod(math::mul_mod(math::reduce_64(t.value, qi), e_mod, qi), a, qi);
    omega_.push_back(static_cast<u64>((static_cast<u128>(r[i]) << 64) / qi.value));
  }
  for (const auto& m : targets_) {
    for (std::size_t i = 0; i < k; ++i) {
      // floor(t E a_i / q_i) = (t E a_i - r_i) / q_i, and t E a_i = 0 mod e_j (or mod t).
      const u64 qi_inv = math::inv_mod(math::reduce_64(q_[i].value, m), m);
      int_part_.push_back(math::neg_mod(math::mul_mod(math::reduce_64(r[i], m), qi_inv, m), m.value));
    }
    if (!ext_.empty()) {
      t_q_inv_.push_back(math::mul_mod(math::reduce_64(t.value, m), math::inv_mod(product_mod(q_, SIZE_MAX, m), m), m));
      t_q_inv_shoup_.push_back(math::shoup(t_q_inv_.back(), m.value));
    }
  }
}

void ScaleRounder::scale(const u64* in, u64* const* outs, std::size_t n) const {
  const std::size_t k = q_.size();
  // round(sum_i x_i r_i / q_i): integer parts and 64-bit fractions summed separately.
  std::vector<u64> rounded_lo(n);
  std::vector<u64> rounded_hi(n);
  {
    std::vector<u128> hi(n, 0), lo(n, 0);
    for (std::size_t i = 0; i < k; ++i) {
      const u64* x = in + i * n;
      const u64 w = omega_[i];
      for (std::size_t c = 0; c < n; ++c) {
        const u128 p = static_cast<u128>(x[c]) * w;
        hi[c] += static_cast<u64>(p >> 64);
        lo[c] += static_cast<u64>(p);
      }
    }
    for (std::size_t c = 0; c < n; ++c) {
      const u128 r = hi[c] + ((lo[c] + (u128{1} << 63)) >> 64);
      rounded_lo[c] = static_cast<u64>(r);
      rounded_hi[c] = static_cast<u64>(r >> 64);
    }
  }
  for (std::size_t j = 0; j < targets_.size(); ++j) {
    const math::Modulus& m = targets_[j];
    const u64* ip = int_part_.data() + j * k;
    const u64* xe = ext_.empty() ? nullptr : in + (k + j) * n;
    u64* out = outs[j];
    // 2^64 mod m, to fold the (rarely non-zero) high word of the rounded sum.
    const u64 two64 = math::reduce_128(u128{1} << 64, m);
    for (std::size_t c = 0; c < n; ++c) {
      // x_i < 2^61 and ip < 2^61: k <= 63 products and the rounded low word fit 128 bits
      // without reducing first.
      u128 s = rounded_lo[c];
      for (std::size_t i = 0; i < k; ++i) s += static_cast<u128>(in[i * n + c]) * ip[i];
      u64 r = math::reduce_128(s, m);
      if (rounded_hi[c]) r = math::add_mod(r, math::mul_mod(math::reduce_64(rounded_hi[c], m), two64, m), m.value);
      if (xe) r = math::add_mod(r, math::mul_shoup(xe[c], t_q_inv_[j], t_q_inv_shoup_[j], m.value), m.value);
      out[c] = r;
    }
  }
}

}  // namespace hemi::bfv
