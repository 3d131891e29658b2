// Serialization of BFV parameters, ciphertexts (full and seeded) and plaintexts, in the ring
// layer's discipline (ring/serialize.h, whose pieces it uses): a 48-byte header (magic "HEMI", format version u16, object
// kind u16, the 32-byte parameter id, payload size u64, little-endian), coefficients bit-packed at
// each prime's bit length, and loading that validates the header, the kind, the parameter id,
// every size and every coefficient range before an object is built, refuses later format
// versions, and throws hemi::Error on malformed input. BFV kinds are numbered from 33, so a
// CKKS loader refuses a BFV object and the other way round. Keys are ring keys: serialize
// them with ring::serialize(key, params.ring()) and ring::load_*_key(bytes, params.ring()).
#pragma once

#include <cstdint>

#include "hemi/base/bytes.h"
#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/params.h"
#include "hemi/ring/serialize.h"

namespace hemi::bfv {

inline constexpr std::uint16_t kFormatVersion = 1;
using ring::kHeaderBytes;

enum class ObjectKind : std::uint16_t {
  kParams = 33,
  kCiphertext = 34,
  kSeededCiphertext = 35,
  kPlaintext = 36,
};
const char* kind_name(ObjectKind kind);

using Header = ring::BasicHeader<ObjectKind>;
// Reads and checks the header only (magic, version, a BFV kind, size matches the input).
Header read_header(const Bytes& data);

Bytes serialize(const Params& params);
Bytes serialize(const Ciphertext& ct, const Params& params);
Bytes serialize(const SeededCiphertext& ct, const Params& params);
Bytes serialize(const Plaintext& pt, const Params& params);

Params load_params(const Bytes& data);
Ciphertext load_ciphertext(const Bytes& data, const Params& params);
SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params);
Plaintext load_plaintext(const Bytes& data, const Params& params);

}  // namespace hemi::bfv
