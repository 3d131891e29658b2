#include "hemi/bfv/lift.h"

#include "hemi/math/ntt.h"

namespace hemi::bfv::detail {

using math::u64;

void check_plaintext(const Params& params, const Plaintext& pt, const char* op) {
  if (pt.params_id != params.id()) throw Error(std::string(op) + ": plaintext from other parameters");
  if (pt.coeffs.size() != params.n())
    throw Error(std::string(op) + ": plaintext has " + std::to_string(pt.coeffs.size()) + " coefficients, not N = " +
                std::to_string(params.n()));
  const u64 t = params.t().value;
  for (std::size_t c = 0; c < pt.coeffs.size(); ++c)
    if (pt.coeffs[c] >= t)
      throw Error(std::string(op) + ": plaintext coefficient " + std::to_string(c) + " is " + std::to_string(pt.coeffs[c]) +
                  ", not below t = " + std::to_string(t));
}

void check_level(const Params& params, std::size_t level, const char* op) {
  if (level > params.max_level())
    throw Error(std::string(op) + ": level " + std::to_string(level) + " is above the top level " +
                std::to_string(params.max_level()));
}

RnsPoly scale_up(const Params& params, const Plaintext& pt, std::size_t level) {
  const auto& ctx = params.ctx();
  const auto& ring = ctx.ring.ctx();
  const std::size_t n = params.n();
  const auto& tools = ctx.levels[level];
  const u64 t = ctx.t.value;
  std::vector<u64> extra(n);  // round((Q mod t) m / t) < t
  for (std::size_t c = 0; c < n; ++c)
    extra[c] = static_cast<u64>((static_cast<math::u128>(tools.q_mod_t) * pt.coeffs[c] + t / 2) / t);
  RnsPoly out(n, level + 1);
  for (std::size_t i = 0; i <= level; ++i) {
    const math::Modulus& qi = ring.q[i];
    const u64 d = tools.delta[i], ds = math::shoup(d, qi.value);
    u64* o = out.limb(i);
    for (std::size_t c = 0; c < n; ++c)
      o[c] = math::add_mod(math::mul_shoup(pt.coeffs[c], d, ds, qi.value), math::reduce_64(extra[c], qi), qi.value);
    math::ntt_forward(o, *ring.ntt[i]);
  }
  return out;
}

RnsPoly lift_centered(const Params& params, const Plaintext& pt, std::size_t level) {
  const auto& ctx = params.ctx();
  const auto& ring = ctx.ring.ctx();
  const std::size_t n = params.n();
  const u64 t = ctx.t.value, half = t / 2;
  RnsPoly out(n, level + 1);
  for (std::size_t i = 0; i <= level; ++i) {
    const math::Modulus& qi = ring.q[i];
    const u64 t_mod = math::reduce_64(t, qi);
    u64* o = out.limb(i);
    for (std::size_t c = 0; c < n; ++c) {
      const u64 m = pt.coeffs[c];
      // m > t/2 stands for m - t.
      o[c] = m > half ? math::sub_mod(math::reduce_64(m, qi), t_mod, qi.value) : math::reduce_64(m, qi);
    }
    math::ntt_forward(o, *ring.ntt[i]);
  }
  return out;
}

}  // namespace hemi::bfv::detail
