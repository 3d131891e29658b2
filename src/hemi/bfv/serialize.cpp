#include "hemi/bfv/serialize.h"


namespace hemi::bfv {

using math::u64;

namespace {

constexpr std::uint32_t kMaxPrimes = 64;

template <class Body>
Bytes write(ObjectKind kind, const Params& params, Body&& body) {
  return ring::detail::write_object(kFormatVersion, static_cast<std::uint16_t>(kind), params.id(), body);
}

ByteReader open(const Bytes& data, ObjectKind kind, const Params* params) {
  const Header h = read_header(data);
  return ring::detail::open_payload(data, std::string("BFV ") + kind_name(kind), h.kind == kind,
                                    std::string("the data holds a BFV ") + kind_name(h.kind) + ", not a " + kind_name(kind),
                                    h.params_id, params ? &params->id() : nullptr, params ? params->id_hex() : "");
}

// Ciphertext limbs at the primes' bit lengths, plaintexts at t's (ring/serialize.h).
void put_poly(ByteWriter& w, const RnsPoly& p, const Params& params) {
  ring::detail::put_poly(w, p, params.ring(), p.limbs());
}

RnsPoly get_poly(ByteReader& r, const Params& params, std::size_t level, const char* field) {
  return ring::detail::get_poly(r, params.ring(), level + 1, false, field);
}

std::size_t get_level(ByteReader& r, const Params& params) { return ring::detail::get_level(r, params.ring()); }

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
  return ring::detail::read_header_as<ObjectKind>(data, "BFV object", [](ByteReader& r, std::uint16_t version, std::uint16_t kind) {
    // The kind first: a CKKS object (whose format has its own version) is named as such.
    if (kind < 33 || kind > 36) r.fail("object kind " + std::to_string(kind) + " is not a BFV object");
    if (version == 0 || version > kFormatVersion)
      r.fail("format version " + std::to_string(version) + " is not supported (this build reads up to " +
             std::to_string(kFormatVersion) + ")");
  });
}

Bytes serialize(const Params& params) {
  const ParamsLiteral& l = params.literal();
  return write(ObjectKind::kParams, params, [&](ByteWriter& w) {
    w.put<std::int32_t>(l.log_n);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(l.q_bits.size()));
    for (int b : l.q_bits) w.put<std::int32_t>(b);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(l.p_bits.size()));
    for (int b : l.p_bits) w.put<std::int32_t>(b);
    w.put<std::uint64_t>(params.t().value);  // the chosen t, explicit
    w.put<std::int32_t>(l.security);
    w.put<std::uint8_t>(l.allow_insecure ? 1 : 0);
  });
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
    throw Error("BFV parameter set: the id in the header (" + ring::to_hex(h.params_id) +
                ") does not match the parameters (" + p.value().id_hex() + ")");
  return p.value();
}

Bytes serialize(const Ciphertext& ct, const Params& params) {
  if (ct.params_id != params.id()) throw Error("serialize ciphertext: ciphertext from other parameters");
  if (ct.level > params.max_level() || ct.size() < 2 || ct.size() > 3)
    throw Error("serialize ciphertext: invalid level or part count");
  for (const auto& p : ct.polys) check_shape(params, p, ct.level, "ciphertext");
  return write(ObjectKind::kCiphertext, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.size()));
    for (const auto& p : ct.polys) put_poly(w, p, params);
  });
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
  return write(ObjectKind::kSeededCiphertext, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
    w.put_bytes(ct.seed.data(), ct.seed.size());
    put_poly(w, ct.c0, params);
  });
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
  return write(ObjectKind::kPlaintext, params, [&](ByteWriter& w) {
    ring::detail::pack_limb(w, pt.coeffs.data(), pt.coeffs.size(), params.t().bits);
  });
}

Plaintext load_plaintext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kPlaintext, &params);
  Plaintext pt;
  pt.coeffs.resize(params.n());
  const std::uint8_t* src = r.take(ring::detail::packed_limb_bytes(params.n(), params.t().bits), "plaintext");
  ring::detail::unpack_limb(r, src, params.n(), params.t().bits, params.t().value, pt.coeffs.data(), "plaintext");
  r.expect_end();
  pt.params_id = params.id();
  return pt;
}

}  // namespace hemi::bfv
