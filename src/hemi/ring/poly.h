// A polynomial in RNS form: `limbs` residue polynomials of n coefficients, limb i contiguous.
// Which prime each limb belongs to is implicit: q_0..q_l for data at level l, then p_0..p_{k-1}
// for key-switching intermediates and keys.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "hemi/base/aligned_vector.h"
#include "hemi/base/random.h"
#include "hemi/math/modarith.h"

namespace hemi::ring {

class RnsPoly {
 public:
  RnsPoly() = default;
  // Uninitialised coefficients: for results that are written in full.
  RnsPoly(std::size_t n, std::size_t limbs) : n_(n), limbs_(limbs), data_(n * limbs) {}
  static RnsPoly zeros(std::size_t n, std::size_t limbs) {
    RnsPoly p(n, limbs);
    std::fill(p.data_.begin(), p.data_.end(), 0);
    return p;
  }

  std::size_t n() const { return n_; }
  std::size_t limbs() const { return limbs_; }
  math::u64* limb(std::size_t i) { return data_.data() + i * n_; }
  const math::u64* limb(std::size_t i) const { return data_.data() + i * n_; }
  math::u64* data() { return data_.data(); }
  const math::u64* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }

  // Drops limbs from the end, keeping the first `limbs`.
  void truncate(std::size_t limbs) {
    limbs_ = limbs;
    data_.resize(n_ * limbs);
  }
  // Overwrites the coefficients with zeros in a way the compiler keeps (secret material).
  void wipe() { secure_wipe(data_.data(), data_.size() * sizeof(math::u64)); }

 private:
  std::size_t n_ = 0, limbs_ = 0;
  U64Vec data_;
};

// `count` polys of uninitialised coefficients, each allocated for itself (not copies of one:
// copying n * limbs words of garbage cost a third of a CKKS multiply).
inline std::vector<RnsPoly> uninitialized_parts(std::size_t count, std::size_t n, std::size_t limbs) {
  std::vector<RnsPoly> v;
  v.reserve(count);
  for (std::size_t k = 0; k < count; ++k) v.emplace_back(n, limbs);
  return v;
}

}  // namespace hemi::ring
