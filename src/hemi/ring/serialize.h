// The serialization discipline every hemi engine object follows, and the ring's keys.
// Every object starts with a 48-byte header: magic "HEMI", format version (u16), object kind
// (u16), parameter id (32 bytes, the SHA-256 of the parameters), payload size (u64), integers
// little-endian. Coefficients are bit-packed at each prime's bit length, limb by limb.
// Loading validates the header, the kind, the parameter id, every size and every coefficient
// range before an object is built, refuses other format versions, and accepts only canonical
// encodings: a packed limb's padding bits are zero, flags are 0 or 1, secret-key codes are 0, 1
// or 2. It throws hemi::Error with a clear message on any malformed input: it never crashes
// and never returns garbage.
// Object kinds, one registry for the engine: 1-8 are the CKKS and key objects below, read at
// format version 2 (version 1 had 64-bit parameter ids); 33-36 are BFV's (bfv/serialize.h,
// its own version), so a loader of one scheme refuses the other's objects.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "hemi/base/bytes.h"
#include "hemi/ring/keys.h"

namespace hemi::ring {

inline constexpr std::uint16_t kFormatVersion = 2;
inline constexpr std::size_t kHeaderBytes = 16 + kParamsIdBytes;

enum class ObjectKind : std::uint16_t {
  kParams = 1,  // a CKKS parameter set
  kSecretKey = 2,
  kPublicKey = 3,
  kRelinKey = 4,
  kGaloisKeys = 5,
  kCiphertext = 6,  // CKKS
  kSeededCiphertext = 7,
  kPlaintext = 8,
};
const char* kind_name(ObjectKind kind);

// A header as read, for one scheme's enum of kinds.
template <class Kind>
struct BasicHeader {
  std::uint16_t version = 0;
  Kind kind{};
  ParamsId params_id{};
  std::uint64_t payload_bytes = 0;
};
using Header = BasicHeader<ObjectKind>;
// Reads and checks the header of a kind 1-8 object only (magic, version, known kind, size
// matches the input).
Header read_header(const Bytes& data);

// Keys are packed at their primes' bit lengths, so serializing needs their Params.
Bytes serialize(const SecretKey& sk, const Params& params);
Bytes serialize(const PublicKey& pk, const Params& params);
Bytes serialize(const RelinKey& rk, const Params& params);
Bytes serialize(const GaloisKeys& gk, const Params& params);

// The secret key's loader wipes everything it copied; the caller still owns (and, being a
// Bytes, wipes on release) the file's bytes.
SecretKey load_secret_key(const Bytes& data, const Params& params);
PublicKey load_public_key(const Bytes& data, const Params& params);
RelinKey load_relin_key(const Bytes& data, const Params& params);
GaloisKeys load_galois_keys(const Bytes& data, const Params& params);

// The pieces every scheme's format is made of.
namespace detail {

using RawHeader = BasicHeader<std::uint16_t>;
// Reads the magic, the version and the kind, lets `check` refuse them (through the reader),
// then reads the id and checks that the payload size matches what follows. `what` names the
// object in messages.
RawHeader read_raw_header(const Bytes& data, const std::string& what,
                          const std::function<void(ByteReader&, std::uint16_t version, std::uint16_t kind)>& check);
template <class Kind>
BasicHeader<Kind> read_header_as(const Bytes& data, const std::string& what,
                                 const std::function<void(ByteReader&, std::uint16_t, std::uint16_t)>& check) {
  const RawHeader raw = read_raw_header(data, what, check);
  return {raw.version, static_cast<Kind>(raw.kind), raw.params_id, raw.payload_bytes};
}
Bytes with_header(std::uint16_t version, std::uint16_t kind, const ParamsId& params_id, const Bytes& payload);
// The header and a payload written by body(ByteWriter&).
template <class Body>
Bytes write_object(std::uint16_t version, std::uint16_t kind, const ParamsId& params_id, Body&& body) {
  Bytes payload;  // a Bytes: wiped when freed, reallocations included
  ByteWriter w(payload);
  body(w);
  return with_header(version, kind, params_id, payload);
}
// Checks a header already read against the kind wanted (`what` and `held` name the wanted and
// the held kind) and (if given) the parameters' id; returns a reader on the payload.
ByteReader open_payload(const Bytes& data, const std::string& what, bool right_kind, const std::string& held,
                        const ParamsId& header_id, const ParamsId* params_id, const std::string& params_hex);
// A kind 1-8 object: open_payload after read_header.
ByteReader open(const Bytes& data, ObjectKind kind, const ParamsId* params_id, const std::string& params_hex);

inline std::size_t packed_limb_bytes(std::size_t n, int bits) { return (n * static_cast<std::size_t>(bits) + 7) / 8; }
// One limb of `n` values below 2^bits (bits <= 61), little-endian bit order: value c occupies
// bits [c * bits, (c + 1) * bits) of packed_limb_bytes(n, bits) bytes.
void pack_limb(ByteWriter& w, const u64* x, std::size_t n, int bits);
// The inverse; the unused top bits of the last byte must be zero. Throws through `r` on a
// coefficient >= q or a set padding bit. Exposed for tests.
void unpack_limb(ByteReader& r, const std::uint8_t* src, std::size_t n, int bits, std::uint64_t q,
                 std::uint64_t* out, const char* field);
// A poly's limbs, limb i at the bit length of Context::qp[qp_index(i, q_limbs)].
void put_poly(ByteWriter& w, const RnsPoly& p, const Params& params, std::size_t q_limbs);
RnsPoly get_poly(ByteReader& r, const Params& params, std::size_t q_limbs, bool with_p, const char* field);
// A level (u32) no higher than the parameters' top level.
std::size_t get_level(ByteReader& r, const Params& params);

}  // namespace detail

}  // namespace hemi::ring
