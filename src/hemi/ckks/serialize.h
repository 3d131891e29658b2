// Serialization of parameters, keys and ciphertexts. Every object starts with a 24-byte
// header: magic "HEMI", format version (u16), object kind (u16), parameter id (u64), payload
// size (u64), all little-endian. Coefficients are bit-packed at each prime's bit length.
// Loading validates the header, the kind, the parameter id, every size and every coefficient
// range before an object is built, refuses later format versions, and throws hemi::Error with a
// clear message on any malformed input: it never crashes and never returns garbage.
#pragma once

#include <cstdint>
#include <string>

#include "hemi/base/bytes.h"
#include "hemi/ckks/keys.h"

namespace hemi::ckks {

inline constexpr std::uint16_t kFormatVersion = 1;
inline constexpr std::size_t kHeaderBytes = 24;

enum class ObjectKind : std::uint16_t {
  kParams = 1,
  kSecretKey = 2,
  kPublicKey = 3,
  kRelinKey = 4,
  kGaloisKeys = 5,
  kCiphertext = 6,
  kSeededCiphertext = 7,
  kPlaintext = 8,
};
const char* kind_name(ObjectKind kind);

struct Header {
  std::uint16_t version = kFormatVersion;
  ObjectKind kind = ObjectKind::kParams;
  std::uint64_t params_id = 0;
  std::uint64_t payload_bytes = 0;
};
// Reads and checks the header only (magic, version, known kind, size matches the input).
Header read_header(const Bytes& data);

Bytes serialize(const Params& params);
// Objects are packed at their primes' bit lengths, so serializing needs their Params.
Bytes serialize(const SecretKey& sk, const Params& params);
Bytes serialize(const PublicKey& pk, const Params& params);
Bytes serialize(const RelinKey& rk, const Params& params);
Bytes serialize(const GaloisKeys& gk, const Params& params);
Bytes serialize(const Ciphertext& ct, const Params& params);
Bytes serialize(const SeededCiphertext& ct, const Params& params);
Bytes serialize(const Plaintext& pt, const Params& params);

Params load_params(const Bytes& data);
SecretKey load_secret_key(const Bytes& data, const Params& params);
PublicKey load_public_key(const Bytes& data, const Params& params);
RelinKey load_relin_key(const Bytes& data, const Params& params);
GaloisKeys load_galois_keys(const Bytes& data, const Params& params);
Ciphertext load_ciphertext(const Bytes& data, const Params& params);
SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params);
Plaintext load_plaintext(const Bytes& data, const Params& params);

}  // namespace hemi::ckks
