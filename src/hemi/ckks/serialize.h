// Serialization of CKKS parameters, ciphertexts and plaintexts, in the ring layer's discipline
// (ring/serialize.h: the 48-byte header, bit-packed limbs, validation before anything is
// built, refusal of other format versions, canonical encodings only); keys are the ring's
// objects and formats, named here too so that ckks::serialize / ckks::load_* cover every
// object a CKKS user ships. Malformed input throws hemi::Error with a clear message.
#pragma once

#include <cstdint>
#include <string>

#include "hemi/base/bytes.h"
#include "hemi/ckks/keys.h"
#include "hemi/ring/serialize.h"

namespace hemi::ckks {

using ring::Header;
using ring::kFormatVersion;
using ring::kHeaderBytes;
using ring::kind_name;
using ring::ObjectKind;
using ring::read_header;

// Keys (ring/serialize.h).
using ring::load_galois_keys;
using ring::load_public_key;
using ring::load_relin_key;
using ring::load_secret_key;
using ring::serialize;

Bytes serialize(const Params& params);
// Objects are packed at their primes' bit lengths, so serializing needs their Params.
Bytes serialize(const Ciphertext& ct, const Params& params);
Bytes serialize(const SeededCiphertext& ct, const Params& params);
Bytes serialize(const Plaintext& pt, const Params& params);

Params load_params(const Bytes& data);
Ciphertext load_ciphertext(const Bytes& data, const Params& params);
SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params);
Plaintext load_plaintext(const Bytes& data, const Params& params);

}  // namespace hemi::ckks
