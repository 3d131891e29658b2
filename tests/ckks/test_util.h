// Shared fixtures for the CKKS tests: named parameter sets (the INSECURE ones are marked so
// and exist only to keep tests fast) and a helper bundle of keys and tools.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"

namespace hemi::ckks::testing {

struct ParamCase {
  std::string name;
  ParamsLiteral literal;
  double log2_tolerance;  // stated precision: |decrypted - expected| < 2^log2_tolerance
};

// gtest prints a case by its name (not its bytes) in test names and failures.
inline void PrintTo(const ParamCase& c, std::ostream* os) { *os << c.name; }

inline std::vector<ParamCase> param_cases() {
  std::vector<ParamCase> cases;
  // INSECURE test set: N = 2^11, 50-bit primes (IFMA path where available).
  cases.push_back({"insecure_n2048_q50", {11, {50, 40, 40}, {50}, 40, 0, true}, -22});
  // INSECURE test set: two primes per key-switching digit (hybrid, dnum = 2).
  cases.push_back({"insecure_n2048_dnum2", {11, {50, 40, 40, 40}, {50, 50}, 40, 0, true}, -22});
  // INSECURE test set: 60-bit primes (the scalar NTT path).
  cases.push_back({"insecure_n2048_q60", {11, {60, 45, 45}, {60}, 45, 0, true}, -26});
  // The study's parameters: N = 8192, [31, 26 x 6] + special 31, 218 bits, 128-bit secure.
  cases.push_back({"study_n8192", {13, {31, 26, 26, 26, 26, 26, 26}, {31}, 26, 128, false}, -7});
  return cases;
}

struct Bundle {
  explicit Bundle(const ParamsLiteral& lit, std::vector<int> steps = {1, -1, 2, 5, -7, 64})
      : params(Params::create(lit).value()),
        keygen(params, Seed{1}),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, steps, true)),
        encoder(params),
        encryptor(params, pk, Seed{2}),
        decryptor(params, sk),
        evaluator(params) {}

  std::vector<double> random_values(std::size_t count, double bound, unsigned seed) const {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> d(-bound, bound);
    std::vector<double> v(count);
    for (auto& x : v) x = d(rng);
    return v;
  }
  Ciphertext encrypt(const std::vector<double>& v, std::size_t level) {
    return encryptor.encrypt(encoder.encode(v, level));
  }
  std::vector<double> decrypt(const Ciphertext& ct) { return encoder.decode(decryptor.decrypt(ct)); }

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
};

// max |a_i - b_i| over the first count slots, as log2.
inline double log2_error(const std::vector<double>& got, const std::vector<double>& want) {
  double e = 0;
  for (std::size_t i = 0; i < want.size(); ++i) e = std::max(e, std::fabs(got[i] - want[i]));
  return e == 0 ? -1000 : std::log2(e);
}

}  // namespace hemi::ckks::testing
