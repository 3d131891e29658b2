#include "hemi/math/modarith.h"

#include <bit>
#include <string>

namespace hemi::math {

Modulus::Modulus(u64 q) : value(q) {
  if (q < 2 || std::bit_width(q) > kMaxModulusBits)
    throw Error("modulus " + std::to_string(q) + " is outside [2, 2^61)");
  bits = std::bit_width(q);
  // floor(2^128 / q) via long division of 2^128 = (2^64 - 1) * 2^64 + 2^64.
  u128 num_hi = ~u128{0};  // 2^128 - 1; q is not a power of two when odd > 1, so same floor
  u128 ratio = num_hi / q;
  if ((q & (q - 1)) == 0) ratio += 1;  // exact power of two: 2^128 / q
  ratio_hi = static_cast<u64>(ratio >> 64);
  ratio_lo = static_cast<u64>(ratio);
}

u64 pow_mod(u64 base, u64 exp, const Modulus& m) {
  u64 result = 1 % m.value;
  base = reduce_64(base, m);
  while (exp) {
    if (exp & 1) result = mul_mod(result, base, m);
    base = mul_mod(base, base, m);
    exp >>= 1;
  }
  return result;
}

u64 inv_mod(u64 a, const Modulus& m) {
  a = reduce_64(a, m);
  if (a == 0) throw Error("inverse of 0 modulo " + std::to_string(m.value));
  return pow_mod(a, m.value - 2, m);  // q prime
}

}  // namespace hemi::math
