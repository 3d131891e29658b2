#include "hemi/ckks/serialize.h"

#include <cmath>

namespace hemi::ckks {

using math::u64;
using ring::detail::get_level;
using ring::detail::get_poly;
using ring::detail::put_poly;

namespace {

template <class Body>
Bytes write(ObjectKind kind, const Params& params, Body&& body) {
  return ring::detail::write_object(kFormatVersion, static_cast<std::uint16_t>(kind), params.id(), body);
}

ByteReader open(const Bytes& data, ObjectKind kind, const Params& params) {
  return ring::detail::open(data, kind, &params.id(), params.id_hex());
}

double get_scale(ByteReader& r) {
  double s = r.get<double>("scale");
  if (!std::isfinite(s) || s < 1 || s > std::ldexp(1.0, 1800)) r.fail("scale " + std::to_string(s) + " is invalid");
  return s;
}

void check_id(const ParamsId& id, const Params& params, const char* what) {
  if (id != params.id()) throw Error(std::string(what) + ": object from other parameters");
}

}  // namespace

// ---- params ----

Bytes serialize(const Params& params) {
  return write(ObjectKind::kParams, params, [&](ByteWriter& w) {
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
  });
}

Params load_params(const Bytes& data) {
  ByteReader r = ring::detail::open(data, ObjectKind::kParams, nullptr, "");
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

// ---- ciphertexts and plaintexts ----

Bytes serialize(const Ciphertext& ct, const Params& params) {
  check_id(ct.params_id, params, "serialize ciphertext");
  return write(ObjectKind::kCiphertext, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.polys.size()));
    w.put<double>(ct.scale);
    for (auto& p : ct.polys) put_poly(w, p, params, ct.level + 1);
  });
}

Ciphertext load_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kCiphertext, params);
  Ciphertext ct;
  ct.level = get_level(r, params);
  auto parts = r.get<std::uint32_t>("part count");
  if (parts < 2 || parts > 3) r.fail("a ciphertext has 2 or 3 parts, not " + std::to_string(parts));
  ct.scale = get_scale(r);
  for (std::uint32_t k = 0; k < parts; ++k) ct.polys.push_back(get_poly(r, params, ct.level + 1, false, "ciphertext part"));
  ct.params_id = params.id();
  r.expect_end();
  return ct;
}

Bytes serialize(const SeededCiphertext& ct, const Params& params) {
  check_id(ct.params_id, params, "serialize seeded ciphertext");
  return write(ObjectKind::kSeededCiphertext, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(ct.level));
    w.put<double>(ct.scale);
    w.put_bytes(ct.seed.data(), ct.seed.size());
    put_poly(w, ct.c0, params, ct.level + 1);
  });
}

SeededCiphertext load_seeded_ciphertext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kSeededCiphertext, params);
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
  return write(ObjectKind::kPlaintext, params, [&](ByteWriter& w) {
    w.put<std::uint32_t>(static_cast<std::uint32_t>(pt.level));
    w.put<double>(pt.scale);
    put_poly(w, pt.poly, params, pt.level + 1);
  });
}

Plaintext load_plaintext(const Bytes& data, const Params& params) {
  ByteReader r = open(data, ObjectKind::kPlaintext, params);
  Plaintext pt;
  pt.level = get_level(r, params);
  pt.scale = get_scale(r);
  pt.poly = get_poly(r, params, pt.level + 1, false, "plaintext");
  pt.params_id = params.id();
  r.expect_end();
  return pt;
}

}  // namespace hemi::ckks
