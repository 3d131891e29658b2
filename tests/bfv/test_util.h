// Shared fixtures for the BFV tests: the default (128-bit) parameter set and an INSECURE
// small set for the schoolbook oracles, and a bundle of keys and tools under fixed seeds.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hemi/bfv/encoder.h"
#include "hemi/bfv/encryptor.h"
#include "hemi/bfv/evaluator.h"
#include "hemi/bfv/noise.h"

namespace hemi::bfv::testing {

// INSECURE test set: N = 16, two 30-bit primes, t = 65537 (17 bits, = 1 mod 32), so that
// every exact product fits in __int128 for the schoolbook oracle.
inline ParamsLiteral insecure_small() {
  ParamsLiteral l;
  l.log_n = 4;
  l.q_bits = {30, 30};
  l.p_bits = {31};
  l.t = 65537;
  l.security = 0;
  l.allow_insecure = true;
  return l;
}

struct Bundle {
  explicit Bundle(const ParamsLiteral& lit, std::vector<int> steps = {1, -1, 3, -5})
      : params(Params::create(lit).value()),
        keygen(params, Seed{1}),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, steps, true)),
        encoder(params),
        encryptor(params, pk, Seed{2}),
        decryptor(params, sk),
        evaluator(params),
        noise(params) {}

  std::vector<std::int64_t> random_values(std::uint32_t seed, std::int64_t bound = 0) const {
    const std::int64_t half = static_cast<std::int64_t>((params.t().value - 1) / 2);
    if (bound == 0) bound = half;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> d(-bound, bound);
    std::vector<std::int64_t> v(params.slots());
    for (auto& x : v) x = d(rng);
    return v;
  }
  Ciphertext encrypt(const std::vector<std::int64_t>& v) { return encryptor.encrypt(encoder.encode(v)); }
  std::vector<std::int64_t> decrypt(const Ciphertext& ct) const { return encoder.decode(decryptor.decrypt(ct)); }
  std::int64_t mod_t(__int128 v) const {  // centred residue mod t
    const __int128 t = params.t().value;
    __int128 r = v % t;
    if (r < 0) r += t;
    if (r > t / 2) r -= t;
    return static_cast<std::int64_t>(r);
  }

  Params params;
  KeyGenerator keygen;
  SecretKey sk;
  PublicKey pk;
  RelinKey rk;
  GaloisKeys gk;
  Encoder encoder;
  Encryptor encryptor;
  Decryptor decryptor;
  Evaluator evaluator;
  NoiseEstimator noise;
};

// One bundle for the default parameters, shared by the tests of a binary (keys take time).
inline Bundle& default_bundle() {
  static Bundle b(default_literal());
  return b;
}

}  // namespace hemi::bfv::testing
