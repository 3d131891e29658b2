// Randomness. Every secret and every error term comes from a Prng: AES-256 in counter mode
// (OpenSSL EVP) keyed by a 32-byte seed. The default seed comes from the operating system's
// CSPRNG (OpenSSL RAND_bytes); fixed seeds are for tests and for expanding the public
// uniform part of a seeded ciphertext or key, which is safe to reproduce.
// Concurrency: one Prng per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hemi {

using Seed = std::array<std::uint8_t, 32>;

// A fresh seed from the operating system's CSPRNG. Throws hemi::Error if none is available.
Seed random_seed();

// Overwrites memory in a way the compiler cannot optimise away (OPENSSL_cleanse).
void secure_wipe(void* data, std::size_t bytes);

class Prng {
 public:
  Prng();                         // seeded from random_seed()
  explicit Prng(const Seed& seed);  // deterministic stream
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
  void refill();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hemi
