// Word-size modular arithmetic for NTT-friendly primes q < 2^61.
// Each primitive states its correctness range; `_lazy` variants leave results in [0, 2q).
#pragma once

#include <cstdint>

#include "hemi/base/error.h"

namespace hemi::math {

using u64 = std::uint64_t;
using u128 = unsigned __int128;

inline constexpr int kMaxModulusBits = 61;

inline u64 mul_hi(u64 a, u64 b) { return static_cast<u64>((static_cast<u128>(a) * b) >> 64); }

// A modulus with its Barrett constant floor(2^128 / q). Immutable once made.
struct Modulus {
  u64 value = 0;
  int bits = 0;
  u64 ratio_hi = 0;  // floor(2^128 / q) = ratio_hi * 2^64 + ratio_lo
  u64 ratio_lo = 0;

  Modulus() = default;
  explicit Modulus(u64 q);
};

// x < 2^128 -> x mod q.
inline u64 reduce_128(u128 x, const Modulus& m) {
  const u64 lo = static_cast<u64>(x), hi = static_cast<u64>(x >> 64);
  // Estimate floor(x * ratio / 2^128); the error is below 2 so one subtraction... two at most.
  u128 t = static_cast<u128>(lo) * m.ratio_hi + static_cast<u128>(hi) * m.ratio_lo +
           static_cast<u128>(mul_hi(lo, m.ratio_lo));
  u64 quot = static_cast<u64>(t >> 64) + hi * m.ratio_hi;
  u64 r = lo - quot * m.value;
  if (r >= m.value) r -= m.value;
  if (r >= m.value) r -= m.value;
  return r;
}

// x < 2^64 -> x mod q.
inline u64 reduce_64(u64 x, const Modulus& m) {
  u64 quot = mul_hi(x, m.ratio_hi);
  u64 r = x - quot * m.value;
  return r >= m.value ? r - m.value : r;
}

// a, b < q -> a + b mod q.
inline u64 add_mod(u64 a, u64 b, u64 q) {
  u64 s = a + b;
  return s >= q ? s - q : s;
}
// a, b < q -> a - b mod q.
inline u64 sub_mod(u64 a, u64 b, u64 q) { return a >= b ? a - b : a + q - b; }
// a < q -> -a mod q.
inline u64 neg_mod(u64 a, u64 q) { return a ? q - a : 0; }
// a * b < 2^128 -> a * b mod q.
inline u64 mul_mod(u64 a, u64 b, const Modulus& m) {
  return reduce_128(static_cast<u128>(a) * b, m);
}

// Shoup's precomputation for a fixed multiplicand w < q: floor(w * 2^64 / q).
inline u64 shoup(u64 w, u64 q) { return static_cast<u64>((static_cast<u128>(w) << 64) / q); }
// Any x < 2^64, w < q -> x * w mod q, in [0, 2q).
inline u64 mul_shoup_lazy(u64 x, u64 w, u64 w_shoup, u64 q) {
  return x * w - mul_hi(x, w_shoup) * q;
}
// Any x < 2^64, w < q -> x * w mod q, in [0, q).
inline u64 mul_shoup(u64 x, u64 w, u64 w_shoup, u64 q) {
  u64 r = mul_shoup_lazy(x, w, w_shoup, q);
  return r >= q ? r - q : r;
}

u64 pow_mod(u64 base, u64 exp, const Modulus& m);
// Inverse of a mod q for prime q; throws hemi::Error when a == 0 mod q.
u64 inv_mod(u64 a, const Modulus& m);

// A signed integer -> its residue mod q.
inline u64 from_signed(std::int64_t v, u64 q) {
  if (v >= 0) return static_cast<u64>(v) % q;
  u64 r = static_cast<u64>(-(v + 1)) % q;  // -(v+1) avoids overflow at INT64_MIN
  return q - 1 - r;
}

}  // namespace hemi::math
