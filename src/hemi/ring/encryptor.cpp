#include "hemi/ring/encryptor.h"

#include <algorithm>

#include "hemi/math/eltwise.h"
#include "hemi/math/ntt.h"
#include "hemi/ring/sampling.h"

namespace hemi::ring {

using math::u64;

Encryptor::Encryptor(Params params, PublicKey pk) : params_(std::move(params)), pk_(std::move(pk)) {
  if (pk_.params_id != params_.id()) throw Error("encrypt: public key from other parameters");
}
Encryptor::Encryptor(Params params, PublicKey pk, const Seed& seed)
    : params_(std::move(params)), pk_(std::move(pk)), prng_(seed) {
  if (pk_.params_id != params_.id()) throw Error("encrypt: public key from other parameters");
}

std::vector<RnsPoly> Encryptor::encrypt(const RnsPoly& m, std::size_t level) {
  const auto& ctx = params_.ctx();
  const std::size_t limbs = level + 1;
  auto u_small = detail::sample_ternary(prng_, ctx.n);
  auto e0_small = detail::sample_gaussian(prng_, ctx.n);
  auto e1_small = detail::sample_gaussian(prng_, ctx.n);
  RnsPoly u = detail::small_to_ntt(u_small.data(), ctx, limbs, false);
  RnsPoly e0 = detail::small_to_ntt(e0_small.data(), ctx, limbs, false);
  RnsPoly e1 = detail::small_to_ntt(e1_small.data(), ctx, limbs, false);
  std::vector<RnsPoly> ct = uninitialized_parts(2, ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& q = ctx.q[i];
    // c0 = p0 u + e0 + m, c1 = p1 u + e1, with the vector kernels (eltwise.h)
    u64 *c0 = ct[0].limb(i), *c1 = ct[1].limb(i);
    math::mul_mod_vec(c0, pk_.polys[0].limb(i), u.limb(i), ctx.n, q);
    math::add_mod_vec(c0, e0.limb(i), ctx.n, q.value);
    math::add_mod_vec(c0, m.limb(i), ctx.n, q.value);
    math::mul_mod_vec(c1, pk_.polys[1].limb(i), u.limb(i), ctx.n, q);
    math::add_mod_vec(c1, e1.limb(i), ctx.n, q.value);
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

std::vector<std::int8_t> SymmetricEncryptor::draw(std::size_t limbs, Seed& seed, RnsPoly& a) {
  prng_.fill(seed.data(), seed.size());
  Prng expand(seed, detail::kLabelSeededCiphertextA);
  a = detail::sample_uniform(expand, params_.ctx(), limbs, false);
  return detail::sample_gaussian(prng_, params_.ctx().n);
}

RnsPoly SymmetricEncryptor::encrypt_seeded(const RnsPoly& m, std::size_t level, Seed& seed) {
  const auto& ctx = params_.ctx();
  const std::size_t limbs = level + 1;
  RnsPoly a;
  auto e_small = draw(limbs, seed, a);
  RnsPoly e = detail::small_to_ntt(e_small.data(), ctx, limbs, false);
  secure_wipe(e_small.data(), e_small.size());
  RnsPoly out(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& q = ctx.q[i];
    // c0 = e - a s + m, with the vector kernels (eltwise.h); e's buffer holds the sum
    u64* c0 = out.limb(i);
    math::mul_mod_vec(c0, a.limb(i), sk_.poly.limb(i), ctx.n, q);
    math::sub_mod_vec(e.limb(i), c0, ctx.n, q.value);
    math::add_mod_vec(e.limb(i), m.limb(i), ctx.n, q.value);
    std::copy(e.limb(i), e.limb(i) + ctx.n, c0);
  }
  e.wipe();
  return out;
}

RnsPoly SymmetricEncryptor::encrypt_seeded_coefficients(std::span<const std::int64_t> m, std::size_t level,
                                                        Seed& seed) {
  const auto& ctx = params_.ctx();
  const std::size_t limbs = level + 1;
  RnsPoly a;
  auto e_small = draw(limbs, seed, a);
  // |m + e| < 2^63: |m| < 2^62 and |e| <= kErrorBound.
  std::vector<std::int64_t> me(ctx.n);
  for (std::size_t c = 0; c < ctx.n; ++c) me[c] = m[c] + e_small[c];
  secure_wipe(e_small.data(), e_small.size());
  RnsPoly out(ctx.n, limbs);
  std::vector<u64, AlignedAllocator<u64>> as(ctx.n);
  const u64 bound = math::max_abs(me.data(), me.size());
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& q = ctx.q[i];
    // c0 = (m + e) - a s
    u64* c0 = out.limb(i);
    math::from_signed_vec(c0, me.data(), ctx.n, q.value, bound);
    math::ntt_forward(c0, *ctx.ntt[i]);
    math::mul_mod_vec(as.data(), a.limb(i), sk_.poly.limb(i), ctx.n, q);
    math::sub_mod_vec(c0, as.data(), ctx.n, q.value);
  }
  secure_wipe(me.data(), me.size() * sizeof(std::int64_t));
  return out;
}

RnsPoly SymmetricEncryptor::expand(const Params& params, const Seed& seed, std::size_t level) {
  Prng expand(seed, detail::kLabelSeededCiphertextA);
  return detail::sample_uniform(expand, params.ctx(), level + 1, false);
}

Decryptor::Decryptor(Params params, const SecretKey& sk) : params_(std::move(params)), sk_(sk) {
  if (sk_.params_id != params_.id()) throw Error("decrypt: secret key from other parameters");
}

RnsPoly Decryptor::phase(std::span<const RnsPoly> c, std::size_t level) const {
  const auto& ctx = params_.ctx();
  const std::size_t limbs = level + 1;
  RnsPoly out(ctx.n, limbs);
  // s^2 and c2 s^2 are secret-dependent temporaries: sized once, wiped before they are freed.
  std::vector<u64, AlignedAllocator<u64>> t, s2;
  if (c.size() == 3) {
    t.resize(ctx.n);
    s2.resize(ctx.n);
  }
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& q = ctx.q[i];
    const u64* s = sk_.poly.limb(i);
    u64* o = out.limb(i);
    // m = c0 + c1 s (+ c2 s^2)
    math::mul_mod_vec(o, c[1].limb(i), s, ctx.n, q);
    math::add_mod_vec(o, c[0].limb(i), ctx.n, q.value);
    if (c.size() == 3) {
      math::mul_mod_vec(s2.data(), s, s, ctx.n, q);
      math::mul_mod_vec(t.data(), c[2].limb(i), s2.data(), ctx.n, q);
      math::add_mod_vec(o, t.data(), ctx.n, q.value);
    }
  }
  secure_wipe(s2.data(), s2.size() * sizeof(u64));
  secure_wipe(t.data(), t.size() * sizeof(u64));
  return out;
}

}  // namespace hemi::ring
