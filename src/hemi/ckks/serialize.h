// Serialization of parameters, keys and ciphertexts. Every object starts with a 48-byte
// header: magic "HEMI", format version (u16), object kind (u16), parameter id (32 bytes, the
// SHA-256 of the parameters), payload size (u64), integers little-endian. Coefficients are
// bit-packed at each prime's bit length, limb by limb.
// Loading validates the header, the kind, the parameter id, every size and every coefficient
// range before an object is built, refuses other format versions (version 1 had 64-bit
// parameter ids), and accepts only canonical encodings: a packed limb's padding bits are zero,
// flags are 0 or 1, secret-key codes are 0, 1 or 2. It throws hemi::Error with a clear message
// on any malformed input: it never crashes and never returns garbage.
#pragma once

#include <cstdint>
#include <string>

#include "hemi/base/bytes.h"
#include "hemi/ckks/keys.h"

namespace hemi::ckks {

inline constexpr std::uint16_t kFormatVersion = 2;
inline constexpr std::size_t kHeaderBytes = 16 + kParamsIdBytes;

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
  ParamsId params_id{};
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
// The secret key's loader wipes everything it copied; the caller still owns (and, being a
// Bytes, wipes on release) the file's bytes.
SecretKey load_secret_key(const Bytes& data, const Params& params);
PublicKey load_public_key(const Bytes& data, const Params& params);
RelinKey load_relin_key(const Bytes& data, const Params& params);
GaloisKeys load_galois_keys(const Bytes& data, const Params& params);
Ciphertext load_ciphertext(const Bytes& data, const Params& params);
SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params);
Plaintext load_plaintext(const Bytes& data, const Params& params);

namespace detail {
// One limb of `n` coefficients packed at `bits` bits each, little-endian bit order, in
// (n * bits + 7) / 8 bytes; the unused top bits of the last byte must be zero. Throws through
// `r` on a coefficient >= q or a set padding bit. Exposed for tests.
void unpack_limb(ByteReader& r, const std::uint8_t* src, std::size_t n, int bits, std::uint64_t q,
                 std::uint64_t* out, const char* field);
}  // namespace detail

}  // namespace hemi::ckks
