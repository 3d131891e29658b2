// Encryption (public key, or symmetric with the secret key and a seeded half-size output for
// uploads) and decryption: the ring's (ring/encryptor.h) with CKKS's level and scale around
// them. Client side. One Encryptor/Decryptor per thread.
#pragma once

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/keys.h"
#include "hemi/ring/encryptor.h"

namespace hemi::ckks {

class Encryptor {
 public:
  Encryptor(Params params, PublicKey pk);                         // OS CSPRNG
  Encryptor(Params params, PublicKey pk, const Seed& test_seed);  // tests only
  Ciphertext encrypt(const Plaintext& pt);

 private:
  Params params_;
  ring::Encryptor inner_;
};

class SymmetricEncryptor {
 public:
  SymmetricEncryptor(Params params, const SecretKey& sk);
  SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& test_seed);
  SeededCiphertext encrypt_seeded(const Plaintext& pt);
  // The same ciphertext as encrypt_seeded(encoder.encode(...)) for the same randomness, from
  // the encoding before its NTT: the error is added to the coefficients, so each limb takes
  // one NTT instead of two.
  SeededCiphertext encrypt_seeded(const Encoder::Coefficients& m);
  Ciphertext encrypt(const Plaintext& pt) { return expand(params_, encrypt_seeded(pt)); }
  static Ciphertext expand(const Params& params, const SeededCiphertext& sct);

 private:
  Params params_;
  ring::SymmetricEncryptor inner_;
};

class Decryptor {
 public:
  Decryptor(Params params, const SecretKey& sk);
  Plaintext decrypt(const Ciphertext& ct) const;

 private:
  Params params_;
  ring::Decryptor inner_;
};

}  // namespace hemi::ckks
