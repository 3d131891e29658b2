#include "hemi/bfv/serialize.h"

#include <bit>
#include <cstring>

namespace hemi::bfv {

using math::u128;
using math::u64;

namespace {

constexpr char kMagic[4] = {'H', 'E', 'M', 'I'};
constexpr std::uint32_t kMaxPrimes = 64;

Bytes with_header(ObjectKind kind, const ckks::ParamsId& params_id, const Bytes& payload) {
  Bytes out;
  out.reserve(kHeaderBytes + payload.size());
  ByteWriter w(out);
  w.put_bytes(kMagic, 4);
  w.put<std::uint16_t>(kFormatVersion);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(kind));
  w.put_bytes(params_id.data(), params_id.size());
  w.put<std::uint64_t>(payload.size());
  w.put_bytes(payload.data(), payload.size());
  return out;
}

ByteReader open(const Bytes& data, ObjectKind kind, const Params* params) {
  const Header h = read_header(data);
  const std::string what = std::string("BFV ") + kind_name(kind);
  if (h.kind != kind) throw Error(what + ": the data holds a BFV " + kind_name(h.kind) + ", not a " + kind_name(kind));
  if (params && h.params_id != params->id())
    throw Error(what + ": made under other parameters (id " + ckks::to_hex(h.params_id) + ", expected " +
                params->id_hex() + ")");
  return ByteReader(data.data() + kHeaderBytes, data.size() - kHeaderBytes, what);
}

// Values below 2^bits (bits <= 61), packed little-endian: value c occupies bits
// [c * bits, (c + 1) * bits) of the byte string.
void put_packed(ByteWriter& w, const u64* x, std::size_t n, int bits) {
  // Whole 64-bit words at a time (little-endian hosts: the same bytes as packing byte by byte),
  // straight into the output, with 8 bytes of slack for the last word, trimmed after.
  static_assert(std::endian::native == std::endian::little);
  Bytes& out = w.buffer();
  const std::size_t start = out.size(), bytes = (n * static_cast<std::size_t>(bits) + 7) / 8;
  out.resize(start + bytes + 8);
  std::uint8_t* dst = out.data() + start;
  std::size_t pos = 0;
  u128 acc = 0;
  int fill = 0;
  for (std::size_t c = 0; c < n; ++c) {
    acc |= static_cast<u128>(x[c]) << fill;  // fill < 64, bits <= 61: below 2^125
    fill += bits;
    if (fill >= 64) {
      const u64 word = static_cast<u64>(acc);
      std::memcpy(dst + pos, &word, 8);
      pos += 8;
      acc >>= 64;
      fill -= 64;
    }
  }
  const u64 word = static_cast<u64>(acc);
  std::memcpy(dst + pos, &word, 8);
  out.resize(start + bytes);
}

void get_packed(ByteReader& r, u64* x, std::size_t n, const math::Modulus& m, const char* field) {
  const std::size_t bytes = (n * m.bits + 7) / 8;
  const std::uint8_t* src = r.take(bytes, field);
  const u64 mask = (u64{1} << m.bits) - 1;
  std::size_t pos = 0;
  u128 acc = 0;
  int fill = 0;
  for (std::size_t c = 0; c < n; ++c) {
    while (fill < m.bits) {
      acc |= static_cast<u128>(src[pos++]) << fill;
      fill += 8;
    }
    const u64 v = static_cast<u64>(acc) & mask;
    acc >>= m.bits;
    fill -= m.bits;
    if (v >= m.value)
      r.fail(std::string(field) + ": coefficient " + std::to_string(v) + " is out of range for modulus " +
             std::to_string(m.value));
    x[c] = v;
  }
}

void put_poly(ByteWriter& w, const RnsPoly& p, const Params& params) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < p.limbs(); ++i) total += (p.n() * static_cast<std::size_t>(params.q()[i].bits) + 7) / 8 + 8;
  w.buffer().reserve(w.size() + total);
  for (std::size_t i = 0; i < p.limbs(); ++i) put_packed(w, p.limb(i), p.n(), params.q()[i].bits);
}

RnsPoly get_poly(ByteReader& r, const Params& params, std::size_t level, const char* field) {
  RnsPoly p(params.n(), level + 1);
  for (std::size_t i = 0; i <= level; ++i) get_packed(r, p.limb(i), params.n(), params.q()[i], field);
  return p;
}

std::size_t get_level(ByteReader& r, const Params& params) {
  const auto l = r.get<std::uint32_t>("level");
  if (l > params.max_level())
    r.fail("level " + std::to_string(l) + " is above the parameters' top level " + std::to_string(params.max_level()));
  return l;
}

void check_shape(const Params& params, const RnsPoly& p, std::size_t level, const char* what) {
  if (p.n() != params.n() || p.limbs() != level + 1)
    throw Error(std::string("serialize ") + what + ": shape does not match its level " + std::to_string(level));
}

}  // namespace

const char* kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kParams: return "parameter set";
    case ObjectKind::kCiphertext: return "ciphertext";
    case ObjectKind::kSeededCiphertext: return "seeded ciphertext";
    case ObjectKind::kPlaintext: return "plaintext";
  }
  return "unknown object";
}

Header read_header(const Bytes& data) {
  ByteReader r(data, "BFV object");
  char magic[4];
  r.get_bytes(magic, 4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) r.fail("not a hemi object (bad magic)");
  Header h;
  h.version = r.get<std::uint16_t>("format version");
  const auto kind = r.get<std::uint16_t>("kind");
  // The kind first: a CKKS object (whose format has its own version) is named as such.
  if (kind < 33 || kind > 36) r.fail("object kind " + std::to_string(kind) + " is not a BFV object");
  if (h.version == 0 || h.version > kFormatVersion)
    r.fail("format version " + std::to_string(h.version) + " is not supported (this build reads up to " +
           std::to_string(kFormatVersion) + ")");
  h.kind = static_cast<ObjectKind>(kind);
  r.get_bytes(h.params_id.data(), h.params_id.size(), "parameter id");
  h.payload_bytes = r.get<std::uint64_t>("payload size");
  if (h.payload_bytes != r.remaining())
    r.fail("payload size " + std::to_string(h.payload_bytes) + " does not match the " + std::to_string(r.remaining()) +
           " bytes present");
  return h;
}

Bytes serialize(const Params& params) {
  const ParamsLiteral& l = params.literal();
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::int32_t>(l.log_n);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(l.q_bits.size()));
  for (int b : l.q_bits) w.put<std::int32_t>(b);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(l.p_bits.size()));
  for (int b : l.p_bits) w.put<std::int32_t>(b);
  w.put<std::uint64_t>(params.t().value);  // the chosen t, explicit
  w.put<std::int32_t>(l.security);
  w.put<std::uint8_t>(l.allow_insecure ? 1 : 0);
  return with_header(ObjectKind::kParams, params.id(), payload);
}

Params load_params(const Bytes& data) {
  const Header h = read_header(data);
  ByteReader r = open(data, ObjectKind::kParams, nullptr);
  ParamsLiteral l;
  l.log_n = r.get<std::int32_t>("log N");
  auto get_bits = [&](const char* field) {
    const auto count = r.get<std::uint32_t>(field);
    if (count > kMaxPrimes) r.fail(std::string(field) + " " + std::to_string(count) + " exceeds " + std::to_string(kMaxPrimes));
    std::vector<int> bits(count);
    for (auto& b : bits) b = r.get<std::int32_t>("prime size");
    return bits;
  };
  l.q_bits = get_bits("ciphertext prime count");
  l.p_bits = get_bits("special prime count");
  l.t = r.get<std::uint64_t>("plaintext modulus");
  l.security = r.get<std::int32_t>("security level");
  const auto insecure = r.get<std::uint8_t>("insecure flag");
  if (insecure > 1) r.fail("insecure flag " + std::to_string(insecure) + " is not 0 or 1");
  l.allow_insecure = insecure == 1;
  r.expect_end();
  auto p = Params::create(l);
  if (!p) throw Error("BFV parameter set: refused: " + p.error());
  if (p.value().id() != h.params_id)
    throw Error("BFV parameter set: the id in the header (" + ckks::to_hex(h.params_id) +
                ") does not match the parameters (" + p.value().id_hex() + ")");
  return p.value();
}

Bytes serialize(const Ciphertext& ct, const Params& params) {
  if (ct.params_id != params.id()) throw Error("serialize ciphertext: ciphertext from other parameters");
  if (ct.level > params.max_level() || ct.size() < 2 || ct.size() > 3)
    throw Error("serialize ciphertext: invalid level or part count");
  for (const auto& p : ct.polys) check_shape(params, p, ct.level, "ciphertext");
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.size()));
  for (const auto& p : ct.polys) put_poly(w, p, params);
  return with_header(ObjectKind::kCiphertext, params.id(), payload);
}

Ciphertext load_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kCiphertext, &params);
  Ciphertext ct;
  ct.level = get_level(r, params);
  const auto parts = r.get<std::uint32_t>("part count");
  if (parts < 2 || parts > 3) r.fail("part count " + std::to_string(parts) + " is not 2 or 3");
  for (std::uint32_t k = 0; k < parts; ++k) ct.polys.push_back(get_poly(r, params, ct.level, "ciphertext part"));
  r.expect_end();
  ct.params_id = params.id();
  return ct;
}

Bytes serialize(const SeededCiphertext& ct, const Params& params) {
  if (ct.params_id != params.id()) throw Error("serialize seeded ciphertext: ciphertext from other parameters");
  if (ct.level > params.max_level()) throw Error("serialize seeded ciphertext: invalid level");
  check_shape(params, ct.c0, ct.level, "seeded ciphertext");
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
  w.put_bytes(ct.seed.data(), ct.seed.size());
  put_poly(w, ct.c0, params);
  return with_header(ObjectKind::kSeededCiphertext, params.id(), payload);
}

SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kSeededCiphertext, &params);
  SeededCiphertext ct;
  ct.level = get_level(r, params);
  r.get_bytes(ct.seed.data(), ct.seed.size(), "seed");
  ct.c0 = get_poly(r, params, ct.level, "ciphertext part");
  r.expect_end();
  ct.params_id = params.id();
  return ct;
}

Bytes serialize(const Plaintext& pt, const Params& params) {
  if (pt.params_id != params.id()) throw Error("serialize plaintext: plaintext from other parameters");
  if (pt.coeffs.size() != params.n()) throw Error("serialize plaintext: not N coefficients");
  Bytes payload;
  ByteWriter w(payload);
  put_packed(w, pt.coeffs.data(), pt.coeffs.size(), params.t().bits);
  return with_header(ObjectKind::kPlaintext, params.id(), payload);
}

Plaintext load_plaintext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kPlaintext, &params);
  Plaintext pt;
  pt.coeffs.resize(params.n());
  get_packed(r, pt.coeffs.data(), params.n(), params.t(), "plaintext");
  r.expect_end();
  pt.params_id = params.id();
  return pt;
}

}  // namespace hemi::bfv
