#include "hemi/bfv/evaluator.h"

#include "hemi/bfv/encoder.h"
#include "hemi/bfv/lift.h"
#include "hemi/math/eltwise.h"
#include "hemi/math/ntt.h"

namespace hemi::bfv {

using math::u64;

namespace {
std::string op_str(const char* op) { return std::string(op) + ": "; }
}  // namespace

Evaluator::Evaluator(Params params, ThreadPool* pool) : params_(params), ring_(params.ring(), pool) {}

void Evaluator::check(const Ciphertext& a, const char* op) const {
  if (a.params_id != params_.id()) throw Error(op_str(op) + "ciphertext from other parameters");
  detail::check_level(params_, a.level, op);
  if (a.size() < 2 || a.size() > 3) throw Error(op_str(op) + "ciphertext has " + std::to_string(a.size()) + " parts");
  for (const auto& p : a.polys)
    if (p.n() != params_.n() || p.limbs() != a.level + 1)
      throw Error(op_str(op) + "ciphertext shape does not match its level " + std::to_string(a.level));
}

void Evaluator::check_pair(const Ciphertext& a, const Ciphertext& b, const char* op) const {
  check(a, op);
  check(b, op);
  if (a.level != b.level)
    throw Error(op_str(op) + "level mismatch " + std::to_string(a.level) + " vs " + std::to_string(b.level));
}

void Evaluator::check_plain(const Ciphertext& a, const Plaintext& p, const char* op) const {
  check(a, op);
  detail::check_plaintext(params_, p, op);
}

// ---- additive ----

void Evaluator::add_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "add_plain");
  RnsPoly d = detail::scale_up(params_, p, a.level);
  for (std::size_t i = 0; i <= a.level; ++i) math::add_mod_vec(a.polys[0].limb(i), d.limb(i), params_.n(), params_.q()[i].value);
}

void Evaluator::sub_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "sub_plain");
  RnsPoly d = detail::scale_up(params_, p, a.level);
  for (std::size_t i = 0; i <= a.level; ++i) math::sub_mod_vec(a.polys[0].limb(i), d.limb(i), params_.n(), params_.q()[i].value);
}

void Evaluator::multiply_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "multiply_plain");
  RnsPoly m = detail::lift_centered(params_, p, a.level);
  const auto& q = params_.q();
  for (auto& poly : a.polys)
    for (std::size_t i = 0; i <= a.level; ++i) math::mul_mod_vec(poly.limb(i), poly.limb(i), m.limb(i), params_.n(), q[i]);
}

void Evaluator::add_const_inplace(Ciphertext& a, std::int64_t k) const {
  check(a, "add_const");
  const u64 m = to_plain(k, params_.t(), "add_const", 0);
  const auto& q = params_.q();
  const auto& tools = params_.ctx().levels[a.level];
  const u64 t = params_.t().value;
  // round(Q m / t) = floor(Q / t) m + round((Q mod t) m / t), as encryption adds it.
  const u64 extra = static_cast<u64>((static_cast<math::u128>(tools.q_mod_t) * m + t / 2) / t);
  for (std::size_t i = 0; i <= a.level; ++i) {
    // A constant polynomial is the same value at every NTT point.
    const u64 v = math::add_mod(math::mul_mod(math::reduce_64(m, q[i]), tools.delta[i], q[i]), math::reduce_64(extra, q[i]), q[i].value);
    u64* x = a.polys[0].limb(i);
    for (std::size_t c = 0; c < params_.n(); ++c) x[c] = math::add_mod(x[c], v, q[i].value);
  }
}

void Evaluator::multiply_const_inplace(Ciphertext& a, std::int64_t k) const {
  check(a, "multiply_const");
  to_plain(k, params_.t(), "multiply_const", 0);  // range check
  const auto& q = params_.q();
  for (auto& poly : a.polys)
    for (std::size_t i = 0; i <= a.level; ++i) {
      const u64 w = math::from_signed(k, q[i].value);
      math::mul_scalar_vec(poly.limb(i), params_.n(), w, math::shoup(w, q[i].value), q[i].value);
    }
}

Ciphertext Evaluator::dot_product(std::span<const Ciphertext* const> cts, std::span<const std::int64_t> weights) const {
  if (cts.empty()) throw Error("dot_product: no ciphertexts");
  if (cts.size() != weights.size())
    throw Error("dot_product: " + std::to_string(cts.size()) + " ciphertexts but " + std::to_string(weights.size()) +
                " weights");
  const Ciphertext& first = *cts[0];
  for (std::size_t k = 0; k < cts.size(); ++k) {
    check_pair(first, *cts[k], "dot_product");
    if (cts[k]->size() != 2) throw Error("dot_product: ciphertext " + std::to_string(k) + " has 3 parts; relinearize first");
    to_plain(weights[k], params_.t(), "dot_product weight", k);
  }
  const std::size_t n = params_.n(), limbs = first.level + 1;
  Ciphertext r;
  r.level = first.level;
  r.params_id = first.params_id;
  r.polys = ring::uninitialized_parts(2, n, limbs);
  // Blocked over the coefficients: the accumulators of one block stay in the L1 cache while
  // every term streams past, instead of making a round trip to L2 per term (measured: the
  // dot products were 30 % of seed-cnn's evaluation unblocked).
  constexpr std::size_t kBlock = 512;
  const std::size_t block = std::min(n, kBlock);
  parallel(limbs, [&](std::size_t i) {
    const math::Modulus& qi = params_.q()[i];
    std::vector<u64> w(cts.size());
    for (std::size_t k = 0; k < cts.size(); ++k) w[k] = math::from_signed(weights[k], qi.value);
    math::DotAccumulator acc(block, qi);
    for (std::size_t part = 0; part < 2; ++part)
      for (std::size_t off = 0; off < n; off += block) {
        for (std::size_t k = 0; k < cts.size(); ++k)
          if (w[k] != 0) acc.add(cts[k]->polys[part].limb(i) + off, w[k]);
        acc.finish(r.polys[part].limb(i) + off);
      }
  });
  return r;
}

std::vector<Ciphertext> Evaluator::linear(std::span<const Ciphertext> in, std::span<const std::vector<std::uint32_t>> index,
                                          std::span<const std::vector<std::int64_t>> weights) const {
  if (in.empty()) throw Error("linear: no input ciphertexts");
  if (index.size() != weights.size())
    throw Error("linear: " + std::to_string(index.size()) + " index rows but " + std::to_string(weights.size()) + " weight rows");
  for (std::size_t k = 0; k < in.size(); ++k) {
    check_pair(in[0], in[k], "linear");
    if (in[k].size() != 2) throw Error("linear: input " + std::to_string(k) + " has 3 parts; relinearize first");
  }
  for (std::size_t r = 0; r < index.size(); ++r) {
    if (index[r].size() != weights[r].size())
      throw Error("linear: row " + std::to_string(r) + " has " + std::to_string(index[r].size()) + " indices but " +
                  std::to_string(weights[r].size()) + " weights");
    for (std::size_t k = 0; k < index[r].size(); ++k) {
      if (index[r][k] >= in.size())
        throw Error("linear: row " + std::to_string(r) + " reads input " + std::to_string(index[r][k]) + " of " +
                    std::to_string(in.size()));
      to_plain(weights[r][k], params_.t(), "linear weight", k);
    }
  }
  const std::size_t n = params_.n(), level = in[0].level, limbs = level + 1;
  std::vector<Ciphertext> out(index.size());
  for (auto& c : out) {
    c.level = level;
    c.params_id = params_.id();
    c.polys = ring::uninitialized_parts(2, n, limbs);
  }
  // 256 coefficients: a block of a few hundred inputs (2 KiB each) stays in L2.
  const std::size_t block = std::min<std::size_t>(n, 256), blocks = n / block;
  parallel(limbs * blocks, [&](std::size_t task) {
    const std::size_t i = task / blocks, off = (task % blocks) * block;
    const math::Modulus& qi = params_.q()[i];
    math::DotAccumulator acc(block, qi);
    std::vector<u64> w;
    std::vector<const u64*> x;
    for (std::size_t r = 0; r < index.size(); ++r) {
      w.clear();
      for (std::size_t k = 0; k < weights[r].size(); ++k)
        if (weights[r][k] != 0) w.push_back(math::from_signed(weights[r][k], qi.value));
      for (std::size_t part = 0; part < 2; ++part) {
        x.clear();
        for (std::size_t k = 0; k < weights[r].size(); ++k)
          if (weights[r][k] != 0) x.push_back(in[index[r][k]].polys[part].limb(i) + off);
        acc.add_terms(x.data(), w.data(), x.size());  // the partial sums stay in registers
        acc.finish(out[r].polys[part].limb(i) + off);
      }
    }
  });
  return out;
}

// ---- multiplicative ----

RnsPoly Evaluator::extend(const RnsPoly& p, std::size_t level) const {
  const auto& ctx = params_.ctx();
  const auto& ring = ctx.ring.ctx();
  const std::size_t n = params_.n(), L1 = level + 1, K = ctx.aux.size();
  RnsPoly ext(n, L1 + K);
  RnsPoly coef(n, L1);
  std::copy(p.data(), p.data() + n * L1, ext.data());
  std::copy(p.data(), p.data() + n * L1, coef.data());
  parallel(L1, [&](std::size_t i) { math::ntt_inverse(coef.limb(i), *ring.ntt[i]); });
  std::vector<u64*> outs(K);
  for (std::size_t j = 0; j < K; ++j) outs[j] = ext.limb(L1 + j);
  ctx.levels[level].q_to_aux->convert(coef.data(), outs.data(), n, K);
  parallel(K, [&](std::size_t j) { math::ntt_forward(ext.limb(L1 + j), *ctx.aux_ntt[j]); });
  return ext;
}

Ciphertext Evaluator::tensor(const Ciphertext& a, const Ciphertext& b, bool same) const {
  const auto& ctx = params_.ctx();
  const auto& ring = ctx.ring.ctx();
  const std::size_t level = a.level, n = params_.n(), L1 = level + 1, K = ctx.aux.size();
  RnsPoly a0 = extend(a.polys[0], level), a1 = extend(a.polys[1], level);
  RnsPoly b0, b1;
  if (!same) {
    b0 = extend(b.polys[0], level);
    b1 = extend(b.polys[1], level);
  }
  const RnsPoly& B0 = same ? a0 : b0;
  const RnsPoly& B1 = same ? a1 : b1;
  std::vector<RnsPoly> d = ring::uninitialized_parts(3, n, L1 + K);
  auto modulus = [&](std::size_t i) -> const math::Modulus& { return i < L1 ? ring.q[i] : ctx.aux[i - L1]; };
  auto tables = [&](std::size_t i) -> const math::NttTables& { return i < L1 ? *ring.ntt[i] : *ctx.aux_ntt[i - L1]; };
  parallel(L1 + K, [&](std::size_t i) {
    const math::Modulus& m = modulus(i);
    math::mul_mod_vec(d[0].limb(i), a0.limb(i), B0.limb(i), n, m);
    math::mul_mod_vec(d[2].limb(i), a1.limb(i), B1.limb(i), n, m);
    math::mul_mod_vec(d[1].limb(i), a0.limb(i), B1.limb(i), n, m);
    if (same) {
      math::add_mod_vec(d[1].limb(i), d[1].limb(i), n, m.value);
    } else {
      U64Vec t(n);
      math::mul_mod_vec(t.data(), a1.limb(i), B0.limb(i), n, m);
      math::add_mod_vec(d[1].limb(i), t.data(), n, m.value);
    }
    for (auto& part : d) math::ntt_inverse(part.limb(i), tables(i));
  });
  // round(t d / Q_l) into R, then exactly back to Q_l.
  Ciphertext r;
  r.level = level;
  r.params_id = params_.id();
  r.polys = ring::uninitialized_parts(3, n, L1);
  parallel(3, [&](std::size_t k) {
    RnsPoly scaled(n, K);
    std::vector<u64*> outs(K);
    for (std::size_t j = 0; j < K; ++j) outs[j] = scaled.limb(j);
    ctx.levels[level].tensor_scale->scale(d[k].data(), outs.data(), n);
    std::vector<u64*> qouts(L1);
    for (std::size_t i = 0; i < L1; ++i) qouts[i] = r.polys[k].limb(i);
    ctx.aux_to_q->convert(scaled.data(), qouts.data(), n, L1);
    for (std::size_t i = 0; i < L1; ++i) math::ntt_forward(r.polys[k].limb(i), *ring.ntt[i]);
  });
  return r;
}

Ciphertext Evaluator::multiply(const Ciphertext& a, const Ciphertext& b) const {
  check_pair(a, b, "multiply");
  if (a.size() != 2 || b.size() != 2)
    throw Error("multiply: ciphertext of " + std::to_string(std::max(a.size(), b.size())) + " parts; relinearize first");
  return tensor(a, b, &a == &b);
}

Ciphertext Evaluator::square(const Ciphertext& a) const {
  check(a, "square");
  if (a.size() != 2) throw Error("square: ciphertext of 3 parts; relinearize first");
  return tensor(a, a, true);
}

void Evaluator::relinearize_inplace(Ciphertext& a, const RelinKey& rk) const {
  check(a, "relinearize");
  if (a.size() != 3) throw Error("relinearize: ciphertext has " + std::to_string(a.size()) + " parts, not 3");
  ring_.relinearize_inplace(a.polys, a.level, rk, "relinearize");
}

Ciphertext Evaluator::multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const {
  Ciphertext r = multiply(a, b);
  relinearize_inplace(r, rk);
  return r;
}

// ---- rotations ----

std::vector<Ciphertext> Evaluator::rotated(const Ciphertext& a, std::span<const std::uint32_t> elts,
                                           const GaloisKeys& gk, bool hoisted, const char* op) const {
  check(a, op);
  if (a.size() != 2) throw Error(op_str(op) + "ciphertext has 3 parts; relinearize first");
  ring_.check_galois_keys(gk, elts, op);
  std::vector<Ciphertext> out;
  auto wrap = [&](std::vector<RnsPoly> parts) {
    Ciphertext r;
    r.polys = std::move(parts);
    r.level = a.level;
    r.params_id = a.params_id;
    out.push_back(std::move(r));
  };
  if (!hoisted)
    wrap(elts[0] == 1 ? a.polys : ring_.apply_galois(a.polys, a.level, elts[0], gk, op));
  else
    for (auto& parts : ring_.apply_galois_hoisted(a.polys, a.level, elts, gk, op)) wrap(std::move(parts));
  return out;
}

namespace {
// The Galois element of a row rotation, refusing a missing key by its step.
std::uint32_t row_element(const Params& params, int steps, const GaloisKeys& gk, const char* op) {
  const std::uint32_t g = ring::galois_element_for_step(steps, params.n());
  if (g != 1 && !gk.has(g) && gk.params_id == params.ring().id())
    throw Error(op_str(op) + "no Galois key for step " + std::to_string(steps) + " (Galois element " +
                std::to_string(g) + ")");
  return g;
}
}  // namespace

Ciphertext Evaluator::rotate_rows(const Ciphertext& a, int steps, const GaloisKeys& gk) const {
  check(a, "rotate_rows");
  const std::uint32_t g = row_element(params_, steps, gk, "rotate_rows");
  return std::move(rotated(a, std::span<const std::uint32_t>(&g, 1), gk, false, "rotate_rows")[0]);
}

Ciphertext Evaluator::rotate_columns(const Ciphertext& a, const GaloisKeys& gk) const {
  const std::uint32_t g = ring::galois_element_conjugate(params_.n());
  return std::move(rotated(a, std::span<const std::uint32_t>(&g, 1), gk, false, "rotate_columns")[0]);
}

std::vector<Ciphertext> Evaluator::rotate_rows_hoisted(const Ciphertext& a, std::span<const int> steps,
                                                       const GaloisKeys& gk) const {
  std::vector<std::uint32_t> elts;
  check(a, "rotate_rows_hoisted");
  for (int s : steps) elts.push_back(row_element(params_, s, gk, "rotate_rows_hoisted"));
  if (elts.empty()) return {};
  return rotated(a, elts, gk, true, "rotate_rows_hoisted");
}

// ---- modulus switching ----

void Evaluator::mod_switch_to_next_inplace(Ciphertext& a) const {
  check(a, "mod_switch");
  if (a.level == 0) throw Error("mod_switch: ciphertext is at level 0; no prime left to drop");
  // round(c / q_l) on every part: the ring layer's division by the last prime.
  ring_.divide_round_by_last_inplace(a.polys, a.level);
  a.level -= 1;
}

void Evaluator::mod_switch_to_inplace(Ciphertext& a, std::size_t level) const {
  check(a, "mod_switch");
  if (level > a.level)
    throw Error("mod_switch: target level " + std::to_string(level) + " is above the ciphertext's " + std::to_string(a.level));
  while (a.level > level) mod_switch_to_next_inplace(a);
}

}  // namespace hemi::bfv
