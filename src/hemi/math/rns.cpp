#include "hemi/math/rns.h"

#include <algorithm>
#include <string>

#include "hemi/math/eltwise.h"

namespace hemi::math {

BaseConverter::BaseConverter(std::vector<Modulus> from, std::vector<Modulus> to)
    : from_(std::move(from)), to_(std::move(to)) {
  const std::size_t k = from_.size();
  if (k == 0 || k > 64) throw Error("base conversion: source base of " + std::to_string(k) + " primes");
  hat_inv_.resize(k);
  hat_inv_shoup_.resize(k);
  for (std::size_t i = 0; i < k; ++i) {
    u64 hat = 1;
    for (std::size_t l = 0; l < k; ++l)
      if (l != i) hat = mul_mod(hat, reduce_64(from_[l].value, from_[i]), from_[i]);
    hat_inv_[i] = inv_mod(hat, from_[i]);
    hat_inv_shoup_[i] = shoup(hat_inv_[i], from_[i].value);
  }
  hat_mod_to_.resize(to_.size() * k);
  for (std::size_t j = 0; j < to_.size(); ++j)
    for (std::size_t i = 0; i < k; ++i) {
      u64 hat = 1 % to_[j].value;
      for (std::size_t l = 0; l < k; ++l)
        if (l != i) hat = mul_mod(hat, reduce_64(from_[l].value, to_[j]), to_[j]);
      hat_mod_to_[j * k + i] = hat;
    }
}

void BaseConverter::convert(const u64* in, u64* out, std::size_t n, std::size_t to_count) const {
  to_count = std::min(to_count, to_.size());
  std::vector<u64*> outs(to_count);
  for (std::size_t j = 0; j < to_count; ++j) outs[j] = out + j * n;
  convert_into(in, outs.data(), to_count, n);
}

void BaseConverter::convert(const u64* in, u64* const* outs, std::size_t n) const {
  convert_into(in, outs, to_.size(), n);
}

void BaseConverter::convert_into(const u64* in, u64* const* outs, std::size_t to_count, std::size_t n) const {
  const std::size_t k = from_.size();
  if (k == 1) {  // one source prime: the centred representative of x, exact in each target
    for (std::size_t j = 0; j < to_count; ++j) convert_centered(outs[j], in, n, from_[0].value, to_[j]);
    return;
  }
  U64Vec y(in, in + k * n);
  for (std::size_t i = 0; i < k; ++i)
    mul_scalar_vec(y.data() + i * n, n, hat_inv_[i], hat_inv_shoup_[i], from_[i].value);
  const bool small = std::all_of(from_.begin(), from_.end(), [](const Modulus& m) { return m.bits <= 32; });
  for (std::size_t j = 0; j < to_count; ++j) {
    const Modulus& b = to_[j];
    u64* dst = outs[j];
    if (small) {
      // y_i < 2^32: each term y_i (A/a_i mod b) is reduced lazily to [0, 2b) and summed there.
      std::fill(dst, dst + n, 0);
      for (std::size_t i = 0; i < k; ++i) {
        const u64 h = hat_mod_to_[j * k + i];
        mac_scalar_lazy(dst, y.data() + i * n, n, h, shoup(h, b.value), b.value);
      }
      reduce_from_2q(dst, n, b.value);
      continue;
    }
    const u64* hats = hat_mod_to_.data() + j * k;
    // Wide primes: k products below 2^122 each; the sum fits in 128 bits for k <= 64.
    for (std::size_t c = 0; c < n; ++c) {
      u128 acc = 0;
      for (std::size_t i = 0; i < k; ++i) acc += static_cast<u128>(y[i * n + c]) * hats[i];
      dst[c] = reduce_128(acc, b);
    }
  }
}

CrtReconstructor::CrtReconstructor(std::vector<Modulus> moduli) : moduli_(std::move(moduli)) {
  const std::size_t k = moduli_.size();
  if (k == 0) throw Error("CRT: empty base");
  inv_.assign(k * k, 0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < i; ++j)
      inv_[i * k + j] = inv_mod(reduce_64(moduli_[j].value, moduli_[i]), moduli_[i]);
  // (A-1)/2 = -1/2 mod every odd a_i.
  std::vector<u64> half(k);
  for (std::size_t i = 0; i < k; ++i) {
    const u64 q = moduli_[i].value;
    half[i] = q - (q + 1) / 2;  // -(2^-1) mod q, since 2^-1 = (q+1)/2
  }
  half_digits_.resize(k);
  mixed_radix(half.data(), half_digits_.data());
}

void CrtReconstructor::mixed_radix(const u64* residues, u64* digits) const {
  // Garner: x = d_0 + d_1 a_0 + d_2 a_0 a_1 + ..., each d_i < a_i.
  const std::size_t k = moduli_.size();
  for (std::size_t i = 0; i < k; ++i) {
    const Modulus& m = moduli_[i];
    u64 v = residues[i];
    for (std::size_t j = 0; j < i; ++j)
      v = mul_mod(sub_mod(v, reduce_64(digits[j], m), m.value), inv_[i * k + j], m);
    digits[i] = v;
  }
}

long double CrtReconstructor::centered(const u64* residues) const {
  const std::size_t k = moduli_.size();
  u64 d[64];
  HEMI_ASSERT(k <= 64);
  mixed_radix(residues, d);
  // x > (A-1)/2 ?  Compare mixed-radix digits from the most significant.
  bool negative = false;
  for (std::size_t i = k; i-- > 0;) {
    if (d[i] != half_digits_[i]) {
      negative = d[i] > half_digits_[i];
      break;
    }
  }
  if (negative) {
    // digits of A - x: complement (a_i - 1 - d_i), then add one with carry.
    u64 carry = 1;
    for (std::size_t i = 0; i < k; ++i) {
      u64 v = moduli_[i].value - 1 - d[i] + carry;
      carry = v >= moduli_[i].value ? 1 : 0;
      d[i] = carry ? v - moduli_[i].value : v;
    }
  }
  long double value = 0;
  for (std::size_t i = k; i-- > 0;) value = value * static_cast<long double>(moduli_[i].value) + d[i];
  return negative ? -value : value;
}

}  // namespace hemi::math
