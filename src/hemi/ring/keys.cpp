#include "hemi/ring/keys.h"

#include "hemi/ring/sampling.h"

namespace hemi::ring {

using math::u64;

KeyGenerator::KeyGenerator(Params params) : params_(std::move(params)) {}
KeyGenerator::KeyGenerator(Params params, const Seed& test_seed)
    : params_(std::move(params)), prng_(test_seed) {}

SecretKey KeyGenerator::secret_key() {
  const auto& ctx = params_.ctx();
  SecretKey sk;
  sk.coeffs = detail::sample_ternary(prng_, ctx.n);
  sk.poly = detail::small_to_ntt(sk.coeffs.data(), ctx, ctx.q.size(), true);
  sk.params_id = params_.id();
  sk.exclude_from_core_dumps();
  return sk;
}

namespace {
void check_secret(const Params& params, const SecretKey& sk, const char* op) {
  if (sk.params_id != params.id() || sk.poly.limbs() != params.ctx().qp.size())
    throw Error(std::string(op) + ": secret key from other parameters");
}
}  // namespace

PublicKey KeyGenerator::public_key(const SecretKey& sk) {
  check_secret(params_, sk, "public key");
  const auto& ctx = params_.ctx();
  const std::size_t L1 = ctx.q.size();
  RnsPoly a = detail::sample_uniform(prng_, ctx, L1, false);
  auto e_small = detail::sample_gaussian(prng_, ctx.n);
  RnsPoly e = detail::small_to_ntt(e_small.data(), ctx, L1, false);
  secure_wipe(e_small.data(), e_small.size());
  RnsPoly b(ctx.n, L1);
  for (std::size_t i = 0; i < L1; ++i) {
    const math::Modulus& m = ctx.q[i];
    for (std::size_t c = 0; c < ctx.n; ++c) {
      u64 as = math::mul_mod(a.limb(i)[c], sk.poly.limb(i)[c], m);
      b.limb(i)[c] = math::add_mod(math::neg_mod(as, m.value), e.limb(i)[c], m.value);
    }
  }
  e.wipe();
  PublicKey pk;
  pk.polys.push_back(std::move(b));
  pk.polys.push_back(std::move(a));
  pk.params_id = params_.id();
  return pk;
}

void expand_key_uniform(const Params& params, KeySwitchKey& key, std::string_view label) {
  const auto& ctx = params.ctx();
  Prng prng(key.seed, label);
  key.a.clear();
  for (std::size_t j = 0; j < key.b.size(); ++j)
    key.a.push_back(detail::sample_uniform(prng, ctx, ctx.q.size(), true));
}

void precompute_key(const Params& params, KeySwitchKey& key) {
  const auto& ctx = params.ctx();
  auto factors = [&](const RnsPoly& p) {
    RnsPoly s(p.n(), p.limbs());
    for (std::size_t i = 0; i < p.limbs(); ++i) {
      const u64 q = ctx.qp[i].value;
      for (std::size_t c = 0; c < p.n(); ++c) s.limb(i)[c] = math::shoup(p.limb(i)[c], q);
    }
    return s;
  };
  key.b_shoup.clear();
  key.a_shoup.clear();
  for (auto& b : key.b) key.b_shoup.push_back(factors(b));
  for (auto& a : key.a) key.a_shoup.push_back(factors(a));
}

KeySwitchKey KeyGenerator::switch_key(const SecretKey& sk, const RnsPoly& s_prime, std::string_view label) {
  check_secret(params_, sk, "key generation");
  const auto& ctx = params_.ctx();
  const std::size_t L1 = ctx.q.size(), limbs = ctx.qp.size();
  const std::size_t dnum = ctx.digits_at(L1 - 1);
  KeySwitchKey key;
  key.params_id = params_.id();
  prng_.fill(key.seed.data(), key.seed.size());
  key.b.resize(dnum);
  expand_key_uniform(params_, key, label);
  for (std::size_t j = 0; j < dnum; ++j) {
    auto e_small = detail::sample_gaussian(prng_, ctx.n);
    RnsPoly e = detail::small_to_ntt(e_small.data(), ctx, L1, true);
    secure_wipe(e_small.data(), e_small.size());
    RnsPoly b(ctx.n, limbs);
    const std::size_t begin = j * ctx.alpha, end = std::min(begin + ctx.alpha, L1);
    for (std::size_t i = 0; i < limbs; ++i) {
      const math::Modulus& m = ctx.qp[i];
      const u64* a = key.a[j].limb(i);
      const u64* s = sk.poly.limb(i);
      const u64* ei = e.limb(i);
      u64* bi = b.limb(i);
      const bool in_digit = i >= begin && i < end;
      const u64 pm = in_digit ? ctx.p_mod_q[i] : 0;
      for (std::size_t c = 0; c < ctx.n; ++c) {
        u64 v = math::add_mod(math::neg_mod(math::mul_mod(a[c], s[c], m), m.value), ei[c], m.value);
        if (in_digit) v = math::add_mod(v, math::mul_mod(pm, s_prime.limb(i)[c], m), m.value);
        bi[c] = v;
      }
    }
    e.wipe();
    key.b[j] = std::move(b);
  }
  precompute_key(params_, key);
  return key;
}

RelinKey KeyGenerator::relin_key(const SecretKey& sk) {
  check_secret(params_, sk, "relinearization key");
  const auto& ctx = params_.ctx();
  RnsPoly s2(ctx.n, ctx.qp.size());
  for (std::size_t i = 0; i < ctx.qp.size(); ++i)
    for (std::size_t c = 0; c < ctx.n; ++c)
      s2.limb(i)[c] = math::mul_mod(sk.poly.limb(i)[c], sk.poly.limb(i)[c], ctx.qp[i]);
  RelinKey rk{switch_key(sk, s2, detail::kLabelRelinKeyA)};
  s2.wipe();
  return rk;
}

KeySwitchKey KeyGenerator::galois_key(const SecretKey& sk, std::uint32_t g) {
  check_secret(params_, sk, "Galois key");
  const auto& ctx = params_.ctx();
  if (g % 2 == 0 || g >= 2 * ctx.n)
    throw Error("Galois key: element " + std::to_string(g) + " is not odd in [1, 2N)");
  const auto& perm = ctx.galois_permutation(g);
  RnsPoly sg(ctx.n, ctx.qp.size());
  for (std::size_t i = 0; i < ctx.qp.size(); ++i)
    for (std::size_t c = 0; c < ctx.n; ++c) sg.limb(i)[c] = sk.poly.limb(i)[perm[c]];
  KeySwitchKey k = switch_key(sk, sg, detail::kLabelGaloisKeyA);
  sg.wipe();
  return k;
}

GaloisKeys KeyGenerator::galois_keys(const SecretKey& sk, const std::vector<int>& steps, bool conjugate) {
  GaloisKeys gk;
  gk.params_id = params_.id();
  for (int s : steps) {
    std::uint32_t g = galois_element_for_step(s, params_.n());
    if (g == 1 || gk.has(g)) continue;  // step 0 (mod N/2) needs no key
    gk.keys.emplace(g, galois_key(sk, g));
  }
  if (conjugate) {
    std::uint32_t g = galois_element_conjugate(params_.n());
    gk.keys.emplace(g, galois_key(sk, g));
  }
  return gk;
}

}  // namespace hemi::ring
