#include "hemi/ckks/serialize.h"

#include <cmath>
#include <cstring>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/sampling.h"

namespace hemi::ckks {

using math::u64;

namespace {

constexpr char kMagic[4] = {'H', 'E', 'M', 'I'};
constexpr std::uint32_t kMaxItems = 1 << 16;

std::string kind_str(ObjectKind k) { return kind_name(k); }

Bytes with_header(ObjectKind kind, const ParamsId& params_id, const Bytes& payload) {
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

// Checks the header against the expected kind and parameters; returns a reader on the payload.
ByteReader open(const Bytes& data, ObjectKind kind, const Params* params) {
  Header h = read_header(data);
  const std::string what = kind_str(kind);
  if (h.kind != kind) throw Error(what + ": the file holds a " + kind_str(h.kind) + ", not a " + what);
  if (params && h.params_id != params->id())
    throw Error(what + ": made under other parameters (id " + to_hex(h.params_id) + ", expected " +
                params->id_hex() + ")");
  return ByteReader(data.data() + kHeaderBytes, data.size() - kHeaderBytes, what);
}

void put_poly(ByteWriter& w, const RnsPoly& p, const Params& params, std::size_t q_limbs) {
  const auto& ctx = params.ctx();
  for (std::size_t i = 0; i < p.limbs(); ++i) {
    const int bits = ctx.qp[detail::qp_index(ctx, i, q_limbs)].bits;
    const u64* x = p.limb(i);
    u64 acc = 0;
    int fill = 0;
    for (std::size_t c = 0; c < p.n(); ++c) {
      u64 v = x[c];
      int left = bits;
      while (left > 0) {
        int take = std::min(left, 64 - fill);
        u64 part = take == 64 ? v : (v & ((u64{1} << take) - 1));
        acc |= part << fill;
        fill += take;
        left -= take;
        v = take == 64 ? 0 : v >> take;
        if (fill == 64) {
          w.put<u64>(acc);
          acc = 0;
          fill = 0;
        }
      }
    }
    for (int b = 0; b < fill; b += 8) w.put<std::uint8_t>(static_cast<std::uint8_t>(acc >> b));
  }
}

RnsPoly get_poly(ByteReader& r, const Params& params, std::size_t q_limbs, bool with_p, const char* field) {
  const auto& ctx = params.ctx();
  const std::size_t limbs = q_limbs + (with_p ? ctx.p.size() : 0);
  RnsPoly p(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.qp[detail::qp_index(ctx, i, q_limbs)];
    const std::size_t bytes = (ctx.n * m.bits + 7) / 8;
    const std::uint8_t* src = r.take(bytes, field);
    detail::unpack_limb(r, src, ctx.n, m.bits, m.value, p.limb(i), field);
  }
  return p;
}

double get_scale(ByteReader& r) {
  double s = r.get<double>("scale");
  if (!std::isfinite(s) || s < 1 || s > std::ldexp(1.0, 1800)) r.fail("scale " + std::to_string(s) + " is invalid");
  return s;
}

std::size_t get_level(ByteReader& r, const Params& params) {
  auto l = r.get<std::uint32_t>("level");
  if (l > params.max_level())
    r.fail("level " + std::to_string(l) + " is above the parameters' top level " + std::to_string(params.max_level()));
  return l;
}

void put_switch_key(ByteWriter& w, const KeySwitchKey& k, const Params& params) {
  w.put_bytes(k.seed.data(), k.seed.size());
  w.put<std::uint32_t>(static_cast<std::uint32_t>(k.b.size()));
  for (auto& b : k.b) put_poly(w, b, params, params.max_level() + 1);
}

KeySwitchKey get_switch_key(ByteReader& r, const Params& params, std::string_view label) {
  KeySwitchKey k;
  r.get_bytes(k.seed.data(), k.seed.size(), "key seed");
  auto dnum = r.get<std::uint32_t>("digit count");
  if (dnum != params.digit_count())
    r.fail("key has " + std::to_string(dnum) + " digits, the parameters need " + std::to_string(params.digit_count()));
  for (std::uint32_t j = 0; j < dnum; ++j) k.b.push_back(get_poly(r, params, params.max_level() + 1, true, "key part"));
  k.params_id = params.id();
  expand_key_uniform(params, k, label);
  precompute_key(params, k);
  return k;
}

}  // namespace

void detail::unpack_limb(ByteReader& r, const std::uint8_t* src, std::size_t n, int bits, std::uint64_t q,
                         std::uint64_t* x, const char* field) {
  std::size_t bitpos = 0;
  for (std::size_t c = 0; c < n; ++c) {
    u64 v = 0;
    for (int b = 0; b < bits;) {
      const std::size_t byte = bitpos >> 3;
      const int off = static_cast<int>(bitpos & 7);
      const int take = std::min(8 - off, bits - b);
      v |= static_cast<u64>((src[byte] >> off) & ((1u << take) - 1)) << b;
      b += take;
      bitpos += take;
    }
    if (v >= q)
      r.fail(std::string(field) + ": coefficient " + std::to_string(v) + " out of range for prime " + std::to_string(q));
    x[c] = v;
  }
  // Canonical encoding: the padding bits above the last coefficient are zero, so one object
  // has exactly one encoding (and no spare bits can carry anything).
  const int used = static_cast<int>(bitpos & 7);
  if (used != 0 && (src[bitpos >> 3] >> used) != 0)
    r.fail(std::string(field) + ": padding bits after the last coefficient are not zero (non-canonical encoding)");
}

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
  ByteReader r(data, "hemi object");
  char magic[4];
  r.get_bytes(magic, 4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) r.fail("not a hemi object (bad magic)");
  Header h;
  h.version = r.get<std::uint16_t>("format version");
  if (h.version > kFormatVersion)
    r.fail("format version " + std::to_string(h.version) + " is newer than this hemi reads (" +
           std::to_string(kFormatVersion) + ")");
  if (h.version == 0) r.fail("format version 0 is invalid");
  if (h.version < kFormatVersion)
    r.fail("format version " + std::to_string(h.version) + " (64-bit parameter ids, unlabelled seed streams) is " +
           "no longer read; this hemi reads version " + std::to_string(kFormatVersion) +
           ": make the keys, requests and results again");
  auto kind = r.get<std::uint16_t>("kind");
  if (kind < 1 || kind > 8) r.fail("unknown object kind " + std::to_string(kind));
  h.kind = static_cast<ObjectKind>(kind);
  r.get_bytes(h.params_id.data(), h.params_id.size(), "parameter id");
  h.payload_bytes = r.get<std::uint64_t>("payload size");
  if (h.payload_bytes != r.remaining())
    r.fail("payload size says " + std::to_string(h.payload_bytes) + " bytes but " +
           std::to_string(r.remaining()) + " follow (truncated or padded)");
  return h;
}

// ---- params ----

Bytes serialize(const Params& params) {
  Bytes payload;
  ByteWriter w(payload);
  const auto& l = params.literal();
  w.put<std::int32_t>(l.log_n);
  w.put<std::int32_t>(l.log_scale);
  w.put<std::int32_t>(l.security);
  w.put<std::uint8_t>(l.allow_insecure ? 1 : 0);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(l.q_bits.size()));
  for (int b : l.q_bits) w.put<std::int32_t>(b);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(l.p_bits.size()));
  for (int b : l.p_bits) w.put<std::int32_t>(b);
  for (auto& m : params.ctx().qp) w.put<u64>(m.value);
  return with_header(ObjectKind::kParams, params.id(), payload);
}

Params load_params(const Bytes& data) {
  ByteReader r = open(data, ObjectKind::kParams, nullptr);
  const ParamsId id = read_header(data).params_id;
  ParamsLiteral l;
  l.log_n = r.get<std::int32_t>("log_n");
  l.log_scale = r.get<std::int32_t>("log_scale");
  l.security = r.get<std::int32_t>("security");
  const auto insecure = r.get<std::uint8_t>("insecure flag");
  if (insecure > 1) r.fail("insecure flag " + std::to_string(insecure) + " is not 0 or 1 (non-canonical encoding)");
  l.allow_insecure = insecure == 1;
  auto nq = r.get<std::uint32_t>("prime count");
  if (nq == 0 || nq > 64) r.fail("prime count " + std::to_string(nq) + " is invalid");
  for (std::uint32_t i = 0; i < nq; ++i) l.q_bits.push_back(r.get<std::int32_t>("prime size"));
  auto np = r.get<std::uint32_t>("special prime count");
  if (np == 0 || np > 64) r.fail("special prime count " + std::to_string(np) + " is invalid");
  for (std::uint32_t i = 0; i < np; ++i) l.p_bits.push_back(r.get<std::int32_t>("prime size"));
  auto created = Params::create(l);
  if (!created) r.fail("refused: " + created.error());
  Params params = std::move(created).value();
  for (auto& m : params.ctx().qp)
    if (r.get<u64>("prime") != m.value) r.fail("the stored primes differ from the generated ones");
  r.expect_end();
  if (params.id() != id) r.fail("parameter id in the header does not match the parameters");
  return params;
}

// ---- keys ----

namespace {
void check_id(const ParamsId& id, const Params& params, const char* what) {
  if (id != params.id()) throw Error(std::string(what) + ": object from other parameters");
}
}  // namespace

Bytes serialize(const SecretKey& sk, const Params& params) {
  check_id(sk.params_id, params, "serialize secret key");
  Bytes payload;  // a Bytes: wiped when freed, reallocations included
  payload.reserve(4 + (sk.coeffs.size() + 3) / 4);
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(sk.coeffs.size()));
  for (std::size_t c = 0; c < sk.coeffs.size(); c += 4) {
    std::uint8_t b = 0;
    for (std::size_t k = 0; k < 4 && c + k < sk.coeffs.size(); ++k) {
      b |= static_cast<std::uint8_t>(detail::ternary_code(sk.coeffs[c + k]) << (2 * k));
    }
    w.put<std::uint8_t>(b);
  }
  return with_header(ObjectKind::kSecretKey, sk.params_id, payload);
}

SecretKey load_secret_key(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kSecretKey, &params);
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

namespace {
void put_ct_body(ByteWriter& w, const Ciphertext& ct, const Params& params) {
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.polys.size()));
  w.put<double>(ct.scale);
  for (auto& p : ct.polys) put_poly(w, p, params, ct.level + 1);
}

Ciphertext get_ct_body(ByteReader& r, const Params& params) {
  Ciphertext ct;
  ct.level = get_level(r, params);
  auto parts = r.get<std::uint32_t>("part count");
  if (parts < 2 || parts > 3) r.fail("a ciphertext has 2 or 3 parts, not " + std::to_string(parts));
  ct.scale = get_scale(r);
  for (std::uint32_t k = 0; k < parts; ++k) ct.polys.push_back(get_poly(r, params, ct.level + 1, false, "ciphertext part"));
  ct.params_id = params.id();
  return ct;
}
}  // namespace

Bytes serialize(const PublicKey& pk, const Params& params) {
  check_id(pk.ct.params_id, params, "serialize public key");
  Bytes payload;
  ByteWriter w(payload);
  put_ct_body(w, pk.ct, params);
  return with_header(ObjectKind::kPublicKey, params.id(), payload);
}

PublicKey load_public_key(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kPublicKey, &params);
  PublicKey pk{get_ct_body(r, params)};
  r.expect_end();
  if (pk.ct.level != params.max_level() || pk.ct.size() != 2) r.fail("a public key is a 2-part top-level pair");
  return pk;
}

Bytes serialize(const RelinKey& rk, const Params& params) {
  check_id(rk.key.params_id, params, "serialize relinearization key");
  Bytes payload;
  ByteWriter w(payload);
  put_switch_key(w, rk.key, params);
  return with_header(ObjectKind::kRelinKey, params.id(), payload);
}

RelinKey load_relin_key(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kRelinKey, &params);
  RelinKey rk{get_switch_key(r, params, detail::kLabelRelinKeyA)};
  r.expect_end();
  return rk;
}

Bytes serialize(const GaloisKeys& gk, const Params& params) {
  check_id(gk.params_id, params, "serialize Galois keys");
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(gk.keys.size()));
  for (auto& [g, k] : gk.keys) {
    w.put<std::uint32_t>(g);
    put_switch_key(w, k, params);
  }
  return with_header(ObjectKind::kGaloisKeys, params.id(), payload);
}

GaloisKeys load_galois_keys(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kGaloisKeys, &params);
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

Bytes serialize(const Ciphertext& ct, const Params& params) {
  check_id(ct.params_id, params, "serialize ciphertext");
  Bytes payload;
  ByteWriter w(payload);
  put_ct_body(w, ct, params);
  return with_header(ObjectKind::kCiphertext, params.id(), payload);
}

Ciphertext load_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kCiphertext, &params);
  Ciphertext ct = get_ct_body(r, params);
  r.expect_end();
  return ct;
}

Bytes serialize(const SeededCiphertext& ct, const Params& params) {
  check_id(ct.params_id, params, "serialize seeded ciphertext");
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
  w.put<double>(ct.scale);
  w.put_bytes(ct.seed.data(), ct.seed.size());
  put_poly(w, ct.c0, params, ct.level + 1);
  return with_header(ObjectKind::kSeededCiphertext, params.id(), payload);
}

SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kSeededCiphertext, &params);
  SeededCiphertext ct;
  ct.level = get_level(r, params);
  ct.scale = get_scale(r);
  r.get_bytes(ct.seed.data(), ct.seed.size(), "seed");
  ct.c0 = get_poly(r, params, ct.level + 1, false, "ciphertext part");
  ct.params_id = params.id();
  r.expect_end();
  return ct;
}

Bytes serialize(const Plaintext& pt, const Params& params) {
  check_id(pt.params_id, params, "serialize plaintext");
  Bytes payload;
  ByteWriter w(payload);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(pt.level));
  w.put<double>(pt.scale);
  put_poly(w, pt.poly, params, pt.level + 1);
  return with_header(ObjectKind::kPlaintext, params.id(), payload);
}

Plaintext load_plaintext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kPlaintext, &params);
  Plaintext pt;
  pt.level = get_level(r, params);
  pt.scale = get_scale(r);
  pt.poly = get_poly(r, params, pt.level + 1, false, "plaintext");
  pt.params_id = params.id();
  r.expect_end();
  return pt;
}

}  // namespace hemi::ckks
