// Plaintexts and ciphertexts. Both live in NTT form at a level l (primes q_0..q_l) with a
// scale; they remember the id of the Params they were made under, and every operation checks
// it. Plain data holders: validation happens in the Evaluator and in deserialization.
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ring/params_id.h"
#include "hemi/ring/poly.h"

namespace hemi::ckks {

using ring::ParamsId;
using ring::RnsPoly;

struct Plaintext {
  RnsPoly poly;
  std::size_t level = 0;
  double scale = 1;
  ParamsId params_id{};
};

struct Ciphertext {
  std::vector<RnsPoly> polys;  // (c0, c1) or, after a multiplication, (c0, c1, c2)
  std::size_t level = 0;
  double scale = 1;
  ParamsId params_id{};

  std::size_t size() const { return polys.size(); }
};

// A symmetric encryption whose uniform part c1 is expanded from a public seed: half the bytes
// of a Ciphertext on the wire. expand() in Encryptor/serialize turns it into a Ciphertext.
struct SeededCiphertext {
  RnsPoly c0;
  Seed seed{};
  std::size_t level = 0;
  double scale = 1;
  ParamsId params_id{};
};

}  // namespace hemi::ckks
