// BFV parameters. A ParamsLiteral (plain numbers) becomes an immutable, validated Params only
// through Params::create, which returns the reason when it refuses. The ring part (degree N,
// the ciphertext chain Q, the special primes P of hybrid key switching, their NTT tables and
// the security check against the HomomorphicEncryption.org table) is a ring::Params: the two
// schemes share one ring layer and one security table. On top of it Params adds the plaintext
// modulus t (a batching prime, t = 1 mod 2N), the batching NTT over Z_t, floor(Q_l / t), and
// per level the Halevi-Polyakov-Shoup tools for the tensor product (an auxiliary base R of
// NTT primes, exact conversions Q_l -> R and R -> Q_l, the scale-and-round by t / Q_l) and for
// decryption (round(t x / Q_l) mod t). Params is a cheap handle; copies share the
// precomputations; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hemi/bfv/rns_exact.h"
#include "hemi/ring/params.h"

namespace hemi::bfv {

using math::u64;

struct ParamsLiteral {
  int log_n = 13;
  std::vector<int> q_bits{43, 43, 44, 44};  // ciphertext chain q_0 ... q_L
  std::vector<int> p_bits{44};              // special primes for hybrid key switching
  int t_bits = 20;        // t = the largest batching prime below 2^t_bits (unless t is set)
  std::uint64_t t = 0;    // an explicit plaintext modulus: prime, t = 1 mod 2N
  int security = 128;     // 128, 192 or 256; 0 needs allow_insecure
  bool allow_insecure = false;

  bool operator==(const ParamsLiteral&) const = default;
};

// The default set: N = 8192, Q*P of 218 bits (128-bit secure), a 20-bit batching t.
ParamsLiteral default_literal();

namespace detail {
struct Context;
}

class Params {
 public:
  static Result<Params> create(const ParamsLiteral& literal);

  const ParamsLiteral& literal() const;
  const ring::Params& ring() const;  // N, Q, P, NTT tables, key switching, security
  std::size_t n() const { return ring().n(); }
  std::size_t slots() const { return n(); }         // a 2 x N/2 matrix
  std::size_t row_size() const { return n() / 2; }
  std::size_t max_level() const { return ring().max_level(); }
  const math::Modulus& t() const;
  const std::vector<math::Modulus>& q() const { return ring().q(); }
  int security_bits() const { return ring().security_bits(); }
  double log2_q(std::size_t level) const { return ring().log2_q(level); }
  const ring::ParamsId& id() const;  // SHA-256 of "bfv", the ring's id and t: never a CKKS id
  std::string id_hex() const;        // 64 hex digits
  std::size_t ciphertext_bytes(std::size_t level) const;  // serialized, 2 parts
  std::size_t seeded_ciphertext_bytes(std::size_t level) const;

  const detail::Context& ctx() const { return *ctx_; }
  bool operator==(const Params& o) const { return id() == o.id(); }

 private:
  explicit Params(std::shared_ptr<const detail::Context> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<const detail::Context> ctx_;
};

namespace detail {

struct LevelTools {
  std::vector<u64> delta;  // floor(Q_l / t) mod q_i
  u64 q_mod_t = 0;         // Q_l mod t: round(Q_l m / t) = floor(Q_l / t) m + round((Q_l mod t) m / t)
  std::unique_ptr<ExactConverter> q_to_aux;  // Q_l -> R (centred)
  std::unique_ptr<ScaleRounder> tensor_scale;  // (Q_l, R) -> round(t d / Q_l) mod R
  std::unique_ptr<ScaleRounder> decrypt_scale;  // Q_l -> round(t x / Q_l) mod t
};

struct Context {
  ParamsLiteral literal;
  ring::Params ring;
  math::Modulus t;
  std::unique_ptr<math::NttTables> t_ntt;    // batching
  std::vector<std::uint32_t> slot_to_ntt;    // slot (row r, column c) -> NTT index
  std::vector<math::Modulus> aux;            // the HPS auxiliary base R
  std::vector<std::unique_ptr<math::NttTables>> aux_ntt;
  std::unique_ptr<ExactConverter> aux_to_q;  // R -> q_0..q_L (a prefix of the outputs for Q_l)
  std::vector<LevelTools> levels;            // per level l
  ring::ParamsId id{};

  explicit Context(ring::Params r) : ring(std::move(r)) {}
};

}  // namespace detail

}  // namespace hemi::bfv
