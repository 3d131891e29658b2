// Element-wise activations on ciphertexts, shared by both packings.
#pragma once

#include <vector>

#include "hemi/ckks/evaluator.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

// x -> x^2: one multiplication, relinearization and rescale (one level).
// With `count`, each function adds the operations it performs to it (predicted vs actual tests).
ckks::Ciphertext square(const ckks::Evaluator& eval, const ckks::Ciphertext& x, const ckks::RelinKey& rk,
                        OpCounts* count = nullptr);

// x -> c0 + c1 x + ... + cd x^d in ceil(log2 d) + 1 levels (d >= 2; 1 level for d = 1, none
// for d = 0): powers by products of powers of two, then each term multiplied by its
// coefficient encoded so that every term lands on the incoming scale at one level, summed.
// c0 + x^(2^j) (nn::pure_power_squarings) takes j squarings and an addition: j levels, at the
// squares' scale (the level simulation tracks it as for x²).
ckks::Ciphertext polynomial(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                            const std::vector<double>& coefficients, const ckks::RelinKey& rk,
                            OpCounts* count = nullptr);
// What one polynomial() call costs, without running it: the plan's prediction. The multiplies
// by a coefficient count as dot terms (one ciphertext x constant term each).
OpCounts polynomial_ops(const std::vector<double>& coefficients);
OpCounts square_ops();

}  // namespace hemi::he
