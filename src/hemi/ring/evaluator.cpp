#include "hemi/ring/evaluator.h"

#include <string>

#include "hemi/math/eltwise.h"
#include "hemi/ring/sampling.h"

namespace hemi::ring {

using math::u64;

namespace {
std::string op_str(const char* op) { return std::string(op) + ": "; }
}  // namespace

void Evaluator::parallel(std::size_t count, const std::function<void(std::size_t)>& f) const {
  if (pool_) return pool_->parallel_for(0, count, f);
  for (std::size_t i = 0; i < count; ++i) f(i);
}

// ---- element-wise ----

void Evaluator::add_inplace(Parts& a, const Parts& b, std::size_t level) const {
  const auto& ctx = params_.ctx();
  if (a.size() < b.size()) a.resize(b.size(), RnsPoly::zeros(ctx.n, level + 1));
  for (std::size_t k = 0; k < b.size(); ++k)
    for (std::size_t i = 0; i <= level; ++i) math::add_mod_vec(a[k].limb(i), b[k].limb(i), ctx.n, ctx.q[i].value);
}

void Evaluator::sub_inplace(Parts& a, const Parts& b, std::size_t level) const {
  const auto& ctx = params_.ctx();
  if (a.size() < b.size()) a.resize(b.size(), RnsPoly::zeros(ctx.n, level + 1));
  for (std::size_t k = 0; k < b.size(); ++k)
    for (std::size_t i = 0; i <= level; ++i) math::sub_mod_vec(a[k].limb(i), b[k].limb(i), ctx.n, ctx.q[i].value);
}

void Evaluator::negate_inplace(Parts& a, std::size_t level) const {
  const auto& ctx = params_.ctx();
  for (auto& p : a)
    for (std::size_t i = 0; i <= level; ++i) {
      u64* x = p.limb(i);
      for (std::size_t c = 0; c < ctx.n; ++c) x[c] = math::neg_mod(x[c], ctx.q[i].value);
    }
}

// ---- key switching ----

Evaluator::Decomposed Evaluator::decompose(const RnsPoly& d, std::size_t level) const {
  const auto& ctx = params_.ctx();
  const std::size_t L1 = level + 1, k = ctx.p.size(), n = ctx.n;
  RnsPoly coef = d;
  parallel(L1, [&](std::size_t i) { math::ntt_inverse(coef.limb(i), *ctx.ntt[i]); });
  Decomposed dec;
  dec.level = level;
  const std::size_t dnum = ctx.digits_at(level);
  dec.digits.resize(dnum);
  parallel(dnum, [&](std::size_t j) {
    const std::size_t begin = j * ctx.alpha, end = std::min(begin + ctx.alpha, L1);
    const math::BaseConverter& conv = *ctx.modup[level][j];
    RnsPoly ext(n, L1 + k);
    // The digit's own limbs are d's (already NTT form); the others are converted in place.
    std::vector<math::u64*> outs;
    for (std::size_t i = 0; i < L1 + k; ++i)
      if (i < begin || i >= end) outs.push_back(ext.limb(i));
    conv.convert(coef.limb(begin), outs.data(), n);
    for (std::size_t i = 0; i < L1 + k; ++i) {
      if (i >= begin && i < end)
        std::copy(d.limb(i), d.limb(i) + n, ext.limb(i));
      else
        math::ntt_forward(ext.limb(i), *ctx.ntt[detail::qp_index(ctx, i, L1)]);
    }
    dec.digits[j] = std::move(ext);
  });
  return dec;
}

void Evaluator::key_switch(const Decomposed& dec, const KeySwitchKey& key, const std::uint32_t* perm,
                           RnsPoly& out0, RnsPoly& out1) const {
  const auto& ctx = params_.ctx();
  const std::size_t L1 = dec.level + 1, k = ctx.p.size(), n = ctx.n;
  const std::size_t dnum = dec.digits.size();
  RnsPoly acc0 = RnsPoly::zeros(n, L1 + k), acc1 = RnsPoly::zeros(n, L1 + k);
  parallel(L1 + k, [&](std::size_t i) {
    std::vector<u64, AlignedAllocator<u64>> permuted(perm ? n : 0);
    const std::size_t ki = detail::qp_index(ctx, i, L1);
    const u64 q = ctx.qp[ki].value;
    for (std::size_t j = 0; j < dnum; ++j) {
      const u64* x = dec.digits[j].limb(i);
      if (perm) {  // the automorphism of the digit, applied once for both products
        math::permute(permuted.data(), x, perm, n);
        x = permuted.data();
      }
      math::mac_shoup_lazy(acc0.limb(i), x, key.b[j].limb(ki), key.b_shoup[j].limb(ki), n, q);
      math::mac_shoup_lazy(acc1.limb(i), x, key.a[j].limb(ki), key.a_shoup[j].limb(ki), n, q);
    }
    math::reduce_from_2q(acc0.limb(i), n, q);
    math::reduce_from_2q(acc1.limb(i), n, q);
  });
  // ModDown: (acc - Conv_{P->Q}(acc mod P)) * P^-1.
  auto mod_down = [&](RnsPoly& acc, RnsPoly& out) {
    for (std::size_t pj = 0; pj < k; ++pj) math::ntt_inverse(acc.limb(L1 + pj), *ctx.ntt[ctx.q.size() + pj]);
    RnsPoly conv(n, ctx.q.size());
    ctx.p_to_q->convert(acc.limb(L1), conv.data(), n, L1);
    out = RnsPoly(n, L1);
    parallel(L1, [&](std::size_t i) {
      const u64 q = ctx.q[i].value, w = ctx.p_inv_mod_q[i], ws = ctx.p_inv_mod_q_shoup[i];
      u64* cv = conv.limb(i);
      math::ntt_forward(cv, *ctx.ntt[i]);
      u64* o = out.limb(i);
      std::copy(acc.limb(i), acc.limb(i) + n, o);
      math::sub_mod_vec(o, cv, n, q);
      math::mul_scalar_vec(o, n, w, ws, q);
    });
  };
  mod_down(acc0, out0);
  mod_down(acc1, out1);
}

void Evaluator::relinearize_inplace(Parts& c, std::size_t level, const RelinKey& rk, const char* op) const {
  if (rk.key.params_id != params_.id() || rk.key.b.size() != params_.digit_count())
    throw Error(op_str(op) + "relinearization key from other parameters");
  Decomposed dec = decompose(c[2], level);
  RnsPoly r0, r1;
  key_switch(dec, rk.key, nullptr, r0, r1);
  c.pop_back();
  const auto& ctx = params_.ctx();
  for (std::size_t i = 0; i <= level; ++i) {
    math::add_mod_vec(c[0].limb(i), r0.limb(i), ctx.n, ctx.q[i].value);
    math::add_mod_vec(c[1].limb(i), r1.limb(i), ctx.n, ctx.q[i].value);
  }
}

void Evaluator::check_galois_keys(const GaloisKeys& gk, std::span<const std::uint32_t> elts, const char* op) const {
  if (gk.params_id != params_.id()) throw Error(op_str(op) + "Galois keys from other parameters");
  for (std::uint32_t g : elts)
    if (g != 1 && !gk.has(g)) throw Error(op_str(op) + "no Galois key for Galois element " + std::to_string(g));
}

Evaluator::Parts Evaluator::apply_galois(const Parts& c, std::size_t level, std::uint32_t g, const GaloisKeys& gk,
                                         const char* op) const {
  check_galois_keys(gk, std::span<const std::uint32_t>(&g, 1), op);
  const auto& ctx = params_.ctx();
  const auto& perm = ctx.galois_permutation(g);
  // One automorphism: permute c1's limbs before decomposing (the digits then need no permutation).
  RnsPoly c1(ctx.n, level + 1);
  for (std::size_t i = 0; i <= level; ++i) math::permute(c1.limb(i), c[1].limb(i), perm.data(), ctx.n);
  return rotated(c, decompose(c1, level), gk.keys.at(g), perm, false);
}

std::vector<Evaluator::Parts> Evaluator::apply_galois_hoisted(const Parts& c, std::size_t level,
                                                              std::span<const std::uint32_t> elts,
                                                              const GaloisKeys& gk, const char* op) const {
  check_galois_keys(gk, elts, op);
  const auto& ctx = params_.ctx();
  Decomposed dec = decompose(c[1], level);
  std::vector<Parts> out;
  out.reserve(elts.size());
  for (std::uint32_t g : elts) {
    if (g == 1) {
      out.push_back(c);
      continue;
    }
    out.push_back(rotated(c, dec, gk.keys.at(g), ctx.galois_permutation(g), true));
  }
  return out;
}

Evaluator::Parts Evaluator::rotated(const Parts& c, const Decomposed& dec, const KeySwitchKey& key,
                                    const std::vector<std::uint32_t>& perm, bool permute_digits) const {
  // (sigma(c0), 0) + KeySwitch(sigma(c1)); the digits of c1 are permuted here unless c1 was
  // permuted before its decomposition.
  const auto& ctx = params_.ctx();
  const std::size_t level = dec.level;
  Parts r(2);
  key_switch(dec, key, permute_digits ? perm.data() : nullptr, r[0], r[1]);
  for (std::size_t i = 0; i <= level; ++i) {
    const u64 q = ctx.q[i].value;
    const u64* c0 = c[0].limb(i);
    u64* o = r[0].limb(i);
    for (std::size_t k = 0; k < ctx.n; ++k) o[k] = math::add_mod(o[k], c0[perm[k]], q);
  }
  return r;
}

// ---- division by the last prime ----

void Evaluator::divide_round_by_last_inplace(Parts& c, std::size_t l) const {
  const auto& ctx = params_.ctx();
  const std::size_t n = ctx.n;
  const u64 ql = ctx.q[l].value, half = ql >> 1;
  std::vector<u64, AlignedAllocator<u64>> last(n), tmp(n);
  for (auto& poly : c) {
    std::copy(poly.limb(l), poly.limb(l) + n, last.begin());
    math::ntt_inverse(last.data(), *ctx.ntt[l]);
    for (std::size_t k = 0; k < n; ++k) last[k] = math::add_mod(last[k], half, ql);  // round, not floor
    for (std::size_t i = 0; i < l; ++i) {
      const math::Modulus& qi = ctx.q[i];
      const u64 h = ctx.half_last[l][i];
      math::reduce_sub_const(tmp.data(), last.data(), n, ql, qi, h);
      math::ntt_forward(tmp.data(), *ctx.ntt[i]);
      math::sub_mod_vec(poly.limb(i), tmp.data(), n, qi.value);
      math::mul_scalar_vec(poly.limb(i), n, ctx.inv_last[l][i], ctx.inv_last_shoup[l][i], qi.value);
    }
    poly.truncate(l);
  }
}

}  // namespace hemi::ring
