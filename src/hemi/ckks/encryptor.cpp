#include "hemi/ckks/encryptor.h"

#include "hemi/ckks/encoder.h"

namespace hemi::ckks {

namespace {
void check_plaintext(const Params& params, const Plaintext& pt, const char* op) {
  if (pt.params_id != params.id()) throw Error(std::string(op) + ": plaintext from other parameters");
  check_level(params, pt.level, op);
  if (pt.poly.limbs() != pt.level + 1 || pt.poly.n() != params.n())
    throw Error(std::string(op) + ": plaintext shape does not match its level");
}
}  // namespace

Encryptor::Encryptor(Params params, PublicKey pk) : params_(params), inner_(params, std::move(pk)) {}
Encryptor::Encryptor(Params params, PublicKey pk, const Seed& seed) : params_(params), inner_(params, std::move(pk), seed) {}

Ciphertext Encryptor::encrypt(const Plaintext& pt) {
  check_plaintext(params_, pt, "encrypt");
  Ciphertext ct;
  ct.polys = inner_.encrypt(pt.poly, pt.level);
  ct.level = pt.level;
  ct.scale = pt.scale;
  ct.params_id = params_.id();
  return ct;
}

SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk) : params_(params), inner_(params, sk) {}
SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& seed)
    : params_(params), inner_(params, sk, seed) {}

SeededCiphertext SymmetricEncryptor::encrypt_seeded(const Plaintext& pt) {
  check_plaintext(params_, pt, "encrypt");
  SeededCiphertext sct{RnsPoly{}, Seed{}, pt.level, pt.scale, params_.id()};
  sct.c0 = inner_.encrypt_seeded(pt.poly, pt.level, sct.seed);
  return sct;
}

SeededCiphertext SymmetricEncryptor::encrypt_seeded(const Encoder::Coefficients& msg) {
  check_level(params_, msg.level, "encrypt");
  if (msg.ints.size() != params_.n())
    throw Error("encrypt: " + std::to_string(msg.ints.size()) + " coefficients for a ring of " + std::to_string(params_.n()));
  // The encoder keeps |m| below 2^62, as the ring asks.
  SeededCiphertext sct{RnsPoly{}, Seed{}, msg.level, msg.scale, params_.id()};
  sct.c0 = inner_.encrypt_seeded_coefficients(msg.ints, msg.level, sct.seed);
  return sct;
}

Ciphertext SymmetricEncryptor::expand(const Params& params, const SeededCiphertext& sct) {
  if (sct.params_id != params.id()) throw Error("expand: ciphertext from other parameters");
  check_level(params, sct.level, "expand");
  Ciphertext ct;
  ct.level = sct.level;
  ct.scale = sct.scale;
  ct.params_id = sct.params_id;
  ct.polys.push_back(sct.c0);
  ct.polys.push_back(ring::SymmetricEncryptor::expand(params, sct.seed, sct.level));
  return ct;
}

Decryptor::Decryptor(Params params, const SecretKey& sk) : params_(params), inner_(params, sk) {}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  if (ct.params_id != params_.id()) throw Error("decrypt: ciphertext from other parameters");
  check_level(params_, ct.level, "decrypt");
  if (ct.size() < 2 || ct.size() > 3) throw Error("decrypt: ciphertext has " + std::to_string(ct.size()) + " parts");
  Plaintext pt;
  pt.level = ct.level;
  pt.scale = ct.scale;
  pt.params_id = params_.id();
  pt.poly = inner_.phase(ct.polys, ct.level);
  return pt;
}

}  // namespace hemi::ckks
