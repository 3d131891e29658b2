// Encryption (public key, or symmetric with a seeded half-size output for uploads) and
// decryption, client side. Encryption is the ring layer's (ring/encryptor.h) applied to
// floor(Q/t) * m; decryption computes round(t/Q * [c0 + c1 s]_Q) mod t exactly in RNS.
// The Decryptor also measures the invariant noise (for tests and for the client's check of a
// result): ||v|| with t/Q * [c0 + c1 s]_Q = m + v + t k, and the remaining budget
// -log2(2 ||v||) bits (decryption is correct while it is positive). One object per thread.
#pragma once

#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/keys.h"
#include "hemi/ring/encryptor.h"

namespace hemi::bfv {

class Encryptor {
 public:
  Encryptor(Params params, PublicKey pk);
  Encryptor(Params params, PublicKey pk, const Seed& test_seed);  // tests only
  // At the top level unless a level is given.
  Ciphertext encrypt(const Plaintext& pt, std::size_t level = SIZE_MAX);

 private:
  Params params_;
  ring::Encryptor inner_;
};

class SymmetricEncryptor {
 public:
  SymmetricEncryptor(Params params, const SecretKey& sk);
  SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& test_seed);  // tests only
  SeededCiphertext encrypt_seeded(const Plaintext& pt, std::size_t level = SIZE_MAX);
  Ciphertext encrypt(const Plaintext& pt, std::size_t level = SIZE_MAX) {
    return expand(params_, encrypt_seeded(pt, level));
  }
  static Ciphertext expand(const Params& params, const SeededCiphertext& sct);

 private:
  Params params_;
  ring::SymmetricEncryptor inner_;
};

class Decryptor {
 public:
  Decryptor(Params params, const SecretKey& sk);
  Plaintext decrypt(const Ciphertext& ct) const;
  // log2 ||v||_inf of the invariant noise (-inf for none).
  double invariant_noise_log2(const Ciphertext& ct) const;
  // -log2(2 ||v||), at least 0: the bits of noise budget left.
  double noise_budget(const Ciphertext& ct) const;

 private:
  RnsPoly phase(const Ciphertext& ct, const char* op) const;  // [c0 + c1 s (+ c2 s^2)]_Q, coefficients
  Params params_;
  ring::Decryptor inner_;
};

}  // namespace hemi::bfv
