// Exact RNS tools that BFV needs and CKKS does not (math/rns.h has the approximate base
// conversion of key switching). Both remove the overflow of the fast base conversion with a
// 64-bit fixed-point estimate of sum_i y_i / a_i, as Halevi-Polyakov-Shoup (2019) do with
// floating point:
//  - ExactConverter: residues of x in base A -> residues in base B of the centred
//    representative of x mod A (in [-A/2, A/2)); exact unless the fractional part of x/A lies
//    within k * 2^-64 of 1/2.
//  - ScaleRounder: round(t * d / Q) for d given in base Q (and an extension base E), into the
//    extension base E (the BFV tensor product, HPS "scale and round") or into Z_t (decryption).
//    The result may be off by one (the fixed-point error is below k/8 of a unit), which BFV's
//    noise analysis absorbs.
// Layout: k limbs of n coefficients, limb i at [i*n, (i+1)*n), coefficient form, each < its
// modulus. Immutable after construction; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "hemi/math/modarith.h"

namespace hemi::bfv {

using math::u128;
using math::u64;

class ExactConverter {
 public:
  ExactConverter(std::vector<math::Modulus> from, std::vector<math::Modulus> to);
  // in: from().size() limbs; outs[j]: n coefficients modulo to()[j], for j < to_count.
  void convert(const u64* in, u64* const* outs, std::size_t n, std::size_t to_count) const;
  const std::vector<math::Modulus>& from() const { return from_; }
  const std::vector<math::Modulus>& to() const { return to_; }

 private:
  std::vector<math::Modulus> from_, to_;
  std::vector<u64> hat_inv_, hat_inv_shoup_;  // (A/a_i)^-1 mod a_i
  std::vector<u64> hat_mod_to_;               // (A/a_i) mod b_j at [j*k + i]
  std::vector<u64> a_mod_to_;                 // A mod b_j
  std::vector<u64> v_a_mod_to_;               // v A mod b_j for v = 0..k, at [j*(k+1) + v]
};

class ScaleRounder {
 public:
  // q: the base Q of the divisor; ext: the extension base E (empty for decryption);
  // t: the numerator. With ext empty the output is modulo t, else modulo each prime of E.
  ScaleRounder(std::vector<math::Modulus> q, std::vector<math::Modulus> ext, const math::Modulus& t);
  // in: q limbs then ext limbs; outs[j]: n coefficients of round(t * d / Q) mod target j.
  void scale(const u64* in, u64* const* outs, std::size_t n) const;
  std::size_t target_count() const { return targets_.size(); }

 private:
  std::vector<math::Modulus> q_, ext_, targets_;
  std::vector<u64> omega_;     // floor(2^64 * r_i / q_i), r_i = t * E * a_i mod q_i
  std::vector<u64> int_part_;  // -r_i * q_i^-1 mod target j, at [j*k + i]
  std::vector<u64> t_q_inv_, t_q_inv_shoup_;  // t * Q^-1 mod e_j (extension case)
};

}  // namespace hemi::bfv
