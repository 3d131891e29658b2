// Element-wise kernels over one residue polynomial (n coefficients modulo one prime). Each has
// a portable scalar version and, for q < 2^50 on CPUs with AVX-512 IFMA, a vector version
// chosen at run time (simd.h). Ranges: inputs < q unless stated; outputs < q unless `_lazy`.
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
// x[i] in [0, 2q) -> x[i] mod q
void reduce_from_2q(u64* x, std::size_t n, u64 q);
// out[i] = x[perm[i]] (a gather; perm a permutation of [0, n))
void permute(u64* out, const u64* x, const std::uint32_t* perm, std::size_t n);

// Fused dot product with constant weights, reduced once per output coefficient: accumulate
// terms x_t[i] * w_t (x < q, w < q) into a DotAccumulator, then finish() reduces mod q.
// Up to max_terms() terms may be added between finishes.
class DotAccumulator {
 public:
  DotAccumulator(std::size_t n, const Modulus& m);
  void add(const u64* x, u64 w);
  // A term with a different factor per coefficient: x[i] * y[i] (x, y < q).
  void add_product(const u64* x, const u64* y);
  void finish(u64* out);  // out[i] = sum mod q; resets the accumulator
  std::size_t max_terms() const { return max_terms_; }

 private:
  void fold();  // reduces the partial sums when the next term could overflow
  std::size_t n_;
  Modulus m_;
  bool ifma_;
  std::size_t max_terms_, pending_ = 0;
  std::vector<u64> lo_, hi_;  // IFMA: sums of the low / high 52-bit product halves
  std::vector<u128> wide_;    // scalar: 128-bit sums
};

namespace scalar {
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
void reduce_from_2q(u64* x, std::size_t n, u64 q);
}  // namespace scalar

namespace simd {
// The IFMA versions: q < 2^50, n a multiple of 8.
void add_mod_vec_ifma(u64* x, const u64* y, std::size_t n, u64 q);
void sub_mod_vec_ifma(u64* x, const u64* y, std::size_t n, u64 q);
void mul_mod_vec_ifma(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
void mul_scalar_vec_ifma(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void mac_shoup_lazy_ifma(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
void reduce_from_2q_ifma(u64* x, std::size_t n, u64 q);
// lo[i] += low 52 bits of x[i] * w, hi[i] += high 52 bits (x, w < 2^52)
void dot_accumulate_ifma(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n);
// lo[i] += low 52 bits of x[i] * y[i], hi[i] += high 52 bits
void product_accumulate_ifma(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n);
}  // namespace simd

}  // namespace hemi::math
