// Element-wise kernels over one residue polynomial (n coefficients modulo one prime). Each has
// a portable scalar version, the reference, and vector versions chosen at run time (simd.h):
// AVX2 and AVX-512 IFMA for q < 2^50 (simd_kernels.h). Any n; no alignment needed.
// Ranges: inputs < q unless stated; outputs < q unless `_lazy`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hemi/math/modarith.h"

namespace hemi::math {

// x[i] = x[i] + y[i] mod q
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
// x[i] = x[i] - y[i] mod q
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
// out[i] = x[i] * y[i] mod q (out may alias x)
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
// x[i] = x[i] * w mod q for a constant w < q with w_shoup = shoup(w, q); x[i] < q
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
// acc[i] = acc[i] + x[i] * w[i] mod q, kept in [0, 2q) (`_lazy`): acc < 2q on entry,
// w_shoup[i] = shoup(w[i], q) (64-bit factors).
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
// acc[i] = acc[i] + x[i] * w mod q, kept in [0, 2q): one constant w < q, w_shoup = shoup(w, q),
// x[i] < 2^32 (`_lazy`).
void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
// x[i] in [0, 2q) -> x[i] mod q
void reduce_from_2q(u64* x, std::size_t n, u64 q);
// Exact conversion from one prime a to b: x[i] < a is read as its centred representative
// (x - a when x > a/2) and reduced mod b (base conversion from a single prime).
void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b);
// out[i] = (x[i] mod b) - c mod b, for x[i] < a (a residue of the prime a) and c < b: the
// rounding step of rescale.
void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b, u64 c);
// out[i] = v[i] mod q, for signed v; `bound` >= every |v[i]|: below q no division is needed.
void from_signed_vec(u64* out, const std::int64_t* v, std::size_t n, u64 q, u64 bound);
// The bound for from_signed_vec: max |v[i]| (every |v[i]| < 2^63).
u64 max_abs(const std::int64_t* v, std::size_t n);
// out[i] = x[perm[i]] (a gather; perm a permutation of [0, n))
void permute(u64* out, const u64* x, const std::uint32_t* perm, std::size_t n);

// Fused dot product with constant weights, reduced once per output coefficient: accumulate
// terms x_t[i] * w_t (x < q, w < q) into a DotAccumulator, then finish() reduces mod q.
// Up to max_terms() terms may be added between finishes.
class DotAccumulator {
 public:
  DotAccumulator(std::size_t n, const Modulus& m);
  void add(const u64* x, u64 w);
  // terms x[t] * w[t], t < terms, at once: the same sums as `terms` calls of add, fewer
  // memory round trips. Any number of terms.
  void add_terms(const u64* const* x, const u64* w, std::size_t terms);
  // A term with a different factor per coefficient: x[i] * y[i] (x, y < q).
  void add_product(const u64* x, const u64* y);
  void finish(u64* out);  // out[i] = sum mod q; resets the accumulator
  std::size_t max_terms() const { return max_terms_; }

 private:
  void fold();  // reduces the partial sums when the next term could overflow
  u64 sum_mod(std::size_t i) const;
  // How the products are summed: 128-bit words (scalar); split at bit 52 (IFMA) or bit 32
  // (AVX2, q < 2^31) into lo/hi; or (AVX2, 2^31 <= q < 2^50) lo + mid 2^32 + hi 2^64.
  enum class Mode { scalar, ifma52, avx2_32, avx2_wide };
  std::size_t n_;
  Modulus m_;
  Mode mode_ = Mode::scalar;
  std::size_t max_terms_, pending_ = 0;
  std::vector<u64> lo_, mid_, hi_;  // vector paths (mid_: avx2_wide only)
  std::vector<u128> wide_;          // scalar: 128-bit sums
};

// The reference kernels (what the vector paths are tested against).
namespace scalar {
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void reduce_from_2q(u64* x, std::size_t n, u64 q);
void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b);
void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b, u64 c);
}  // namespace scalar

}  // namespace hemi::math
