// CKKS parameters. A ParamsLiteral (plain numbers from a user or a file) becomes an immutable,
// validated Params only through Params::create, which returns the reason when it refuses:
// no half-valid Params ever exists. Params is a cheap handle to shared immutable
// precomputations (NTT tables, RNS constants); copies share them; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/ckks/params_id.h"
#include "hemi/math/ntt.h"
#include "hemi/math/rns.h"
#include "hemi/math/special_fft.h"

namespace hemi::ckks {

using math::u64;

struct ParamsLiteral {
  int log_n = 13;
  std::vector<int> q_bits;  // ciphertext chain q_0 ... q_L (q_0 holds the final result)
  std::vector<int> p_bits;  // special primes for hybrid key switching (at least one)
  int log_scale = 0;        // default encoding scale 2^log_scale
  int security = 128;       // 128, 192 or 256; 0 means "no claim" and needs allow_insecure
  bool allow_insecure = false;  // explicit opt-in for parameters below the requested level

  bool operator==(const ParamsLiteral&) const = default;
};

// Intent: multiplicative depth, scale bits and security level -> the smallest N and a chain.
// q_0 gets log_scale + `integer_bits` bits (at most 60), depth primes of log_scale bits,
// and special primes chosen for hybrid key switching (see docs/ckks.md). Refuses with the reason.
Result<ParamsLiteral> literal_for_depth(int depth, int log_scale, int security = 128,
                                       int integer_bits = 20);

namespace detail {
struct Context;
}

class Params {
 public:
  static Result<Params> create(const ParamsLiteral& literal);

  const ParamsLiteral& literal() const;
  std::size_t n() const;
  int log_n() const;
  std::size_t slots() const { return n() / 2; }
  std::size_t max_level() const;  // L: a fresh ciphertext has L + 1 primes
  std::size_t special_count() const;
  std::size_t digit_size() const;   // primes per key-switching digit (= special_count)
  std::size_t digit_count() const;  // dnum at the top level
  const std::vector<math::Modulus>& q() const;
  const std::vector<math::Modulus>& p() const;
  double default_scale() const;
  // Bits of Q*P counted as the sum of the primes' bit lengths (what the table is checked on).
  int total_bits() const;
  double log2_qp() const;            // exact log2(Q*P)
  double log2_q(std::size_t level) const;  // log2(q_0 ... q_level)
  int security_bits() const;  // the level met by the table: 256, 192, 128, or 0
  bool insecure() const;      // below 128 bits (only with allow_insecure)
  const ParamsId& id() const;  // SHA-256 over the canonical description
  std::string id_hex() const;  // 64 hex digits
  // Sizes in bytes of serialized objects at the top level (what a user ships).
  std::size_t ciphertext_bytes(std::size_t level) const;
  std::size_t seeded_ciphertext_bytes(std::size_t level) const;
  std::size_t relin_key_bytes() const;
  std::size_t galois_key_bytes() const;  // what one step adds to a Galois key set

  const detail::Context& ctx() const { return *ctx_; }
  bool operator==(const Params& o) const { return id() == o.id(); }

 private:
  explicit Params(std::shared_ptr<const detail::Context> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<const detail::Context> ctx_;
};

namespace detail {

// Precomputations shared by every object made under one Params.
struct Context {
  ParamsLiteral literal;
  std::size_t n = 0;
  int log_n = 0;
  std::vector<math::Modulus> q, p, qp;  // qp = q then p: the key limbs
  std::vector<std::unique_ptr<math::NttTables>> ntt;  // one per qp limb
  int total_bits = 0;
  double log2_qp = 0;
  int security_bits = 0;
  ParamsId id{};
  std::size_t alpha = 1;  // primes per digit

  // Rescale from level l: q_l^-1 mod q_i and floor(q_l/2) mod q_i, for i < l.
  std::vector<std::vector<u64>> inv_last, inv_last_shoup, half_last;

  // Key switching at level l: digit j covers q indices [j*alpha, min((j+1)*alpha, l+1)).
  // modup[l][j] converts a digit to the other primes of Q_l then to P (in that order).
  std::vector<std::vector<std::unique_ptr<math::BaseConverter>>> modup;
  std::unique_ptr<math::BaseConverter> p_to_q;  // P -> q_0..q_L (use a prefix of the outputs)
  std::vector<u64> p_inv_mod_q, p_inv_mod_q_shoup;  // P^-1 mod q_i
  std::vector<u64> p_mod_q;                         // P mod q_i (key generation)

  std::vector<std::unique_ptr<math::CrtReconstructor>> crt;  // per level, for decoding
  std::unique_ptr<math::SpecialFft> fft;

  std::size_t digits_at(std::size_t level) const { return (level + alpha) / alpha; }
  // NTT-domain permutation for the automorphism X -> X^g (cached, thread-safe).
  const std::vector<std::uint32_t>& galois_permutation(std::uint32_t galois_elt) const;

  mutable std::mutex galois_mutex;
  mutable std::map<std::uint32_t, std::vector<std::uint32_t>> galois_cache;
};

}  // namespace detail

// Galois element for a left rotation of the slots by `steps` (negative: right), and for
// complex conjugation.
std::uint32_t galois_element_for_step(int steps, std::size_t n);
std::uint32_t galois_element_conjugate(std::size_t n);

}  // namespace hemi::ckks
