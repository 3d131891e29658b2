#include "hemi/ckks/encryptor.h"

#include <algorithm>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/sampling.h"
#include "hemi/math/eltwise.h"
#include "hemi/math/ntt.h"

namespace hemi::ckks {

using math::u64;

namespace {
void check_plaintext(const Params& params, const Plaintext& pt, const char* op) {
  if (pt.params_id != params.id()) throw Error(std::string(op) + ": plaintext from other parameters");
  check_level(params, pt.level, op);
  if (pt.poly.limbs() != pt.level + 1 || pt.poly.n() != params.n())
    throw Error(std::string(op) + ": plaintext shape does not match its level");
}
}  // namespace

Encryptor::Encryptor(Params params, PublicKey pk) : params_(std::move(params)), pk_(std::move(pk)) {
  if (pk_.ct.params_id != params_.id()) throw Error("encrypt: public key from other parameters");
}
Encryptor::Encryptor(Params params, PublicKey pk, const Seed& seed)
    : params_(std::move(params)), pk_(std::move(pk)), prng_(seed) {
  if (pk_.ct.params_id != params_.id()) throw Error("encrypt: public key from other parameters");
}

Ciphertext Encryptor::encrypt(const Plaintext& pt) {
  check_plaintext(params_, pt, "encrypt");
  const auto& ctx = params_.ctx();
  const std::size_t limbs = pt.level + 1;
  auto u_small = detail::sample_ternary(prng_, ctx.n);
  auto e0_small = detail::sample_gaussian(prng_, ctx.n);
  auto e1_small = detail::sample_gaussian(prng_, ctx.n);
  RnsPoly u = detail::small_to_ntt(u_small.data(), ctx, limbs, false);
  RnsPoly e0 = detail::small_to_ntt(e0_small.data(), ctx, limbs, false);
  RnsPoly e1 = detail::small_to_ntt(e1_small.data(), ctx, limbs, false);
  Ciphertext ct;
  ct.level = pt.level;
  ct.scale = pt.scale;
  ct.params_id = params_.id();
  ct.polys.assign(2, RnsPoly(ctx.n, limbs));
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.q[i];
    // c0 = p0 u + e0 + m, c1 = p1 u + e1, with the vector kernels (eltwise.h)
    u64 *c0 = ct.polys[0].limb(i), *c1 = ct.polys[1].limb(i);
    math::mul_mod_vec(c0, pk_.ct.polys[0].limb(i), u.limb(i), ctx.n, m);
    math::add_mod_vec(c0, e0.limb(i), ctx.n, m.value);
    math::add_mod_vec(c0, pt.poly.limb(i), ctx.n, m.value);
    math::mul_mod_vec(c1, pk_.ct.polys[1].limb(i), u.limb(i), ctx.n, m);
    math::add_mod_vec(c1, e1.limb(i), ctx.n, m.value);
  }
  u.wipe();
  e0.wipe();
  e1.wipe();
  for (auto* v : {&u_small, &e0_small, &e1_small}) secure_wipe(v->data(), v->size());
  return ct;
}

SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk)
    : params_(std::move(params)), sk_(sk) {
  if (sk_.params_id != params_.id()) throw Error("encrypt: secret key from other parameters");
}
SymmetricEncryptor::SymmetricEncryptor(Params params, const SecretKey& sk, const Seed& seed)
    : params_(std::move(params)), sk_(sk), prng_(seed) {
  if (sk_.params_id != params_.id()) throw Error("encrypt: secret key from other parameters");
}

// The randomness of a seeded encryption, in one order for both forms (same seed, same
// ciphertext): the seed of `a`, `a` itself, then the error.
std::vector<std::int8_t> SymmetricEncryptor::draw(std::size_t limbs, SeededCiphertext& sct, RnsPoly& a) {
  prng_.fill(sct.seed.data(), sct.seed.size());
  Prng expand(sct.seed, detail::kLabelSeededCiphertextA);
  a = detail::sample_uniform(expand, params_.ctx(), limbs, false);
  return detail::sample_gaussian(prng_, params_.ctx().n);
}

SeededCiphertext SymmetricEncryptor::encrypt_seeded(const Plaintext& pt) {
  check_plaintext(params_, pt, "encrypt");
  const auto& ctx = params_.ctx();
  const std::size_t limbs = pt.level + 1;
  SeededCiphertext sct;
  RnsPoly a;
  auto e_small = draw(limbs, sct, a);
  RnsPoly e = detail::small_to_ntt(e_small.data(), ctx, limbs, false);
  secure_wipe(e_small.data(), e_small.size());
  sct.c0 = RnsPoly(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.q[i];
    // c0 = e - a s + m, with the vector kernels (eltwise.h); e's buffer holds the sum
    u64* c0 = sct.c0.limb(i);
    math::mul_mod_vec(c0, a.limb(i), sk_.poly.limb(i), ctx.n, m);
    math::sub_mod_vec(e.limb(i), c0, ctx.n, m.value);
    math::add_mod_vec(e.limb(i), pt.poly.limb(i), ctx.n, m.value);
    std::copy(e.limb(i), e.limb(i) + ctx.n, c0);
  }
  e.wipe();
  sct.level = pt.level;
  sct.scale = pt.scale;
  sct.params_id = params_.id();
  return sct;
}

SeededCiphertext SymmetricEncryptor::encrypt_seeded(const Encoder::Coefficients& msg) {
  check_level(params_, msg.level, "encrypt");
  const auto& ctx = params_.ctx();
  if (msg.ints.size() != ctx.n)
    throw Error("encrypt: " + std::to_string(msg.ints.size()) + " coefficients for a ring of " + std::to_string(ctx.n));
  const std::size_t limbs = msg.level + 1;
  SeededCiphertext sct;
  RnsPoly a;
  auto e_small = draw(limbs, sct, a);
  // |m + e| < 2^63: the encoder keeps |m| below 2^62 and |e| <= kErrorBound.
  std::vector<std::int64_t> me(ctx.n);
  for (std::size_t c = 0; c < ctx.n; ++c) me[c] = msg.ints[c] + e_small[c];
  secure_wipe(e_small.data(), e_small.size());
  sct.c0 = RnsPoly(ctx.n, limbs);
  std::vector<u64, AlignedAllocator<u64>> as(ctx.n);
  const u64 bound = math::max_abs(me.data(), me.size());
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.q[i];
    // c0 = (m + e) - a s
    u64* c0 = sct.c0.limb(i);
    math::from_signed_vec(c0, me.data(), ctx.n, m.value, bound);
    math::ntt_forward(c0, *ctx.ntt[i]);
    math::mul_mod_vec(as.data(), a.limb(i), sk_.poly.limb(i), ctx.n, m);
    math::sub_mod_vec(c0, as.data(), ctx.n, m.value);
  }
  secure_wipe(me.data(), me.size() * sizeof(std::int64_t));
  sct.level = msg.level;
  sct.scale = msg.scale;
  sct.params_id = params_.id();
  return sct;
}

Ciphertext SymmetricEncryptor::expand(const Params& params, const SeededCiphertext& sct) {
  if (sct.params_id != params.id()) throw Error("expand: ciphertext from other parameters");
  check_level(params, sct.level, "expand");
  Prng expand(sct.seed, detail::kLabelSeededCiphertextA);
  Ciphertext ct;
  ct.level = sct.level;
  ct.scale = sct.scale;
  ct.params_id = sct.params_id;
  ct.polys.push_back(sct.c0);
  ct.polys.push_back(detail::sample_uniform(expand, params.ctx(), sct.level + 1, false));
  return ct;
}

Decryptor::Decryptor(Params params, const SecretKey& sk) : params_(std::move(params)), sk_(sk) {
  if (sk_.params_id != params_.id()) throw Error("decrypt: secret key from other parameters");
}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  if (ct.params_id != params_.id()) throw Error("decrypt: ciphertext from other parameters");
  check_level(params_, ct.level, "decrypt");
  if (ct.size() < 2 || ct.size() > 3) throw Error("decrypt: ciphertext has " + std::to_string(ct.size()) + " parts");
  const auto& ctx = params_.ctx();
  const std::size_t limbs = ct.level + 1;
  Plaintext pt;
  pt.level = ct.level;
  pt.scale = ct.scale;
  pt.params_id = params_.id();
  pt.poly = RnsPoly(ctx.n, limbs);
  // s^2 and c2 s^2 are secret-dependent temporaries: sized once, wiped before they are freed.
  std::vector<u64, AlignedAllocator<u64>> t, s2;
  if (ct.size() == 3) {
    t.resize(ctx.n);
    s2.resize(ctx.n);
  }
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.q[i];
    const u64* s = sk_.poly.limb(i);
    u64* out = pt.poly.limb(i);
    // m = c0 + c1 s (+ c2 s^2)
    math::mul_mod_vec(out, ct.polys[1].limb(i), s, ctx.n, m);
    math::add_mod_vec(out, ct.polys[0].limb(i), ctx.n, m.value);
    if (ct.size() == 3) {
      math::mul_mod_vec(s2.data(), s, s, ctx.n, m);
      math::mul_mod_vec(t.data(), ct.polys[2].limb(i), s2.data(), ctx.n, m);
      math::add_mod_vec(out, t.data(), ctx.n, m.value);
    }
  }
  secure_wipe(s2.data(), s2.size() * sizeof(u64));
  secure_wipe(t.data(), t.size() * sizeof(u64));
  return pt;
}

}  // namespace hemi::ckks
