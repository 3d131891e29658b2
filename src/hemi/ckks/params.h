// CKKS parameters: the ring (ring/params.h: N, Q, P, the security check, the key-switching
// precomputations) plus the default encoding scale and the special FFT of the encoder. A
// ParamsLiteral (plain numbers from a user or a file) becomes an immutable, validated Params
// only through Params::create, which returns the reason when it refuses: no half-valid Params
// ever exists. Params is a ring::Params (a cheap handle; copies share the precomputations;
// thread-safe), so every ring operation takes it as it is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/math/special_fft.h"
#include "hemi/ring/params.h"

namespace hemi::ckks {

using math::u64;
using ring::kParamsIdBytes;
using ring::ParamsId;
using ring::to_hex;
using ring::galois_element_conjugate;
using ring::galois_element_for_step;

struct ParamsLiteral {
  int log_n = 13;
  std::vector<int> q_bits;  // ciphertext chain q_0 ... q_L (q_0 holds the final result)
  std::vector<int> p_bits;  // special primes for hybrid key switching (at least one)
  int log_scale = 0;        // default encoding scale 2^log_scale
  int security = 128;       // 128, 192 or 256; 0 means "no claim" and needs allow_insecure
  bool allow_insecure = false;  // explicit opt-in for parameters below the requested level

  bool operator==(const ParamsLiteral&) const = default;
  ring::RingLiteral ring() const { return {log_n, q_bits, p_bits, security, allow_insecure}; }
};

// Intent: multiplicative depth, scale bits and security level -> the smallest N and a chain.
// q_0 gets log_scale + `integer_bits` bits (at most 60), depth primes of log_scale bits,
// and special primes chosen for hybrid key switching (see docs/ckks.md). Refuses with the reason.
Result<ParamsLiteral> literal_for_depth(int depth, int log_scale, int security = 128,
                                       int integer_bits = 20);

namespace detail {

// The ring's precomputations and CKKS's own.
struct Context : ring::detail::Context {
  ParamsLiteral ckks_literal;
  std::unique_ptr<math::SpecialFft> fft;
};

}  // namespace detail

class Params : public ring::Params {
 public:
  static Result<Params> create(const ParamsLiteral& literal);

  const ParamsLiteral& literal() const;
  std::size_t slots() const { return n() / 2; }
  double default_scale() const;
  // Sizes in bytes of serialized objects (what a user ships); key sizes are the ring's.
  std::size_t ciphertext_bytes(std::size_t level) const;
  std::size_t seeded_ciphertext_bytes(std::size_t level) const;

  const detail::Context& ctx() const { return static_cast<const detail::Context&>(ring::Params::ctx()); }

 private:
  explicit Params(std::shared_ptr<const detail::Context> ctx) : ring::Params(std::move(ctx)) {}
};

}  // namespace hemi::ckks
