// BFV keys are ring keys: the secret, public, relinearization and Galois keys of the shared
// ring layer (ring/keys.h) made under Params::ring(), so key generation, seeded half-size
// key-switching keys, secret wiping and key serialization (ring/serialize.h) are one code path
// for both schemes. Galois elements: 5^k rotates the rows left by k, 2N - 1 swaps the two rows.
// One KeyGenerator per thread; keys are immutable and may be shared.
#pragma once

#include <vector>

#include "hemi/bfv/params.h"
#include "hemi/ring/keys.h"

namespace hemi::bfv {

using ring::GaloisKeys;
using ring::PublicKey;
using ring::RelinKey;
using ring::SecretKey;

class KeyGenerator {
 public:
  explicit KeyGenerator(const Params& params) : gen_(params.ring()) {}
  KeyGenerator(const Params& params, const Seed& test_seed) : gen_(params.ring(), test_seed) {}  // tests only

  SecretKey secret_key() { return gen_.secret_key(); }
  PublicKey public_key(const SecretKey& sk) { return gen_.public_key(sk); }
  RelinKey relin_key(const SecretKey& sk) { return gen_.relin_key(sk); }
  // Keys for row rotations by each step (negative: right) and, if asked, the row swap.
  GaloisKeys galois_keys(const SecretKey& sk, const std::vector<int>& row_steps, bool swap_rows = true) {
    return gen_.galois_keys(sk, row_steps, swap_rows);
  }

 private:
  ring::KeyGenerator gen_;
};

}  // namespace hemi::bfv
