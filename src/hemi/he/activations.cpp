#include "hemi/he/activations.h"

#include <bit>
#include <map>

namespace hemi::he {

using ckks::Ciphertext;

Ciphertext square(const ckks::Evaluator& eval, const Ciphertext& x, const ckks::RelinKey& rk, OpCounts* count) {
  Ciphertext y = eval.multiply_relin(x, x, rk);
  eval.rescale_inplace(y);
  if (count) {
    count->relinearizations += 1;
    count->rescales += 1;
  }
  return y;
}

OpCounts square_ops() {
  OpCounts o;
  o.relinearizations = 1;
  o.rescales = 1;
  return o;
}

OpCounts polynomial_ops(const std::vector<double>& c) {
  // The same loops as polynomial() below, counting instead of computing.
  OpCounts o;
  const int d = static_cast<int>(c.size()) - 1;
  if (d < 0) throw Error("polynomial: no coefficients");
  if (d == 0) {
    o.additions = 1;
    return o;
  }
  if (const int j = nn::pure_power_squarings(nn::Polynomial{c}); j >= 0) {
    for (int i = 0; i < j; ++i) o += square_ops();
    if (c[0] != 0) o.additions += 1;
    return o;
  }
  for (int p = 2; p <= d; p *= 2) o += square_ops();
  std::size_t terms = 0;
  for (int k = 1; k <= d; ++k) {
    if (c[k] == 0) continue;
    const std::uint64_t factors = static_cast<std::uint64_t>(std::popcount(static_cast<unsigned>(k)));
    o.relinearizations += factors - 1;
    o.rescales += factors - 1;
    ++terms;
  }
  o.dot_terms += terms;  // coefficient multiplies
  o.rescales += terms;
  o.additions += terms ? terms - 1 : 0;
  if (c[0] != 0) o.additions += 1;
  return o;
}

Ciphertext polynomial(const ckks::Evaluator& eval, const Ciphertext& x, const std::vector<double>& c,
                      const ckks::RelinKey& rk, OpCounts* count) {
  OpCounts local;
  const int d = static_cast<int>(c.size()) - 1;
  if (d < 0) throw Error("polynomial: no coefficients");
  const double target = x.scale;
  if (d == 0) {  // a constant: zero the ciphertext, then add c0 (no level used)
    Ciphertext y = x;
    eval.multiply_integer_inplace(y, 0);
    eval.add_const_inplace(y, c[0]);
    if (count) count->additions += 1;
    return y;
  }
  if (const int j = nn::pure_power_squarings(nn::Polynomial{c}); j >= 0) {
    // c0 + x^(2^j) (e.g. a folded quadratic, nn/activation_fold.h): the squarings alone, then
    // c0 added at the result's scale; no coefficient product, so j levels.
    Ciphertext y = x;
    for (int i = 0; i < j; ++i) y = square(eval, y, rk, &local);
    if (c[0] != 0) {
      eval.add_const_inplace(y, c[0]);
      local.additions += 1;
    }
    if (count) *count += local;
    return y;
  }
  // powers[k] = x^k for every k <= d that has a nonzero coefficient, built from x^(2^j).
  std::map<int, Ciphertext> pow2;
  pow2.emplace(1, x);
  for (int p = 2; p <= d; p *= 2) pow2.emplace(p, square(eval, pow2.at(p / 2), rk, &local));
  auto bring_to = [&](Ciphertext a, std::size_t level) {
    if (a.level > level) eval.drop_level_inplace(a, level);
    return a;
  };
  std::map<int, Ciphertext> powers;
  for (int k = 1; k <= d; ++k) {
    if (c[k] == 0) continue;
    // x^k = product of x^(2^j) over the set bits of k, lowest level operands matched.
    std::optional<Ciphertext> acc;
    for (int bit = 0; (1 << bit) <= k; ++bit) {
      if (!(k & (1 << bit))) continue;
      const Ciphertext& f = pow2.at(1 << bit);
      if (!acc) {
        acc = f;
        continue;
      }
      const std::size_t level = std::min(acc->level, f.level);
      Ciphertext a = bring_to(*acc, level), b = bring_to(f, level);
      acc = eval.multiply_relin(a, b, rk);
      eval.rescale_inplace(*acc);
      local.relinearizations += 1;
      local.rescales += 1;
    }
    powers.emplace(k, std::move(*acc));
  }
  std::size_t low = SIZE_MAX;
  for (auto& [k, p] : powers) low = std::min(low, p.level);
  if (low == 0) throw Error("polynomial: no level left for the coefficients");
  const double q_low = static_cast<double>(eval.params().q()[low].value);
  std::optional<Ciphertext> sum;
  for (auto& [k, p] : powers) {
    Ciphertext t = bring_to(p, low);
    // after the rescale by q_low the term's scale is t.scale * s / q_low = target
    eval.multiply_const_inplace(t, c[k], target * q_low / t.scale);
    eval.rescale_inplace(t);
    local.dot_terms += 1;
    local.rescales += 1;
    if (!sum) {
      sum = std::move(t);
    } else {
      eval.add_inplace(*sum, t);
      local.additions += 1;
    }
  }
  if (c[0] != 0) {
    eval.add_const_inplace(*sum, c[0]);
    local.additions += 1;
  }
  if (count) *count += local;
  return std::move(*sum);
}

}  // namespace hemi::he
