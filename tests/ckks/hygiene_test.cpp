// Cryptographic hygiene of the ckks layer: branch-free handling of secret coefficients
// (checked against the former branching code), 256-bit parameter ids and the format version
// that carries them, labelled seed streams, canonical encodings.
#include <gtest/gtest.h>

#include <random>

#include "hemi/ring/sampling.h"
#include "hemi/ckks/serialize.h"
#include "test_util.h"

namespace hemi::ckks {
namespace {

namespace detail = ring::detail;

using testing::Bundle;

Bundle& bundle() {
  static Bundle b(testing::param_cases()[0].literal, {1});
  return b;
}

// ---- constant time: the masked code equals the former branching code (the samplers
// themselves: tests/ring) ----

std::uint8_t ternary_code_branching(std::int8_t v) { return v == 0 ? 0 : (v == 1 ? 1 : 2); }

TEST(ConstantTime, SecretKeyCodesEqualTheBranchingVersion) {
  for (int v : {-1, 0, 1}) {
    const auto code = detail::ternary_code(static_cast<std::int8_t>(v));
    EXPECT_EQ(code, ternary_code_branching(static_cast<std::int8_t>(v)));
    EXPECT_EQ(detail::ternary_from_code(code), v);
  }
  // A whole serialized key equals the one the branching encoder would write.
  const Params& p = bundle().params;
  KeyGenerator kg(p, Seed{5});
  SecretKey sk = kg.secret_key();
  const Bytes bytes = serialize(sk, p);
  ASSERT_EQ(bytes.size(), kHeaderBytes + 4 + (sk.coeffs.size() + 3) / 4);
  for (std::size_t c = 0; c < sk.coeffs.size(); c += 4) {
    std::uint8_t b = 0;
    for (std::size_t k = 0; k < 4; ++k) b |= static_cast<std::uint8_t>(ternary_code_branching(sk.coeffs[c + k]) << (2 * k));
    ASSERT_EQ(bytes[kHeaderBytes + 4 + c / 4], b) << c;
  }
  EXPECT_EQ(load_secret_key(bytes, p).coeffs, sk.coeffs);
}

TEST(ConstantTime, SecretKeyCodeThreeIsRefusedAfterTheWholeKeyIsRead) {
  const Params& p = bundle().params;
  Bytes bytes = serialize(bundle().sk, p);
  bytes.back() |= 0xc0;  // the last coefficient's code becomes 3
  try {
    load_secret_key(bytes, p);
    FAIL() << "a code 3 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not ternary"), std::string::npos) << e.what();
  }
}

// ---- parameter ids and the format version ----

TEST(ParamsId, Is256BitsAndTheHeaderCarriesAllOfIt) {
  const Params& p = bundle().params;
  EXPECT_EQ(p.id().size(), 32u);
  EXPECT_EQ(p.id_hex().size(), 64u);
  EXPECT_EQ(p.id_hex(), to_hex(p.id()));
  const Bytes b = serialize(bundle().pk, p);
  EXPECT_EQ(kHeaderBytes, 48u);
  EXPECT_TRUE(std::equal(p.id().begin(), p.id().end(), b.begin() + 8));
  EXPECT_EQ(read_header(b).params_id, p.id());
  // Differing in the last byte only is still "other parameters".
  Bytes other = b;
  other[8 + 31] ^= 1;
  EXPECT_THROW(load_public_key(other, p), Error);
}

TEST(ParamsId, SizesPredictedByParamsMatchTheSerializedObjects) {
  auto& b = bundle();
  const Params& p = b.params;
  EXPECT_EQ(serialize(b.encrypt({1.0}, p.max_level()), p).size(), p.ciphertext_bytes(p.max_level()));
  EXPECT_EQ(serialize(b.rk, p).size(), p.relin_key_bytes());
  SymmetricEncryptor sym(p, b.sk, Seed{4});
  EXPECT_EQ(serialize(sym.encrypt_seeded(b.encoder.encode(std::vector<double>{1.0}, 1)), p).size(),
            p.seeded_ciphertext_bytes(1));
}

TEST(FormatVersion, Version1IsRefusedWithAClearMessage) {
  Bytes b = serialize(bundle().pk, bundle().params);
  b[4] = 1;
  b[5] = 0;
  try {
    read_header(b);
    FAIL() << "version 1 was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("format version 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no longer read"), std::string::npos) << msg;
  }
  b[4] = 3;  // a later version
  EXPECT_THROW(read_header(b), Error);
}

// ---- labelled seed streams ----

TEST(SeedStreams, SeededCiphertextExpandsWithItsLabel) {
  auto& b = bundle();
  const Params& p = b.params;
  SymmetricEncryptor sym(p, b.sk, Seed{4});
  const SeededCiphertext sct = sym.encrypt_seeded(b.encoder.encode(std::vector<double>{0.5}, 1));
  const Ciphertext ct = SymmetricEncryptor::expand(p, sct);
  Prng labelled(sct.seed, detail::kLabelSeededCiphertextA), plain(sct.seed);
  const RnsPoly want = detail::sample_uniform(labelled, p.ctx(), 2, false);
  const RnsPoly unlabelled = detail::sample_uniform(plain, p.ctx(), 2, false);
  EXPECT_TRUE(std::equal(want.data(), want.data() + want.size(), ct.polys[1].data()));
  EXPECT_FALSE(std::equal(unlabelled.data(), unlabelled.data() + unlabelled.size(), ct.polys[1].data()));
}

TEST(SeedStreams, RelinAndGaloisKeysUseDifferentLabels) {
  const Params& p = bundle().params;
  KeySwitchKey k;
  k.seed = Seed{42};
  k.b.resize(p.digit_count());
  expand_key_uniform(p, k, detail::kLabelRelinKeyA);
  const RnsPoly relin_a = k.a[0];
  expand_key_uniform(p, k, detail::kLabelGaloisKeyA);
  EXPECT_FALSE(std::equal(relin_a.data(), relin_a.data() + relin_a.size(), k.a[0].data()));
  // The loaders expand with the right label: a round trip decrypts a relinearized product.
  auto& b = bundle();
  const RelinKey rk = load_relin_key(serialize(b.rk, p), p);
  EXPECT_TRUE(std::equal(rk.key.a[0].data(), rk.key.a[0].data() + rk.key.a[0].size(), b.rk.key.a[0].data()));
  const GaloisKeys gk = load_galois_keys(serialize(b.gk, p), p);
  for (auto& [g, key] : b.gk.keys)
    EXPECT_TRUE(std::equal(key.a[0].data(), key.a[0].data() + key.a[0].size(), gk.keys.at(g).a[0].data()));
}

// ---- canonical encodings ----

TEST(CanonicalEncoding, InsecureFlagMustBeZeroOrOne) {
  const Params& p = bundle().params;
  Bytes b = serialize(p);
  const std::size_t flag = kHeaderBytes + 12;  // after log_n, log_scale, security
  ASSERT_EQ(b[flag], 1);  // the INSECURE test set
  EXPECT_EQ(load_params(b).id(), p.id());
  b[flag] = 2;
  try {
    load_params(b);
    FAIL() << "insecure flag 2 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-canonical"), std::string::npos) << e.what();
  }
}

// ---- wiping ----

TEST(Wipe, DecryptionOfAThreePartCiphertextIsUnchanged) {
  auto& b = bundle();
  auto x = b.random_values(8, 1.0, 3);
  auto ct = b.encrypt(x, 2);
  auto sq = b.evaluator.multiply(ct, ct);  // three parts: decryption uses s^2 and c2 s^2
  ASSERT_EQ(sq.size(), 3u);
  auto got = b.encoder.decode(b.decryptor.decrypt(sq));
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], x[i] * x[i], 1e-4);
}

}  // namespace
}  // namespace hemi::ckks
