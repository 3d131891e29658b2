// Randomness. Every secret and every error term comes from a Prng: AES-256 in counter mode
// (OpenSSL EVP) keyed by a 32-byte seed. The default seed comes from the operating system's
// CSPRNG (OpenSSL RAND_bytes); fixed seeds are for tests and for expanding the public
// uniform part of a seeded ciphertext or key, which is safe to reproduce.
// Expansions of public seeds name their purpose (a domain-separation label): the AES key is
// then SHA-256("hemi-prng-v1" | u32 label length | label | seed), so one seed used for two
// purposes never yields the same stream (docs/ckks.md, "Randomness").
// Concurrency: one Prng per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "hemi/base/secure_memory.h"

namespace hemi {

using Seed = std::array<std::uint8_t, 32>;

// A fresh seed from the operating system's CSPRNG. Throws hemi::Error if none is available.
Seed random_seed();

class Prng {
 public:
  Prng();                         // seeded from random_seed()
  explicit Prng(const Seed& seed);  // deterministic stream, the seed is the AES key
  // Deterministic stream for one purpose: the AES key is derived from the label and the seed.
  Prng(const Seed& seed, std::string_view label);
  ~Prng();
  Prng(Prng&&) noexcept;
  Prng& operator=(Prng&&) noexcept;
  Prng(const Prng&) = delete;
  Prng& operator=(const Prng&) = delete;

  void fill(void* out, std::size_t bytes);
  std::uint64_t next_u64();
  // Uniform in [0, bound) by rejection sampling; bound > 0.
  std::uint64_t uniform(std::uint64_t bound);

 private:
  void init(const std::uint8_t* key);
  void refill();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hemi
