#include "hemi/ckks/params.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "hemi/ckks/serialize.h"
#include "hemi/ring/security.h"

namespace hemi::ckks {

namespace {

using ring::kMaxPrimeBits;

// The reason a literal is refused, or empty: the ring's checks, then the scale's.
std::string check_literal(const ParamsLiteral& l) {
  if (auto reason = ring::detail::check_literal(l.ring()); !reason.empty()) return reason;
  if (l.log_scale < 1 || l.log_scale > kMaxPrimeBits)
    return "scale 2^" + std::to_string(l.log_scale) + " is outside 2^1 ... 2^60";
  const int q_total = std::accumulate(l.q_bits.begin(), l.q_bits.end(), 0);
  if (l.log_scale >= q_total)
    return "scale 2^" + std::to_string(l.log_scale) + " does not fit the modulus Q of " +
           std::to_string(q_total) + " bits";
  return {};
}

}  // namespace

Result<ParamsLiteral> literal_for_depth(int depth, int log_scale, int security, int integer_bits) {
  if (depth < 0 || depth > 40) return Result<ParamsLiteral>::failure("depth " + std::to_string(depth) + " is outside [0, 40]");
  if (log_scale < 10 || log_scale > 58)
    return Result<ParamsLiteral>::failure("scale bits " + std::to_string(log_scale) + " outside [10, 58]");
  if (!ring::max_log_qp(13, security))
    return Result<ParamsLiteral>::failure("security level " + std::to_string(security) + " is not one of 128, 192, 256");
  const int q0 = std::min(kMaxPrimeBits, log_scale + integer_bits);
  for (int log_n = 12; log_n <= 16; ++log_n) {
    const int bound = *ring::max_log_qp(log_n, security);
    ParamsLiteral l;
    l.log_n = log_n;
    l.log_scale = log_scale;
    l.security = security;
    l.q_bits.assign(1, q0);
    l.q_bits.insert(l.q_bits.end(), depth, log_scale);
    if (log_scale < log_n + 2 || q0 < log_n + 2) continue;
    const int q_total = std::accumulate(l.q_bits.begin(), l.q_bits.end(), 0);
    // Fewer, larger digits mean fewer NTTs per key switch but more special-prime bits; take the
    // largest digit (up to half the chain) that still fits the security bound.
    const std::size_t limbs = l.q_bits.size();
    const std::size_t max_alpha = std::max<std::size_t>(1, (limbs + 1) / 2);
    for (std::size_t alpha = max_alpha; alpha >= 1; --alpha) {
      int digit_bits = 0;
      for (std::size_t j = 0; j < limbs; j += alpha) {
        int d = 0;
        for (std::size_t i = j; i < std::min(j + alpha, limbs); ++i) d += l.q_bits[i];
        digit_bits = std::max(digit_bits, d);
      }
      // alpha special primes of equal size whose product covers the largest digit.
      const int each = std::max<int>(log_n + 2, static_cast<int>((digit_bits + alpha - 1) / alpha) + 1);
      if (each > kMaxPrimeBits) continue;
      if (q_total + static_cast<int>(alpha) * each > bound) continue;
      l.p_bits.assign(alpha, each);
      return l;
    }
  }
  return Result<ParamsLiteral>::failure(
      "no ring degree up to 2^16 holds depth " + std::to_string(depth) + " at scale 2^" +
      std::to_string(log_scale) + " with " + std::to_string(security) + "-bit security");
}

Result<Params> Params::create(const ParamsLiteral& literal_in) {
  ParamsLiteral literal = literal_in;
  if (literal.log_scale == 0 && !literal.q_bits.empty())
    literal.log_scale = literal.q_bits.size() > 1 ? literal.q_bits[1] : std::max(1, literal.q_bits[0] - 20);
  if (auto reason = check_literal(literal); !reason.empty()) return Result<Params>::failure(reason);
  auto c = std::make_shared<detail::Context>();
  if (auto reason = ring::detail::build_context(*c, literal.ring()); !reason.empty())
    return Result<Params>::failure(reason);
  c->ckks_literal = literal;
  c->fft = std::make_unique<math::SpecialFft>(c->n / 2);
  c->id = ring::detail::legacy_params_id(*c, literal.log_scale);
  return Params(std::move(c));
}

const ParamsLiteral& Params::literal() const { return ctx().ckks_literal; }
double Params::default_scale() const { return std::ldexp(1.0, ctx().ckks_literal.log_scale); }

namespace {
std::size_t packed_limb_bytes(std::size_t n, const math::Modulus& m) { return ring::detail::packed_limb_bytes(n, m.bits); }
}  // namespace

// Exact serialized sizes (see serialize.cpp): the header, then the payload.
std::size_t Params::ciphertext_bytes(std::size_t level) const {
  std::size_t b = 0;
  for (std::size_t i = 0; i <= level; ++i) b += packed_limb_bytes(n(), ctx_->q[i]);
  return kHeaderBytes + 4 + 4 + 8 + 2 * b;  // level, parts, scale, (c0, c1)
}
std::size_t Params::seeded_ciphertext_bytes(std::size_t level) const {
  std::size_t b = 0;
  for (std::size_t i = 0; i <= level; ++i) b += packed_limb_bytes(n(), ctx_->q[i]);
  return kHeaderBytes + 4 + 8 + 32 + b;  // level, scale, seed, c0
}
}  // namespace hemi::ckks
