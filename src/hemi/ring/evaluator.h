// The scheme-independent half of homomorphic evaluation, on the polynomial parts of a
// ciphertext at a level (NTT form over q_0 ... q_level): element-wise addition, subtraction and
// negation; hybrid key switching (Han-Ki: the digits' ModUp to Q_l P, the inner product with
// the key, ModDown by P), and with it relinearization and Galois automorphisms, one at a time
// or hoisted (one decomposition shared by many automorphisms, Halevi-Shoup); and division by
// the last prime with rounding (CKKS rescale, BFV modulus switching).
// The schemes validate their ciphertexts (parameter identity, level, shape, scale) and then
// call these; the key checks (the key's parameters, a key for the element) are made here, with
// the scheme's operation name in the message, before anything is written.
// Immutable; may be shared by threads. With a ThreadPool (not owned, must outlive this) the
// digits and limbs of key switching are spread over it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/ring/keys.h"

namespace hemi::ring {

class Evaluator {
 public:
  using Parts = std::vector<RnsPoly>;

  explicit Evaluator(Params params, ThreadPool* pool = nullptr) : params_(std::move(params)), pool_(pool) {}
  const Params& params() const { return params_; }

  // a += b, a -= b part by part (a grows to b's part count with zeros), -a.
  void add_inplace(Parts& a, const Parts& b, std::size_t level) const;
  void sub_inplace(Parts& a, const Parts& b, std::size_t level) const;
  void negate_inplace(Parts& a, std::size_t level) const;

  // (c0, c1, c2) -> (c0, c1) + KeySwitch(c2) under s^2 -> s.
  void relinearize_inplace(Parts& c, std::size_t level, const RelinKey& rk, const char* op) const;
  // (c0, c1) -> (sigma_g(c0), 0) + KeySwitch(sigma_g(c1)): decrypts to sigma_g(m).
  Parts apply_galois(const Parts& c, std::size_t level, std::uint32_t galois_elt, const GaloisKeys& gk,
                     const char* op) const;
  // apply_galois for each element (1: a copy), sharing one decomposition of c1.
  std::vector<Parts> apply_galois_hoisted(const Parts& c, std::size_t level, std::span<const std::uint32_t> elts,
                                          const GaloisKeys& gk, const char* op) const;
  // Throws unless gk is under these parameters and holds a key for every element but 1.
  void check_galois_keys(const GaloisKeys& gk, std::span<const std::uint32_t> elts, const char* op) const;

  // round(c / q_level) on every part; level >= 1 (the caller checks). The parts lose a limb.
  void divide_round_by_last_inplace(Parts& c, std::size_t level) const;

  void parallel(std::size_t count, const std::function<void(std::size_t)>& f) const;

 private:
  struct Decomposed {
    std::vector<RnsPoly> digits;  // ModUp of each digit, NTT form over Q_level and P
    std::size_t level = 0;
  };
  Decomposed decompose(const RnsPoly& d, std::size_t level) const;
  // (out0, out1) = ModDown(sum_j digit_j(perm) * key_j), over Q_level, NTT form.
  void key_switch(const Decomposed& dec, const KeySwitchKey& key, const std::uint32_t* perm, RnsPoly& out0,
                  RnsPoly& out1) const;
  Parts rotated(const Parts& c, const Decomposed& dec, const KeySwitchKey& key, const std::vector<std::uint32_t>& perm,
                bool permute_digits) const;

  Params params_;
  ThreadPool* pool_ = nullptr;
};

// The additive operations every scheme offers, written once: the scheme's checks (parameter
// identity, levels, shapes, scales), then the ring's element-wise kernels. CRTP: Scheme has
// check(a, op), check_pair(a, b, op) and ring_ops() (its ring::Evaluator), and befriends this.
template <class Scheme, class Ct>
class AdditiveOps {
 public:
  void add_inplace(Ct& a, const Ct& b) const {
    self().check_pair(a, b, "add");
    self().ring_ops().add_inplace(a.polys, b.polys, a.level);
  }
  Ct add(const Ct& a, const Ct& b) const {
    self().check_pair(a, b, "add");
    Ct r = a;
    add_inplace(r, b);
    return r;
  }
  void sub_inplace(Ct& a, const Ct& b) const {
    self().check_pair(a, b, "sub");
    self().ring_ops().sub_inplace(a.polys, b.polys, a.level);
  }
  Ct sub(const Ct& a, const Ct& b) const {
    self().check_pair(a, b, "sub");
    Ct r = a;
    sub_inplace(r, b);
    return r;
  }
  void negate_inplace(Ct& a) const {
    self().check(a, "negate");
    self().ring_ops().negate_inplace(a.polys, a.level);
  }

 private:
  const Scheme& self() const { return static_cast<const Scheme&>(*this); }
};

}  // namespace hemi::ring
