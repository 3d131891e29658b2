#include "hemi/bfv/encryptor.h"

#include <cmath>
#include <limits>

#include "hemi/bfv/lift.h"
#include "hemi/math/eltwise.h"
#include "hemi/math/ntt.h"

namespace hemi::bfv {

using math::u64;

namespace {
std::size_t resolve_level(const Params& params, std::size_t level, const char* op) {
  if (level == SIZE_MAX) return params.max_level();
  detail::check_level(params, level, op);
  return level;
}

}  // namespace

Encryptor::Encryptor(Params params, PublicKey pk) : params_(params), inner_(params.ring(), std::move(pk)) {}
Encryptor::Encryptor(Params params, PublicKey pk, const Seed& seed)
    : params_(params), inner_(params.ring(), std::move(pk), seed) {}

Ciphertext Encryptor::encrypt(const Plaintext& pt, std::size_t level) {
  detail::check_plaintext(params_, pt, "encrypt");
  level = resolve_level(params_, level, "encrypt");
  Ciphertext ct;
  ct.polys = inner_.encrypt(detail::scale_up(params_, pt, level), level);
  ct.level = level;
  ct.params_id = params_.id();
  return ct;
}

SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk) : params_(params), inner_(params.ring(), sk) {}
SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& seed)
    : params_(params), inner_(params.ring(), sk, seed) {}

SeededCiphertext SymmetricEncryptor::encrypt_seeded(const Plaintext& pt, std::size_t level) {
  detail::check_plaintext(params_, pt, "encrypt");
  level = resolve_level(params_, level, "encrypt");
  SeededCiphertext r;
  r.c0 = inner_.encrypt_seeded(detail::scale_up(params_, pt, level), level, r.seed);
  r.level = level;
  r.params_id = params_.id();
  return r;
}

Ciphertext SymmetricEncryptor::expand(const Params& params, const SeededCiphertext& sct) {
  if (sct.params_id != params.id()) throw Error("expand: ciphertext from other parameters");
  detail::check_level(params, sct.level, "expand");
  if (sct.c0.n() != params.n() || sct.c0.limbs() != sct.level + 1)
    throw Error("expand: ciphertext shape does not match its level " + std::to_string(sct.level));
  Ciphertext ct;
  ct.polys.push_back(sct.c0);
  ct.polys.push_back(ring::SymmetricEncryptor::expand(params.ring(), sct.seed, sct.level));
  ct.level = sct.level;
  ct.params_id = params.id();
  return ct;
}

Decryptor::Decryptor(Params params, const SecretKey& sk) : params_(params), inner_(params.ring(), sk) {}

RnsPoly Decryptor::phase(const Ciphertext& ct, const char* op) const {
  if (ct.params_id != params_.id()) throw Error(std::string(op) + ": ciphertext from other parameters");
  detail::check_level(params_, ct.level, op);
  if (ct.size() < 2 || ct.size() > 3) throw Error(std::string(op) + ": ciphertext has " + std::to_string(ct.size()) + " parts");
  for (const auto& p : ct.polys)
    if (p.n() != params_.n() || p.limbs() != ct.level + 1)
      throw Error(std::string(op) + ": ciphertext shape does not match its level " + std::to_string(ct.level));
  RnsPoly x = inner_.phase(ct.polys, ct.level);
  const auto& ring = params_.ring().ctx();
  for (std::size_t i = 0; i <= ct.level; ++i) math::ntt_inverse(x.limb(i), *ring.ntt[i]);
  return x;
}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  RnsPoly x = phase(ct, "decrypt");
  Plaintext pt;
  pt.coeffs.resize(params_.n());
  u64* out = pt.coeffs.data();
  params_.ctx().levels[ct.level].decrypt_scale->scale(x.data(), &out, params_.n());
  x.wipe();
  pt.params_id = params_.id();
  return pt;
}

double Decryptor::invariant_noise_log2(const Ciphertext& ct) const {
  RnsPoly x = phase(ct, "noise");
  const auto& ring = params_.ring().ctx();
  const std::size_t n = params_.n();
  // [t x]_Q = Q v exactly (|Q v| < Q/2), reconstructed centred.
  for (std::size_t i = 0; i <= ct.level; ++i) {
    const u64 q = ring.q[i].value, tm = math::reduce_64(params_.t().value, ring.q[i]);
    math::mul_scalar_vec(x.limb(i), n, tm, math::shoup(tm, q), q);
  }
  std::vector<u64> residues(ct.level + 1);
  long double max_abs = 0;
  for (std::size_t c = 0; c < n; ++c) {
    for (std::size_t i = 0; i <= ct.level; ++i) residues[i] = x.limb(i)[c];
    max_abs = std::max(max_abs, std::fabs(ring.crt[ct.level]->centered(residues.data())));
  }
  x.wipe();
  if (max_abs == 0) return -std::numeric_limits<double>::infinity();
  return static_cast<double>(std::log2(max_abs)) - params_.log2_q(ct.level);
}

double Decryptor::noise_budget(const Ciphertext& ct) const {
  return std::max(0.0, -1.0 - invariant_noise_log2(ct));
}

}  // namespace hemi::bfv
