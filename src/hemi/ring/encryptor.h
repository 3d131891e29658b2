// Encryption and decryption on the ring, shared by CKKS and BFV: each scheme maps its
// plaintext to a polynomial m over Q_level (CKKS: the encoding; BFV: round(Q m / t)) and its
// ciphertext metadata around these. Client side; one object per thread (they hold a Prng).
//  - Encryptor: public key, (p0 u + e0 + m, p1 u + e1) with u ternary, e0, e1 Gaussian.
//  - SymmetricEncryptor: c0 = e - a s + m with a expanded from a fresh public seed (the seeded,
//    half-size form), in one order of randomness: the seed, a, then e.
//  - Decryptor: the phase c0 + c1 s (+ c2 s^2); the secret-dependent temporaries are wiped.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hemi/ring/keys.h"

namespace hemi::ring {

class Encryptor {
 public:
  Encryptor(Params params, PublicKey pk);                         // OS CSPRNG
  Encryptor(Params params, PublicKey pk, const Seed& test_seed);  // tests only
  // m: NTT form over q_0..q_level. Returns (c0, c1).
  std::vector<RnsPoly> encrypt(const RnsPoly& m, std::size_t level);

 private:
  Params params_;
  PublicKey pk_;
  Prng prng_;
};

class SymmetricEncryptor {
 public:
  SymmetricEncryptor(Params params, const SecretKey& sk);
  SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& test_seed);  // tests only
  // m: NTT form over q_0..q_level. Returns c0; c1 expands from `seed`.
  RnsPoly encrypt_seeded(const RnsPoly& m, std::size_t level, Seed& seed);
  // The same c0 as encrypt_seeded for the same randomness, from m's signed coefficients
  // (|m| < 2^62, n of them): the error is added to the coefficients, so each limb takes one
  // NTT instead of two.
  RnsPoly encrypt_seeded_coefficients(std::span<const std::int64_t> m, std::size_t level, Seed& seed);
  // c1 of a seeded ciphertext at `level`.
  static RnsPoly expand(const Params& params, const Seed& seed, std::size_t level);

 private:
  std::vector<std::int8_t> draw(std::size_t limbs, Seed& seed, RnsPoly& a);
  Params params_;
  const SecretKey& sk_;
  Prng prng_;
};

class Decryptor {
 public:
  Decryptor(Params params, const SecretKey& sk);
  // c0 + c1 s (+ c2 s^2) in NTT form over q_0..q_level; c has 2 or 3 parts (the caller checks).
  RnsPoly phase(std::span<const RnsPoly> c, std::size_t level) const;

 private:
  Params params_;
  const SecretKey& sk_;
};

}  // namespace hemi::ring
