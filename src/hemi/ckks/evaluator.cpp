#include "hemi/ckks/evaluator.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "hemi/ckks/encoder.h"
#include "hemi/math/eltwise.h"

namespace hemi::ckks {

using math::u128;
using math::u64;

std::string scale_str(double scale) {
  char buf[40];
  double l = std::log2(scale);
  if (std::fabs(l - std::round(l)) < 1e-9)
    std::snprintf(buf, sizeof(buf), "2^%d", static_cast<int>(std::round(l)));
  else
    std::snprintf(buf, sizeof(buf), "2^%.2f", l);
  return buf;
}

namespace {
constexpr double kScaleTolerance = 1e-9;  // relative; scales that differ less are the same
bool same_scale(double a, double b) { return std::fabs(a - b) <= kScaleTolerance * std::max(a, b); }

std::string op_str(const char* op) { return std::string(op) + ": "; }
}  // namespace

void Evaluator::check(const Ciphertext& a, const char* op) const {
  if (a.params_id != params_.id())
    throw Error(op_str(op) + "ciphertext from other parameters");
  check_level(params_, a.level, op);
  if (a.size() < 2 || a.size() > 3)
    throw Error(op_str(op) + "ciphertext has " + std::to_string(a.size()) + " parts");
  for (const auto& p : a.polys)
    if (p.n() != params_.n() || p.limbs() != a.level + 1)
      throw Error(op_str(op) + "ciphertext shape does not match its level " + std::to_string(a.level));
  if (!(a.scale >= 1) || !std::isfinite(a.scale))
    throw Error(op_str(op) + "ciphertext scale " + std::to_string(a.scale) + " is invalid");
}

void Evaluator::check_pair(const Ciphertext& a, const Ciphertext& b, const char* op) const {
  check(a, op);
  check(b, op);
  if (a.level != b.level)
    throw Error(op_str(op) + "level mismatch " + std::to_string(a.level) + " vs " + std::to_string(b.level));
  if (!same_scale(a.scale, b.scale))
    throw Error(op_str(op) + "scale mismatch " + scale_str(a.scale) + " vs " + scale_str(b.scale));
}

void Evaluator::check_plain(const Ciphertext& a, const Plaintext& p, const char* op, bool need_same_scale) const {
  check(a, op);
  if (p.params_id != params_.id()) throw Error(op_str(op) + "plaintext from other parameters");
  if (p.level != a.level)
    throw Error(op_str(op) + "level mismatch " + std::to_string(a.level) + " vs plaintext " + std::to_string(p.level));
  if (p.poly.limbs() != p.level + 1 || p.poly.n() != params_.n())
    throw Error(op_str(op) + "plaintext shape does not match its level");
  if (need_same_scale && !same_scale(a.scale, p.scale))
    throw Error(op_str(op) + "scale mismatch " + scale_str(a.scale) + " vs " + scale_str(p.scale));
}

void Evaluator::check_product_scale(double scale, std::size_t level, const char* op) const {
  const double log_q = params_.log2_q(level);
  if (!std::isfinite(scale) || std::log2(scale) >= log_q - 1)
    throw Error(op_str(op) + "result scale " + scale_str(scale) + " exceeds the modulus 2^" +
                std::to_string(static_cast<int>(log_q)) + " at level " + std::to_string(level) +
                " (rescale first)");
}

// ---- additive ----

void Evaluator::add_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "add_plain", true);
  const auto& ctx = params_.ctx();
  for (std::size_t i = 0; i <= a.level; ++i) math::add_mod_vec(a.polys[0].limb(i), p.poly.limb(i), ctx.n, ctx.q[i].value);
}

void Evaluator::sub_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "sub_plain", true);
  const auto& ctx = params_.ctx();
  for (std::size_t i = 0; i <= a.level; ++i) math::sub_mod_vec(a.polys[0].limb(i), p.poly.limb(i), ctx.n, ctx.q[i].value);
}

void Evaluator::multiply_plain_inplace(Ciphertext& a, const Plaintext& p) const {
  check_plain(a, p, "multiply_plain", false);
  check_product_scale(a.scale * p.scale, a.level, "multiply_plain");
  const auto& ctx = params_.ctx();
  for (auto& poly : a.polys)
    for (std::size_t i = 0; i <= a.level; ++i) math::mul_mod_vec(poly.limb(i), poly.limb(i), p.poly.limb(i), ctx.n, ctx.q[i]);
  a.scale *= p.scale;
}

namespace {
std::int64_t scaled_integer(double c, double scale, const char* op) {
  const double v = c * scale;
  if (!std::isfinite(v) || std::fabs(v) >= std::ldexp(1.0, 62))
    throw Error(std::string(op) + ": constant " + std::to_string(c) + " times scale " + scale_str(scale) +
                " overflows 2^62");
  return std::llround(v);
}
}  // namespace

void Evaluator::add_const_inplace(Ciphertext& a, double c) const {
  check(a, "add_const");
  const std::int64_t k = scaled_integer(c, a.scale, "add_const");
  const auto& ctx = params_.ctx();
  for (std::size_t i = 0; i <= a.level; ++i) {
    const u64 q = ctx.q[i].value, r = math::from_signed(k, q);
    u64* x = a.polys[0].limb(i);
    for (std::size_t j = 0; j < ctx.n; ++j) x[j] = math::add_mod(x[j], r, q);
  }
}

void Evaluator::multiply_integer_inplace(Ciphertext& a, std::int64_t k) const {
  check(a, "multiply_integer");
  const auto& ctx = params_.ctx();
  for (auto& poly : a.polys)
    for (std::size_t i = 0; i <= a.level; ++i) {
      const u64 q = ctx.q[i].value, w = math::from_signed(k, q);
      math::mul_scalar_vec(poly.limb(i), ctx.n, w, math::shoup(w, q), q);
    }
}

void Evaluator::multiply_const_inplace(Ciphertext& a, double c, double const_scale) const {
  check(a, "multiply_const");
  if (const_scale <= 0) const_scale = static_cast<double>(params_.q()[a.level].value);
  check_product_scale(a.scale * const_scale, a.level, "multiply_const");
  multiply_integer_inplace(a, scaled_integer(c, const_scale, "multiply_const"));
  a.scale *= const_scale;
}

// ---- multiplicative ----

Ciphertext Evaluator::multiply(const Ciphertext& a, const Ciphertext& b) const {
  check(a, "multiply");
  check(b, "multiply");
  if (a.size() != 2 || b.size() != 2)
    throw Error("multiply: ciphertext of " + std::to_string(std::max(a.size(), b.size())) +
                " parts; relinearize first");
  if (a.level != b.level)
    throw Error("multiply: level mismatch " + std::to_string(a.level) + " vs " + std::to_string(b.level));
  check_product_scale(a.scale * b.scale, a.level, "multiply");
  const auto& ctx = params_.ctx();
  const std::size_t limbs = a.level + 1;
  Ciphertext r;
  r.level = a.level;
  r.scale = a.scale * b.scale;
  r.params_id = a.params_id;
  r.polys = ring::uninitialized_parts(3, ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.q[i];
    const u64 *a0 = a.polys[0].limb(i), *a1 = a.polys[1].limb(i);
    const u64 *b0 = b.polys[0].limb(i), *b1 = b.polys[1].limb(i);
    u64 *d0 = r.polys[0].limb(i), *d1 = r.polys[1].limb(i), *d2 = r.polys[2].limb(i);
    math::mul_mod_vec(d0, a0, b0, ctx.n, m);
    math::mul_mod_vec(d2, a1, b1, ctx.n, m);
    math::mul_mod_vec(d1, a0, b1, ctx.n, m);
    std::vector<u64, AlignedAllocator<u64>> t(ctx.n);
    math::mul_mod_vec(t.data(), a1, b0, ctx.n, m);
    math::add_mod_vec(d1, t.data(), ctx.n, m.value);
  }
  return r;
}

Ciphertext Evaluator::square(const Ciphertext& a) const { return multiply(a, a); }

Ciphertext Evaluator::multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const {
  Ciphertext r = multiply(a, b);
  relinearize_inplace(r, rk);
  return r;
}

// ---- key switching ----

void Evaluator::relinearize_inplace(Ciphertext& a, const RelinKey& rk) const {
  check(a, "relinearize");
  if (a.size() != 3) throw Error("relinearize: ciphertext has " + std::to_string(a.size()) + " parts, not 3");
  ring_.relinearize_inplace(a.polys, a.level, rk, "relinearize");
}

Ciphertext Evaluator::apply_galois(const Ciphertext& a, std::uint32_t g, const GaloisKeys& gk, const char* op) const {
  check(a, op);
  if (a.size() != 2) throw Error(op_str(op) + "ciphertext has 3 parts; relinearize first");
  Ciphertext r;
  r.polys = ring_.apply_galois(a.polys, a.level, g, gk, op);
  r.level = a.level;
  r.scale = a.scale;
  r.params_id = a.params_id;
  return r;
}

Ciphertext Evaluator::rotate(const Ciphertext& a, int steps, const GaloisKeys& gk) const {
  const std::uint32_t g = galois_element_for_step(steps, params_.n());
  if (g == 1) {
    check(a, "rotate");
    return a;
  }
  if (!gk.has(g) && gk.params_id == params_.id())
    throw Error("rotate: no Galois key for step " + std::to_string(steps) + " (Galois element " + std::to_string(g) + ")");
  return apply_galois(a, g, gk, "rotate");
}

Ciphertext Evaluator::conjugate(const Ciphertext& a, const GaloisKeys& gk) const {
  return apply_galois(a, galois_element_conjugate(params_.n()), gk, "conjugate");
}

std::vector<Ciphertext> Evaluator::rotate_hoisted(const Ciphertext& a, std::span<const int> steps,
                                                  const GaloisKeys& gk) const {
  check(a, "rotate_hoisted");
  if (a.size() != 2) throw Error("rotate_hoisted: ciphertext has 3 parts; relinearize first");
  if (gk.params_id != params_.id()) throw Error("rotate_hoisted: Galois keys from other parameters");
  std::vector<std::uint32_t> elts;
  for (int s : steps) {
    const std::uint32_t g = galois_element_for_step(s, params_.n());
    if (g != 1 && !gk.has(g))
      throw Error("rotate_hoisted: no Galois key for step " + std::to_string(s) + " (Galois element " +
                  std::to_string(g) + ")");
    elts.push_back(g);
  }
  std::vector<Ciphertext> out;
  out.reserve(steps.size());
  for (auto& parts : ring_.apply_galois_hoisted(a.polys, a.level, elts, gk, "rotate_hoisted")) {
    Ciphertext r;
    r.polys = std::move(parts);
    r.level = a.level;
    r.scale = a.scale;
    r.params_id = a.params_id;
    out.push_back(std::move(r));
  }
  return out;
}

// ---- levels ----

void Evaluator::rescale_inplace(Ciphertext& a) const {
  check(a, "rescale");
  if (a.level == 0) throw Error("rescale: ciphertext is at level 0; no prime left to divide by");
  const double ql = static_cast<double>(params_.q()[a.level].value);
  ring_.divide_round_by_last_inplace(a.polys, a.level);
  a.level -= 1;
  a.scale /= ql;
}

void Evaluator::drop_level_inplace(Ciphertext& a, std::size_t level) const {
  check(a, "drop_level");
  if (level > a.level)
    throw Error("drop_level: target level " + std::to_string(level) + " is above the ciphertext's " +
                std::to_string(a.level));
  for (auto& p : a.polys) p.truncate(level + 1);
  a.level = level;
}

// ---- fused dot product ----

Ciphertext Evaluator::dot_product(std::span<const Ciphertext* const> cts, std::span<const double> weights,
                                  double weight_scale) const {
  if (cts.size() != weights.size())
    throw Error("dot_product: " + std::to_string(cts.size()) + " ciphertexts but " +
                std::to_string(weights.size()) + " weights");
  SparseRow row;
  for (std::size_t t = 0; t < cts.size(); ++t) row.index.push_back(static_cast<std::uint32_t>(t));
  row.weight.assign(weights.begin(), weights.end());
  return std::move(dot_products_impl(cts, std::span<const SparseRow>(&row, 1), weight_scale, "dot_product")[0]);
}

Ciphertext Evaluator::multiply_plain_sum(std::span<const Ciphertext* const> cts,
                                         std::span<const Plaintext* const> pts) const {
  if (cts.empty()) throw Error("multiply_plain_sum: no ciphertexts");
  if (cts.size() != pts.size())
    throw Error("multiply_plain_sum: " + std::to_string(cts.size()) + " ciphertexts but " +
                std::to_string(pts.size()) + " plaintexts");
  const Ciphertext& first = *cts[0];
  for (std::size_t t = 0; t < cts.size(); ++t) {
    if (cts[t]->size() != 2) throw Error("multiply_plain_sum: ciphertext has 3 parts; relinearize first");
    check_pair(first, *cts[t], "multiply_plain_sum");
    check_plain(*cts[t], *pts[t], "multiply_plain_sum", false);
    if (!same_scale(pts[t]->scale, pts[0]->scale))
      throw Error("multiply_plain_sum: plaintext scale mismatch " + scale_str(pts[0]->scale) + " vs " +
                  scale_str(pts[t]->scale));
  }
  check_product_scale(first.scale * pts[0]->scale, first.level, "multiply_plain_sum");
  const auto& ctx = params_.ctx();
  const std::size_t limbs = first.level + 1, n = ctx.n;
  Ciphertext r;
  r.level = first.level;
  r.scale = first.scale * pts[0]->scale;
  r.params_id = first.params_id;
  r.polys = ring::uninitialized_parts(2, n, limbs);
  parallel(limbs, [&](std::size_t i) {
    math::DotAccumulator acc(n, ctx.q[i]);
    for (std::size_t part = 0; part < 2; ++part) {
      for (std::size_t t = 0; t < cts.size(); ++t) acc.add_product(cts[t]->polys[part].limb(i), pts[t]->poly.limb(i));
      acc.finish(r.polys[part].limb(i));
    }
  });
  return r;
}

std::vector<Ciphertext> Evaluator::dot_products(std::span<const Ciphertext* const> inputs,
                                                std::span<const SparseRow> rows, double weight_scale) const {
  return dot_products_impl(inputs, rows, weight_scale, "dot_products");
}

std::vector<Ciphertext> Evaluator::dot_products_impl(std::span<const Ciphertext* const> inputs,
                                                     std::span<const SparseRow> rows, double weight_scale,
                                                     const char* op) const {
  if (inputs.empty()) throw Error(op_str(op) + "no ciphertexts");
  const Ciphertext& first = *inputs[0];
  check(first, op);
  for (const Ciphertext* c : inputs) {
    if (c->size() != 2) throw Error(op_str(op) + "ciphertext has 3 parts; relinearize first");
    check_pair(first, *c, op);
  }
  const auto& ctx = params_.ctx();
  const std::size_t limbs = first.level + 1, n = ctx.n;
  if (weight_scale <= 0) weight_scale = static_cast<double>(ctx.q[first.level].value);
  check_product_scale(first.scale * weight_scale, first.level, op);
  std::vector<std::vector<std::int64_t>> w(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].index.size() != rows[r].weight.size())
      throw Error(op_str(op) + "row " + std::to_string(r) + " has " + std::to_string(rows[r].index.size()) +
                  " indices but " + std::to_string(rows[r].weight.size()) + " weights");
    if (rows[r].index.empty()) throw Error(op_str(op) + "row " + std::to_string(r) + " is empty");
    for (std::size_t t = 0; t < rows[r].index.size(); ++t) {
      if (rows[r].index[t] >= inputs.size())
        throw Error(op_str(op) + "row " + std::to_string(r) + " names input " + std::to_string(rows[r].index[t]) +
                    " of " + std::to_string(inputs.size()));
      w[r].push_back(scaled_integer(rows[r].weight[t], weight_scale, op));
    }
  }
  std::vector<Ciphertext> out(rows.size());
  for (auto& o : out) {
    o.level = first.level;
    o.scale = first.scale * weight_scale;
    o.params_id = first.params_id;
    o.polys = ring::uninitialized_parts(2, n, limbs);
  }
  constexpr std::size_t kBlock = 512;  // coefficients per block: inputs of a block stay in cache
  const std::size_t block = std::min(kBlock, n), blocks = n / block;
  parallel(limbs * blocks, [&](std::size_t task) {
    const std::size_t i = task / blocks, c0 = (task % blocks) * block;
    const math::Modulus& m = ctx.q[i];
    math::DotAccumulator acc(block, m);
    std::vector<const u64*> xs;
    std::vector<u64> ws;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto& idx = rows[r].index;
      ws.resize(idx.size());
      xs.resize(idx.size());
      for (std::size_t t = 0; t < idx.size(); ++t) ws[t] = math::from_signed(w[r][t], m.value);
      for (std::size_t part = 0; part < 2; ++part) {
        for (std::size_t t = 0; t < idx.size(); ++t) xs[t] = inputs[idx[t]]->polys[part].limb(i) + c0;
        acc.add_terms(xs.data(), ws.data(), idx.size());
        acc.finish(out[r].polys[part].limb(i) + c0);
      }
    }
  });
  return out;
}

}  // namespace hemi::ckks
