// Internal to the bfv layer: moving plaintexts into the ciphertext ring (what encryption and
// the plaintext operations add or multiply).
#pragma once

#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/params.h"

namespace hemi::bfv::detail {

// Throws unless pt belongs to params and has N coefficients, each below t.
void check_plaintext(const Params& params, const Plaintext& pt, const char* op);
// Throws unless level <= the top level.
void check_level(const Params& params, std::size_t level, const char* op);
// round(Q_l m / t) in NTT form over Q_l (m taken in [0, t)): what encryption adds. Rounding
// (rather than floor(Q_l / t) m) keeps the error of the scaling below 1/2, so that fresh noise
// is the encryption error alone.
RnsPoly scale_up(const Params& params, const Plaintext& pt, std::size_t level);
// The centred lift of m (coefficients in (-t/2, t/2]) in NTT form over Q_l: a multiplier.
RnsPoly lift_centered(const Params& params, const Plaintext& pt, std::size_t level);

}  // namespace hemi::bfv::detail
