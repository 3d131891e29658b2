#include "hemi/ring/serialize.h"

#include <bit>
#include <cstring>

#include "hemi/ring/sampling.h"

namespace hemi::ring {

using math::u128;
using math::u64;

namespace {
constexpr char kMagic[4] = {'H', 'E', 'M', 'I'};
constexpr std::uint32_t kMaxItems = 1 << 16;
}  // namespace

// ---- the pieces ----

Bytes detail::with_header(std::uint16_t version, std::uint16_t kind, const ParamsId& params_id, const Bytes& payload) {
  Bytes out;
  out.reserve(kHeaderBytes + payload.size());
  ByteWriter w(out);
  w.put_bytes(kMagic, 4);
  w.put<std::uint16_t>(version);
  w.put<std::uint16_t>(kind);
  w.put_bytes(params_id.data(), params_id.size());
  w.put<std::uint64_t>(payload.size());
  w.put_bytes(payload.data(), payload.size());
  return out;
}

detail::RawHeader detail::read_raw_header(
    const Bytes& data, const std::string& what,
    const std::function<void(ByteReader&, std::uint16_t, std::uint16_t)>& check) {
  ByteReader r(data, what);
  char magic[4];
  r.get_bytes(magic, 4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) r.fail("not a hemi object (bad magic)");
  RawHeader h;
  h.version = r.get<std::uint16_t>("format version");
  h.kind = r.get<std::uint16_t>("kind");
  check(r, h.version, h.kind);
  r.get_bytes(h.params_id.data(), h.params_id.size(), "parameter id");
  h.payload_bytes = r.get<std::uint64_t>("payload size");
  if (h.payload_bytes != r.remaining())
    r.fail("payload size says " + std::to_string(h.payload_bytes) + " bytes but " + std::to_string(r.remaining()) +
           " follow (truncated or padded)");
  return h;
}

void detail::pack_limb(ByteWriter& w, const u64* x, std::size_t n, int bits) {
  // Whole 64-bit words at a time (little-endian hosts: the same bytes as packing byte by byte),
  // straight into the output, with 8 bytes of slack for the last word, trimmed after.
  static_assert(std::endian::native == std::endian::little);
  Bytes& out = w.buffer();
  const std::size_t start = out.size(), bytes = packed_limb_bytes(n, bits);
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

void detail::unpack_limb(ByteReader& r, const std::uint8_t* src, std::size_t n, int bits, std::uint64_t q,
                         std::uint64_t* x, const char* field) {
  const u64 mask = bits == 64 ? ~u64{0} : (u64{1} << bits) - 1;
  std::size_t pos = 0;
  u128 acc = 0;
  int fill = 0;
  for (std::size_t c = 0; c < n; ++c) {
    while (fill < bits) {
      acc |= static_cast<u128>(src[pos++]) << fill;
      fill += 8;
    }
    const u64 v = static_cast<u64>(acc) & mask;
    acc >>= bits;
    fill -= bits;
    if (v >= q)
      r.fail(std::string(field) + ": coefficient " + std::to_string(v) + " is out of range for modulus " + std::to_string(q));
    x[c] = v;
  }
  // Canonical encoding: the padding bits above the last coefficient are zero, so one object
  // has exactly one encoding (and no spare bits can carry anything).
  if (acc != 0)
    r.fail(std::string(field) + ": padding bits after the last coefficient are not zero (non-canonical encoding)");
}

void detail::put_poly(ByteWriter& w, const RnsPoly& p, const Params& params, std::size_t q_limbs) {
  const auto& ctx = params.ctx();
  std::size_t total = 0;
  for (std::size_t i = 0; i < p.limbs(); ++i) total += packed_limb_bytes(p.n(), ctx.qp[qp_index(ctx, i, q_limbs)].bits) + 8;
  w.buffer().reserve(w.size() + total);
  for (std::size_t i = 0; i < p.limbs(); ++i) pack_limb(w, p.limb(i), p.n(), ctx.qp[qp_index(ctx, i, q_limbs)].bits);
}

RnsPoly detail::get_poly(ByteReader& r, const Params& params, std::size_t q_limbs, bool with_p, const char* field) {
  const auto& ctx = params.ctx();
  const std::size_t limbs = q_limbs + (with_p ? ctx.p.size() : 0);
  RnsPoly p(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.qp[qp_index(ctx, i, q_limbs)];
    const std::uint8_t* src = r.take(packed_limb_bytes(ctx.n, m.bits), field);
    unpack_limb(r, src, ctx.n, m.bits, m.value, p.limb(i), field);
  }
  return p;
}

std::size_t detail::get_level(ByteReader& r, const Params& params) {
  const auto l = r.get<std::uint32_t>("level");
  if (l > params.max_level())
    r.fail("level " + std::to_string(l) + " is above the parameters' top level " + std::to_string(params.max_level()));
  return l;
}

// ---- the kind 1-8 family ----

const char* kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kParams: return "parameter set";
    case ObjectKind::kSecretKey: return "secret key";
    case ObjectKind::kPublicKey: return "public key";
    case ObjectKind::kRelinKey: return "relinearization key";
    case ObjectKind::kGaloisKeys: return "Galois key set";
    case ObjectKind::kCiphertext: return "ciphertext";
    case ObjectKind::kSeededCiphertext: return "seeded ciphertext";
    case ObjectKind::kPlaintext: return "plaintext";
  }
  return "unknown object";
}

Header read_header(const Bytes& data) {
  return detail::read_header_as<ObjectKind>(data, "hemi object", [](ByteReader& r, std::uint16_t version, std::uint16_t kind) {
    if (version > kFormatVersion)
      r.fail("format version " + std::to_string(version) + " is newer than this hemi reads (" +
             std::to_string(kFormatVersion) + ")");
    if (version == 0) r.fail("format version 0 is invalid");
    if (version < kFormatVersion)
      r.fail("format version " + std::to_string(version) + " (64-bit parameter ids, unlabelled seed streams) is " +
             "no longer read; this hemi reads version " + std::to_string(kFormatVersion) +
             ": make the keys, requests and results again");
    if (kind < 1 || kind > 8) r.fail("unknown object kind " + std::to_string(kind));
  });
}

ByteReader detail::open_payload(const Bytes& data, const std::string& what, bool right_kind, const std::string& held,
                                const ParamsId& header_id, const ParamsId* params_id, const std::string& params_hex) {
  if (!right_kind) throw Error(what + ": " + held);
  if (params_id && header_id != *params_id)
    throw Error(what + ": made under other parameters (id " + to_hex(header_id) + ", expected " + params_hex + ")");
  return ByteReader(data.data() + kHeaderBytes, data.size() - kHeaderBytes, what);
}

ByteReader detail::open(const Bytes& data, ObjectKind kind, const ParamsId* params_id, const std::string& params_hex) {
  const Header h = read_header(data);
  const std::string what = kind_name(kind);
  return open_payload(data, what, h.kind == kind, std::string("the file holds a ") + kind_name(h.kind) + ", not a " + what,
                      h.params_id, params_id, params_hex);
}

// ---- keys ----

namespace {

template <class Body>
Bytes write_key(ObjectKind kind, const Params& params, Body&& body) {
  return detail::write_object(kFormatVersion, static_cast<std::uint16_t>(kind), params.id(), body);
}

ByteReader open_key(const Bytes& data, ObjectKind kind, const Params& params) {
  return detail::open(data, kind, &params.id(), params.id_hex());
}

void check_id(const ParamsId& id, const Params& params, const char* what) {
  if (id != params.id()) throw Error(std::string(what) + ": object from other parameters");
}

void put_switch_key(ByteWriter& w, const KeySwitchKey& k, const Params& params) {
  w.put_bytes(k.seed.data(), k.seed.size());
  w.put<std::uint32_t>(static_cast<std::uint32_t>(k.b.size()));
  for (auto& b : k.b) detail::put_poly(w, b, params, params.max_level() + 1);
}

KeySwitchKey get_switch_key(ByteReader& r, const Params& params, std::string_view label) {
  KeySwitchKey k;
  r.get_bytes(k.seed.data(), k.seed.size(), "key seed");
  auto dnum = r.get<std::uint32_t>("digit count");
  if (dnum != params.digit_count())
    r.fail("key has " + std::to_string(dnum) + " digits, the parameters need " + std::to_string(params.digit_count()));
  for (std::uint32_t j = 0; j < dnum; ++j)
    k.b.push_back(detail::get_poly(r, params, params.max_level() + 1, true, "key part"));
  k.params_id = params.id();
  expand_key_uniform(params, k, label);
  precompute_key(params, k);
  return k;
}

}  // namespace

Bytes serialize(const SecretKey& sk, const Params& params) {
  check_id(sk.params_id, params, "serialize secret key");
  return write_key(ObjectKind::kSecretKey, params, [&](ByteWriter& w) {
    w.buffer().reserve(4 + (sk.coeffs.size() + 3) / 4);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(sk.coeffs.size()));
    for (std::size_t c = 0; c < sk.coeffs.size(); c += 4) {
      std::uint8_t b = 0;
      for (std::size_t k = 0; k < 4 && c + k < sk.coeffs.size(); ++k)
        b |= static_cast<std::uint8_t>(detail::ternary_code(sk.coeffs[c + k]) << (2 * k));
      w.put<std::uint8_t>(b);
    }
  });
}

SecretKey load_secret_key(const Bytes& data, const Params& params) {
  ByteReader r = open_key(data, ObjectKind::kSecretKey, params);
  auto n = r.get<std::uint32_t>("coefficient count");
  if (n != params.n())
    r.fail("holds " + std::to_string(n) + " coefficients, the parameters need " + std::to_string(params.n()));
  SecretKey sk;
  sk.coeffs.resize(n);
  // Decoded without a branch on the coefficients; an invalid code (3) is only noted, and the
  // whole key refused after the loop.
  std::uint8_t invalid = 0;
  const std::uint8_t* packed = r.take((n + 3) / 4, "coefficients");
  for (std::size_t c = 0; c < n; ++c) {
    const std::uint8_t code = (packed[c / 4] >> (2 * (c % 4))) & 3;
    invalid |= code & (code >> 1);
    sk.coeffs[c] = detail::ternary_from_code(code);
  }
  r.expect_end();
  if (invalid) {
    secure_wipe(sk.coeffs.data(), sk.coeffs.size());
    r.fail("a coefficient is not ternary (code 3)");
  }
  const auto& ctx = params.ctx();
  sk.poly = detail::small_to_ntt(sk.coeffs.data(), ctx, ctx.q.size(), true);
  sk.params_id = params.id();
  sk.exclude_from_core_dumps();
  return sk;
}

// A public key is stored as a top-level, 2-part CKKS ciphertext of scale 1 (level, part count,
// scale, parts): the format from before the ring layer.
Bytes serialize(const PublicKey& pk, const Params& params) {
  check_id(pk.params_id, params, "serialize public key");
  return write_key(ObjectKind::kPublicKey, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(params.max_level()));
    w.put<std::uint32_t>(static_cast<std::uint32_t>(pk.polys.size()));
    w.put<double>(1.0);
    for (auto& p : pk.polys) detail::put_poly(w, p, params, params.max_level() + 1);
  });
}

PublicKey load_public_key(const Bytes& data, const Params& params) {
  ByteReader r = open_key(data, ObjectKind::kPublicKey, params);
  const std::size_t level = detail::get_level(r, params);
  const auto parts = r.get<std::uint32_t>("part count");
  if (parts < 2 || parts > 3) r.fail("a ciphertext has 2 or 3 parts, not " + std::to_string(parts));
  const double scale = r.get<double>("scale");
  if (scale != 1.0) r.fail("a public key's scale field is 1, not " + std::to_string(scale));
  PublicKey pk;
  for (std::uint32_t k = 0; k < parts; ++k) pk.polys.push_back(detail::get_poly(r, params, level + 1, false, "ciphertext part"));
  r.expect_end();
  if (level != params.max_level() || parts != 2) r.fail("a public key is a 2-part top-level pair");
  pk.params_id = params.id();
  return pk;
}

Bytes serialize(const RelinKey& rk, const Params& params) {
  check_id(rk.key.params_id, params, "serialize relinearization key");
  return write_key(ObjectKind::kRelinKey, params, [&](ByteWriter& w) { put_switch_key(w, rk.key, params); });
}

RelinKey load_relin_key(const Bytes& data, const Params& params) {
  ByteReader r = open_key(data, ObjectKind::kRelinKey, params);
  RelinKey rk{get_switch_key(r, params, detail::kLabelRelinKeyA)};
  r.expect_end();
  return rk;
}

Bytes serialize(const GaloisKeys& gk, const Params& params) {
  check_id(gk.params_id, params, "serialize Galois keys");
  return write_key(ObjectKind::kGaloisKeys, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(gk.keys.size()));
    for (auto& [g, k] : gk.keys) {
      w.put<std::uint32_t>(g);
      put_switch_key(w, k, params);
    }
  });
}

GaloisKeys load_galois_keys(const Bytes& data, const Params& params) {
  ByteReader r = open_key(data, ObjectKind::kGaloisKeys, params);
  auto count = r.get<std::uint32_t>("key count");
  if (count > kMaxItems) r.fail("key count " + std::to_string(count) + " is absurd");
  GaloisKeys gk;
  gk.params_id = params.id();
  for (std::uint32_t i = 0; i < count; ++i) {
    auto g = r.get<std::uint32_t>("Galois element");
    if (g % 2 == 0 || g >= 2 * params.n() || g == 1) r.fail("Galois element " + std::to_string(g) + " is invalid");
    if (gk.has(g)) r.fail("Galois element " + std::to_string(g) + " appears twice");
    gk.keys.emplace(g, get_switch_key(r, params, detail::kLabelGaloisKeyA));
  }
  r.expect_end();
  return gk;
}

}  // namespace hemi::ring
