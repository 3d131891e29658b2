// Negacyclic number-theoretic transform over Z_q[X]/(X^n + 1), Harvey's butterflies with
// Shoup-precomputed twiddles and lazy reduction. The output of the forward transform is in
// bit-reversed order: slot i holds a(psi^(2*brv(i)+1)), psi the table's primitive 2n-th root.
//
// Dispatch: ntt_forward/ntt_inverse run the active SIMD path's kernels (simd.h) when the prime
// suits them (AVX-512 IFMA: q < 2^50 and n >= 16; AVX2: q < 2^50), else the scalar kernels.
// Tables are immutable and may be shared by any number of threads.
#pragma once

#include <cstddef>

#include "hemi/base/aligned_vector.h"
#include "hemi/math/modarith.h"

namespace hemi::math {

class NttTables {
 public:
  // n a power of two in [8, 2^17]; q prime, q = 1 mod 2n, q < 2^61.
  NttTables(std::size_t n, const Modulus& q);

  std::size_t n() const { return n_; }
  int log_n() const { return log_n_; }
  const Modulus& modulus() const { return q_; }
  u64 root() const { return root_; }
  bool ifma_eligible() const { return q_.bits <= 50 && n_ >= 16; }

  // psi^brv(i) and psi^-brv(i) for i in [0, n), with Shoup factors.
  const U64Vec& root_pows() const { return root_pows_; }
  const U64Vec& root_pows_shoup() const { return root_pows_shoup_; }
  const U64Vec& inv_root_pows() const { return inv_root_pows_; }
  const U64Vec& inv_root_pows_shoup() const { return inv_root_pows_shoup_; }
  u64 n_inv() const { return n_inv_; }
  u64 n_inv_shoup() const { return n_inv_shoup_; }
  // 52-bit Shoup factors floor(w * 2^52 / q) for the IFMA kernels (empty when not eligible).
  const U64Vec& root_pows_shoup52() const { return root_pows_shoup52_; }
  const U64Vec& inv_root_pows_shoup52() const { return inv_root_pows_shoup52_; }
  u64 n_inv_shoup52() const { return n_inv_shoup52_; }

 private:
  std::size_t n_;
  int log_n_;
  Modulus q_;
  u64 root_;
  U64Vec root_pows_, root_pows_shoup_, inv_root_pows_, inv_root_pows_shoup_;
  U64Vec root_pows_shoup52_, inv_root_pows_shoup52_;
  u64 n_inv_, n_inv_shoup_, n_inv_shoup52_ = 0;
};

// In place. Input < 4q, output < q.
void ntt_forward(u64* a, const NttTables& t);
// In place. Input < 2q, output < q.
void ntt_inverse(u64* a, const NttTables& t);

// The portable kernels, always available (the reference for the SIMD ones).
void ntt_forward_scalar(u64* a, const NttTables& t);
void ntt_inverse_scalar(u64* a, const NttTables& t);

std::size_t bit_reverse(std::size_t x, int bits);

}  // namespace hemi::math
