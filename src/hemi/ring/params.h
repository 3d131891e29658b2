// The ring shared by CKKS and BFV: degree N, the ciphertext chain Q = q_0 ... q_L, the special
// primes P of hybrid key switching, and everything precomputed from them (NTT tables, the
// ModUp / ModDown base converters, the constants of division by the last prime, exact CRT per
// level, Galois permutations). A RingLiteral (plain numbers) becomes an immutable, validated
// Params only through Params::create, which returns the reason when it refuses; the
// HomomorphicEncryption.org bound (security.h) is checked on the requested sizes and again on
// the generated primes, special primes included.
// A scheme's parameters extend this: ckks::Params derives from ring::Params (adding the scale
// and the special FFT), bfv::Params holds one (adding t and the HPS tools). Params is a cheap
// handle to shared immutable precomputations; copies share them; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/math/ntt.h"
#include "hemi/math/rns.h"
#include "hemi/ring/params_id.h"

namespace hemi::ring {

using math::u64;

struct RingLiteral {
  int log_n = 13;
  std::vector<int> q_bits;  // ciphertext chain q_0 ... q_L (q_0 holds the final result)
  std::vector<int> p_bits;  // special primes for hybrid key switching (at least one)
  int security = 128;       // 128, 192 or 256; 0 means "no claim" and needs allow_insecure
  bool allow_insecure = false;  // explicit opt-in for parameters below the requested level

  bool operator==(const RingLiteral&) const = default;
};

inline constexpr int kMaxPrimeBits = 60;
inline constexpr std::size_t kMaxPrimes = 64;

namespace detail {
struct Context;
}

class Params {
 public:
  // The ring alone (what BFV builds on); its id is detail::legacy_params_id(c, kRingIdLogScale).
  static Result<Params> create(const RingLiteral& literal);

  const RingLiteral& ring_literal() const;
  std::size_t n() const;
  int log_n() const;
  std::size_t max_level() const;  // L: a fresh ciphertext has L + 1 primes
  std::size_t special_count() const;
  std::size_t digit_size() const;   // primes per key-switching digit (= special_count)
  std::size_t digit_count() const;  // dnum at the top level
  const std::vector<math::Modulus>& q() const;
  const std::vector<math::Modulus>& p() const;
  // Bits of Q*P counted as the sum of the primes' bit lengths (what the table is checked on).
  int total_bits() const;
  double log2_qp() const;                  // exact log2(Q*P)
  double log2_q(std::size_t level) const;  // log2(q_0 ... q_level)
  int security_bits() const;  // the level met by the table: 256, 192, 128, or 0
  bool insecure() const;      // below 128 bits (only with allow_insecure)
  const ParamsId& id() const;  // set by the scheme that made the parameters (SHA-256)
  std::string id_hex() const;  // 64 hex digits
  // Serialized sizes of key-switching keys (serialize.h).
  std::size_t relin_key_bytes() const;
  std::size_t galois_key_bytes() const;  // what one step adds to a Galois key set

  const detail::Context& ctx() const { return *ctx_; }
  bool operator==(const Params& o) const { return id() == o.id(); }

 protected:
  explicit Params(std::shared_ptr<const detail::Context> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<const detail::Context> ctx_;
};

namespace detail {

// Precomputations shared by every object made under one Params. A scheme may derive from it
// to add its own (ckks::detail::Context).
struct Context {
  virtual ~Context() = default;

  RingLiteral literal;
  std::size_t n = 0;
  int log_n = 0;
  std::vector<math::Modulus> q, p, qp;  // qp = q then p: the key limbs
  std::vector<std::unique_ptr<math::NttTables>> ntt;  // one per qp limb
  int total_bits = 0;
  double log2_qp = 0;
  int security_bits = 0;
  ParamsId id{};
  std::size_t alpha = 1;  // primes per digit

  // Division by the last prime q_l (CKKS rescale, BFV modulus switching): q_l^-1 mod q_i and
  // floor(q_l/2) mod q_i, for i < l.
  std::vector<std::vector<u64>> inv_last, inv_last_shoup, half_last;

  // Key switching at level l: digit j covers q indices [j*alpha, min((j+1)*alpha, l+1)).
  // modup[l][j] converts a digit to the other primes of Q_l then to P (in that order).
  std::vector<std::vector<std::unique_ptr<math::BaseConverter>>> modup;
  std::unique_ptr<math::BaseConverter> p_to_q;  // P -> q_0..q_L (use a prefix of the outputs)
  std::vector<u64> p_inv_mod_q, p_inv_mod_q_shoup;  // P^-1 mod q_i
  std::vector<u64> p_mod_q;                         // P mod q_i (key generation)

  std::vector<std::unique_ptr<math::CrtReconstructor>> crt;  // per level (decoding, noise)

  std::size_t digits_at(std::size_t level) const { return (level + alpha) / alpha; }
  // NTT-domain permutation for the automorphism X -> X^g (cached, thread-safe).
  const std::vector<std::uint32_t>& galois_permutation(std::uint32_t galois_elt) const;

  mutable std::mutex galois_mutex;
  mutable std::map<std::uint32_t, std::vector<std::uint32_t>> galois_cache;
};

// The reason a ring literal is refused, or empty: everything that does not need the primes.
std::string check_literal(const RingLiteral& literal);
// Generates the primes and every precomputation into c (checked literal); the reason it
// refuses, or empty. Leaves c.id to the caller.
std::string build_context(Context& c, const RingLiteral& literal);
// SHA-256 over "hemi-ckks-params-v1", log N, the primes, a scale exponent and the security
// level met. The formula of parameter ids from before the ring layer existed, kept so that
// keys and objects made then keep their ids: CKKS passes its log_scale; the bare ring (BFV)
// passes 1, as BFV's ring did.
ParamsId legacy_params_id(const Context& c, std::int32_t log_scale);
// Sets glibc's allocator up for large polynomial buffers (once per process).
void tune_allocator();

}  // namespace detail

// The scale exponent a bare ring's id is computed with (see legacy_params_id).
inline constexpr std::int32_t kRingIdLogScale = 1;

// Galois elements: 5^steps mod 2N (a left rotation by `steps` of each half of the slots;
// negative: right), and 2N - 1 (CKKS conjugation, BFV's swap of the two rows).
std::uint32_t galois_element_for_step(int steps, std::size_t n);
std::uint32_t galois_element_conjugate(std::size_t n);

}  // namespace hemi::ring
