// Residue number system tools: fast (approximate) base conversion for key switching, and exact
// centred CRT reconstruction for decoding.
// Layout everywhere: k limbs of n coefficients, limb i at [i*n, (i+1)*n), coefficient form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hemi/base/aligned_vector.h"
#include "hemi/math/modarith.h"

namespace hemi::math {

// Converts x given by residues in base A = {a_0..a_{k-1}} to base B: the result is
// x + u*A mod b_j for some integer 0 <= u < k (Halevi-Polyakov-Shoup / Bajard fast conversion);
// with a single source prime it is exact on the centred representative (u = -1 when x > A/2),
// which halves key-switching noise and makes ModDown round instead of floor.
// Immutable after construction; thread-safe.
class BaseConverter {
 public:
  BaseConverter(std::vector<Modulus> from, std::vector<Modulus> to);
  // in: from().size() limbs, each < a_i; out: the first to_count (default all) target limbs.
  void convert(const u64* in, u64* out, std::size_t n, std::size_t to_count = SIZE_MAX) const;
  // The same, writing target limb j to outs[j] (j < to().size()).
  void convert(const u64* in, u64* const* outs, std::size_t n) const;
  const std::vector<Modulus>& from() const { return from_; }
  const std::vector<Modulus>& to() const { return to_; }

 private:
  void convert_into(const u64* in, u64* const* outs, std::size_t to_count, std::size_t n) const;
  std::vector<Modulus> from_, to_;
  std::vector<u64> hat_inv_, hat_inv_shoup_;  // (A/a_i)^-1 mod a_i
  std::vector<u64> hat_mod_to_;               // (A/a_i) mod b_j at [j*k + i]
};

// Exact reconstruction of the centred representative of x mod A (in (-A/2, A/2]) as a long
// double, by Garner's mixed-radix conversion; precise even when A has hundreds of bits.
class CrtReconstructor {
 public:
  explicit CrtReconstructor(std::vector<Modulus> moduli);
  // residues[i] = x mod a_i, each < a_i.
  long double centered(const u64* residues) const;
  std::size_t size() const { return moduli_.size(); }

 private:
  void mixed_radix(const u64* residues, u64* digits) const;
  std::vector<Modulus> moduli_;
  std::vector<u64> inv_;          // inv_[i*k + j] = a_j^-1 mod a_i, j < i
  std::vector<u64> half_digits_;  // mixed-radix digits of (A-1)/2
};

}  // namespace hemi::math
