// BFV plaintexts and ciphertexts. A Plaintext is a polynomial with coefficients modulo t (a
// batch-encoded vector of N slots, see encoder.h). A Ciphertext lives in NTT form over
// Q_l = q_0 ... q_l (the ring layer's polynomials, as CKKS ciphertexts), and remembers the id of the bfv::Params it was made
// under. Plain data holders: validation happens in the Evaluator and in deserialization.
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ring/params_id.h"
#include "hemi/ring/poly.h"
#include "hemi/math/modarith.h"

namespace hemi::bfv {

using ring::ParamsId;
using ring::RnsPoly;

struct Plaintext {
  std::vector<math::u64> coeffs;  // N coefficients, each < t
  ParamsId params_id{};
};

struct Ciphertext {
  std::vector<RnsPoly> polys;  // (c0, c1), or (c0, c1, c2) after a multiplication
  std::size_t level = 0;
  ParamsId params_id{};

  std::size_t size() const { return polys.size(); }
};

// A symmetric encryption whose uniform part c1 expands from a public seed: half the bytes.
struct SeededCiphertext {
  RnsPoly c0;
  Seed seed{};
  std::size_t level = 0;
  ParamsId params_id{};
};

}  // namespace hemi::bfv
