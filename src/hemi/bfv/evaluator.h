// Homomorphic operations on BFV ciphertexts. Server side: only public evaluation keys.
// Every operation validates parameter identity, levels, shapes and keys before it touches its
// output, and its errors name the operation and the values.
// The tensor product is Halevi-Polyakov-Shoup's: both operands extended exactly from Q_l to
// Q_l + R (R the auxiliary base of Params), multiplied in NTT form, scaled by t/Q_l and
// rounded into R, then converted exactly back to Q_l. Key switching (relinearize, rotations),
// modulus switching and the additive operations are the ring layer's (ring/evaluator.h: hybrid
// key switching, Galois automorphisms, division by the last prime), applied to the parts.
// Cost notes: multiply ~ 7 (L + 1 + |R|) NTTs; key switching as in CKKS; everything else is
// linear. Immutable; one Evaluator may be shared by threads. With a ThreadPool (not owned,
// must outlive the Evaluator) the limbs are spread over it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/keys.h"
#include "hemi/ring/evaluator.h"

namespace hemi::bfv {

class Evaluator : public ring::AdditiveOps<Evaluator, Ciphertext> {
 public:
  explicit Evaluator(Params params, ThreadPool* pool = nullptr);
  const Params& params() const { return params_; }

  // add, add_inplace, sub, sub_inplace, negate_inplace: ring::AdditiveOps.

  void add_plain_inplace(Ciphertext& a, const Plaintext& p) const;
  void sub_plain_inplace(Ciphertext& a, const Plaintext& p) const;
  // Slot-wise product with a plaintext (noise grows by up to N (t/2)).
  void multiply_plain_inplace(Ciphertext& a, const Plaintext& p) const;
  // Every slot plus / times an integer k, |k| <= (t-1)/2 (noise grows by |k|).
  void add_const_inplace(Ciphertext& a, std::int64_t k) const;
  void multiply_const_inplace(Ciphertext& a, std::int64_t k) const;
  // sum_i weights[i] * cts[i], reduced once per coefficient (the inner loop of a layer).
  Ciphertext dot_product(std::span<const Ciphertext* const> cts, std::span<const std::int64_t> weights) const;

  // A whole linear layer: output r = sum_k weights[r][k] * in[index[r][k]] (every input at one
  // level, 2 parts). Blocked over the coefficients, so each input limb is read from memory once
  // per block for all outputs instead of once per output (the layer's inputs are far larger
  // than the caches); work is spread over the pool by (limb, block).
  std::vector<Ciphertext> linear(std::span<const Ciphertext> in, std::span<const std::vector<std::uint32_t>> index,
                                 std::span<const std::vector<std::int64_t>> weights) const;

  // Ciphertext products: three parts until relinearized.
  Ciphertext multiply(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext square(const Ciphertext& a) const;
  void relinearize_inplace(Ciphertext& a, const RelinKey& rk) const;
  Ciphertext multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const;

  // Rotations of the 2 x N/2 slot matrix: rows left by `steps` (negative: right), or the two
  // rows swapped. Hoisted: many row rotations sharing one decomposition.
  Ciphertext rotate_rows(const Ciphertext& a, int steps, const GaloisKeys& gk) const;
  Ciphertext rotate_columns(const Ciphertext& a, const GaloisKeys& gk) const;
  std::vector<Ciphertext> rotate_rows_hoisted(const Ciphertext& a, std::span<const int> steps,
                                              const GaloisKeys& gk) const;

  // Modulus switching: divide by the last prime with rounding (level - 1); shrinks a result
  // before download; adds a small, level-dependent noise term (docs/bfv.md).
  void mod_switch_to_next_inplace(Ciphertext& a) const;
  void mod_switch_to_inplace(Ciphertext& a, std::size_t level) const;

 private:
  friend class ring::AdditiveOps<Evaluator, Ciphertext>;
  const ring::Evaluator& ring_ops() const { return ring_; }
  void check(const Ciphertext& a, const char* op) const;
  void check_pair(const Ciphertext& a, const Ciphertext& b, const char* op) const;
  void check_plain(const Ciphertext& a, const Plaintext& p, const char* op) const;
  RnsPoly extend(const RnsPoly& p, std::size_t level) const;  // NTT over Q_l -> NTT over Q_l + R
  Ciphertext tensor(const Ciphertext& a, const Ciphertext& b, bool same) const;
  // One automorphism (elts of size 1), or many sharing one decomposition (hoisted).
  std::vector<Ciphertext> rotated(const Ciphertext& a, std::span<const std::uint32_t> elts, const GaloisKeys& gk,
                                  bool hoisted, const char* op) const;
  void parallel(std::size_t count, const std::function<void(std::size_t)>& f) const { ring_.parallel(count, f); }

  Params params_;
  ring::Evaluator ring_;
};

}  // namespace hemi::bfv
