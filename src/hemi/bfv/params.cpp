#include "hemi/bfv/params.h"

#include <openssl/sha.h>

#include <cmath>
#include <cstdio>

#include "hemi/base/bytes.h"
#include "hemi/math/primes.h"
#include "hemi/ring/serialize.h"

namespace hemi::bfv {

ParamsLiteral default_literal() { return ParamsLiteral{}; }

namespace {

constexpr int kMaxTBits = 60;
// 50-bit auxiliary primes keep the tensor product's NTTs on the IFMA kernels (q < 2^50).
constexpr int kAuxPrimeBits = 50;
// |round(t d / Q)| < t N Q / 2 must fit the auxiliary base R with room: R > 2^(log Q + log N
// + log t + kAuxMargin).
constexpr int kAuxMargin = 4;

ring::ParamsId compute_id(const detail::Context& c) {
  Bytes b;
  ByteWriter w(b);
  w.put_string("hemi-bfv-params-v1");
  w.put_bytes(c.ring.id().data(), c.ring.id().size());
  w.put<std::uint64_t>(c.t.value);
  static_assert(SHA256_DIGEST_LENGTH == ring::kParamsIdBytes);
  ring::ParamsId id{};
  SHA256(b.data(), b.size(), id.data());
  return id;
}

Result<u64> choose_t(const ParamsLiteral& l, std::size_t n, const std::vector<math::Modulus>& ring_primes) {
  const u64 two_n = 2 * static_cast<u64>(n);
  u64 t = l.t;
  if (t == 0) {
    if (l.t_bits < 2 || l.t_bits > kMaxTBits)
      return Result<u64>::failure("plaintext modulus size " + std::to_string(l.t_bits) + " bits is outside [2, " +
                                  std::to_string(kMaxTBits) + "]");
    std::vector<u64> exclude;
    for (auto& m : ring_primes) exclude.push_back(m.value);
    try {
      t = math::generate_ntt_primes({l.t_bits}, n, exclude)[0];
    } catch (const Error& e) {
      return Result<u64>::failure("no batching plaintext modulus of " + std::to_string(l.t_bits) +
                                  " bits for N = " + std::to_string(n) + ": " + e.what());
    }
    return t;
  }
  if (t >= (u64{1} << kMaxTBits))
    return Result<u64>::failure("plaintext modulus t = " + std::to_string(t) + " is not below 2^60");
  if (!math::is_prime(t)) return Result<u64>::failure("plaintext modulus t = " + std::to_string(t) + " is not prime");
  if (t % two_n != 1)
    return Result<u64>::failure("plaintext modulus t = " + std::to_string(t) + " is not 1 mod 2N = " +
                                std::to_string(two_n) + " (batching needs it)");
  for (auto& m : ring_primes)
    if (m.value == t) return Result<u64>::failure("plaintext modulus t = " + std::to_string(t) + " is one of the ciphertext primes");
  return t;
}

}  // namespace

Result<Params> Params::create(const ParamsLiteral& l) {
  auto ring = ring::Params::create(ring::RingLiteral{l.log_n, l.q_bits, l.p_bits, l.security, l.allow_insecure});
  if (!ring) return Result<Params>::failure(ring.error());
  const ring::Params& r = ring.value();
  const std::size_t n = r.n();

  std::vector<math::Modulus> ring_primes = r.q();
  ring_primes.insert(ring_primes.end(), r.p().begin(), r.p().end());
  auto t = choose_t(l, n, ring_primes);
  if (!t) return Result<Params>::failure(t.error());
  const double log_t = std::log2(static_cast<double>(t.value()));
  if (log_t + 2 >= r.log2_q(0))
    return Result<Params>::failure("plaintext modulus t of " + std::to_string(static_cast<int>(std::ceil(log_t))) +
                                   " bits leaves no noise budget under q_0 of " +
                                   std::to_string(static_cast<int>(r.log2_q(0))) + " bits");

  auto c = std::make_shared<detail::Context>(r);
  c->literal = l;
  c->t = math::Modulus(t.value());
  c->t_ntt = std::make_unique<math::NttTables>(n, c->t);
  c->slot_to_ntt.resize(n);
  const std::size_t half = n / 2, two_n = 2 * n;
  std::size_t g = 1;  // 5^col mod 2N
  for (std::size_t col = 0; col < half; ++col) {
    c->slot_to_ntt[col] = static_cast<std::uint32_t>(math::bit_reverse((g - 1) / 2, r.log_n()));
    const std::size_t neg = two_n - g;  // row 1 holds the conjugate orbit -5^col
    c->slot_to_ntt[half + col] = static_cast<std::uint32_t>(math::bit_reverse((neg - 1) / 2, r.log_n()));
    g = (g * 5) % two_n;
  }

  // Auxiliary base R for the tensor product, sized for the top level.
  const double need = r.log2_q(r.max_level()) + std::log2(static_cast<double>(n)) + log_t + kAuxMargin;
  const int aux_count = static_cast<int>(std::ceil(need / (kAuxPrimeBits - 1)));
  std::vector<u64> exclude;
  for (auto& m : ring_primes) exclude.push_back(m.value);
  exclude.push_back(t.value());
  std::vector<u64> aux;
  try {
    aux = math::generate_ntt_primes(std::vector<int>(aux_count, kAuxPrimeBits), n, exclude);
  } catch (const Error& e) {
    return Result<Params>::failure(std::string("cannot generate the auxiliary primes: ") + e.what());
  }
  for (u64 p : aux) {
    c->aux.emplace_back(p);
    c->aux_ntt.push_back(std::make_unique<math::NttTables>(n, c->aux.back()));
  }
  c->aux_to_q = std::make_unique<ExactConverter>(c->aux, r.q());

  for (std::size_t level = 0; level <= r.max_level(); ++level) {
    std::vector<math::Modulus> ql(r.q().begin(), r.q().begin() + level + 1);
    detail::LevelTools tools;
    // floor(Q/t) = (Q - (Q mod t)) / t = -(Q mod t) t^-1 mod q_i.
    u64 q_mod_t = 1;
    for (auto& qi : ql) q_mod_t = math::mul_mod(q_mod_t, math::reduce_64(qi.value, c->t), c->t);
    tools.q_mod_t = q_mod_t;
    for (auto& qi : ql) {
      const u64 t_inv = math::inv_mod(math::reduce_64(c->t.value, qi), qi);
      tools.delta.push_back(math::neg_mod(math::mul_mod(math::reduce_64(q_mod_t, qi), t_inv, qi), qi.value));
    }
    tools.q_to_aux = std::make_unique<ExactConverter>(ql, c->aux);
    tools.tensor_scale = std::make_unique<ScaleRounder>(ql, c->aux, c->t);
    tools.decrypt_scale = std::make_unique<ScaleRounder>(ql, std::vector<math::Modulus>{}, c->t);
    c->levels.push_back(std::move(tools));
  }
  c->id = compute_id(*c);
  return Params(std::move(c));
}

const ParamsLiteral& Params::literal() const { return ctx_->literal; }
const ring::Params& Params::ring() const { return ctx_->ring; }
const math::Modulus& Params::t() const { return ctx_->t; }
const ring::ParamsId& Params::id() const { return ctx_->id; }
std::string Params::id_hex() const { return ring::to_hex(ctx_->id); }

namespace {
std::size_t packed_bytes(const Params& p, std::size_t level) {
  std::size_t b = 0;
  for (std::size_t i = 0; i <= level; ++i) b += (p.n() * p.q()[i].bits + 7) / 8;
  return b;
}
}  // namespace

// Exact serialized sizes (serialize.cpp): the 48-byte header, then the payload.
constexpr std::size_t kHeader = ring::kHeaderBytes;
std::size_t Params::ciphertext_bytes(std::size_t level) const { return kHeader + 4 + 4 + 2 * packed_bytes(*this, level); }
std::size_t Params::seeded_ciphertext_bytes(std::size_t level) const { return kHeader + 4 + 32 + packed_bytes(*this, level); }

}  // namespace hemi::bfv
