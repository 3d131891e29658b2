// Element-wise activations on ciphertexts, shared by both packings.
#pragma once

#include <vector>

#include "hemi/ckks/evaluator.h"

namespace hemi::he {

// x -> x^2: one multiplication, relinearization and rescale (one level).
ckks::Ciphertext square(const ckks::Evaluator& eval, const ckks::Ciphertext& x, const ckks::RelinKey& rk);

// x -> c0 + c1 x + ... + cd x^d in ceil(log2 d) + 1 levels (d >= 2; 1 level for d = 1, none
// for d = 0): powers by products of powers of two, then each term multiplied by its
// coefficient encoded so that every term lands on the incoming scale at one level, summed.
ckks::Ciphertext polynomial(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                            const std::vector<double>& coefficients, const ckks::RelinKey& rk);

}  // namespace hemi::he
