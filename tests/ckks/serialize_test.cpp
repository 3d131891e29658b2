#include "hemi/ckks/serialize.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hemi::ckks {
namespace {

using testing::Bundle;

Bundle& bundle() {
  static Bundle b(testing::param_cases()[1].literal, {1, 3});
  return b;
}

bool same_poly(const RnsPoly& a, const RnsPoly& b) {
  return a.limbs() == b.limbs() && a.n() == b.n() && std::equal(a.data(), a.data() + a.size(), b.data());
}
bool same_ct(const Ciphertext& a, const Ciphertext& b) {
  if (a.level != b.level || a.scale != b.scale || a.params_id != b.params_id || a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!same_poly(a.polys[k], b.polys[k])) return false;
  return true;
}
bool same_polys(const std::vector<RnsPoly>& a, const std::vector<RnsPoly>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!same_poly(a[k], b[k])) return false;
  return true;
}
bool same_key(const KeySwitchKey& a, const KeySwitchKey& b) {
  if (a.b.size() != b.b.size() || a.seed != b.seed) return false;
  for (std::size_t j = 0; j < a.b.size(); ++j)
    if (!same_poly(a.b[j], b.b[j]) || !same_poly(a.a[j], b.a[j])) return false;
  return true;
}

TEST(Serialize, RoundTripEveryType) {
  auto& b = bundle();
  const Params& p = b.params;
  EXPECT_EQ(load_params(serialize(p)).id(), p.id());
  auto sk = load_secret_key(serialize(b.sk, p), p);
  EXPECT_EQ(sk.coeffs, b.sk.coeffs);
  EXPECT_TRUE(same_poly(sk.poly, b.sk.poly));
  EXPECT_TRUE(same_polys(load_public_key(serialize(b.pk, p), p).polys, b.pk.polys));
  EXPECT_TRUE(same_key(load_relin_key(serialize(b.rk, p), p).key, b.rk.key));
  auto gk = load_galois_keys(serialize(b.gk, p), p);
  ASSERT_EQ(gk.keys.size(), b.gk.keys.size());
  for (auto& [g, k] : b.gk.keys) EXPECT_TRUE(same_key(gk.keys.at(g), k));
  auto x = b.random_values(16, 1.0, 1);
  auto ct = b.encrypt(x, 2);
  EXPECT_TRUE(same_ct(load_ciphertext(serialize(ct, p), p), ct));
  auto c3 = b.evaluator.multiply(ct, ct);
  EXPECT_TRUE(same_ct(load_ciphertext(serialize(c3, p), p), c3));
  auto pt = b.encoder.encode(x, 1);
  auto pt2 = load_plaintext(serialize(pt, p), p);
  EXPECT_TRUE(same_poly(pt.poly, pt2.poly));
  EXPECT_EQ(pt.scale, pt2.scale);
  SymmetricEncryptor sym(p, b.sk, Seed{4});
  auto seeded = sym.encrypt_seeded(b.encoder.encode(x, p.max_level()));
  auto bytes = serialize(seeded, p);
  auto full = serialize(SymmetricEncryptor::expand(p, seeded), p);
  EXPECT_LT(bytes.size() * 2, full.size() + 200);  // about half the size
  auto back = load_seeded_ciphertext(bytes, p);
  EXPECT_TRUE(same_ct(SymmetricEncryptor::expand(p, back), SymmetricEncryptor::expand(p, seeded)));
  // loaded keys work: relinearize and rotate with them
  auto prod = b.evaluator.multiply(ct, ct);
  b.evaluator.relinearize_inplace(prod, load_relin_key(serialize(b.rk, p), p));
  auto rot = b.evaluator.rotate(ct, 3, gk);
  auto got = b.decrypt(rot);
  EXPECT_NEAR(got[0], x[3], 1e-4);
}

TEST(Serialize, PackedSizesMatchTheParamsEstimate) {
  auto& b = bundle();
  const Params& p = b.params;
  auto ct = b.encrypt(b.random_values(4, 1.0, 2), p.max_level());
  EXPECT_EQ(serialize(ct, p).size(), p.ciphertext_bytes(p.max_level()));
  SymmetricEncryptor sym(p, b.sk, Seed{9});
  auto seeded = sym.encrypt_seeded(b.encoder.encode(std::vector<double>{1.0}, 1));
  EXPECT_EQ(serialize(seeded, p).size(), p.seeded_ciphertext_bytes(1));
  EXPECT_EQ(serialize(b.rk, p).size(), p.relin_key_bytes());
  // a set of two keys: header + count + 2 * (element + key)
  EXPECT_EQ(serialize(b.gk, p).size(), kHeaderBytes + 4 + b.gk.keys.size() * p.galois_key_bytes());
}

template <typename F>
void expect_load_error(F&& f, const std::string& part) {
  try {
    f();
    FAIL() << "expected an error containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Serialize, MalformedInputIsRefusedWithAClearError) {
  auto& b = bundle();
  const Params& p = b.params;
  auto ct = b.encrypt(b.random_values(4, 1.0, 3), 1);
  Bytes good = serialize(ct, p);
  // truncated at many points: never a crash, always an error
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{10}, kHeaderBytes, kHeaderBytes + 5, good.size() - 1}) {
    Bytes t(good.begin(), good.begin() + static_cast<long>(cut));
    EXPECT_THROW(load_ciphertext(t, p), Error) << cut;
  }
  Bytes bad = good;
  bad[0] = 'X';
  expect_load_error([&] { load_ciphertext(bad, p); }, "bad magic");
  bad = good;
  bad[4] = 9;  // version 9
  expect_load_error([&] { load_ciphertext(bad, p); }, "format version 9 is newer");
  expect_load_error([&] { load_relin_key(good, p); }, "holds a ciphertext, not a relinearization key");
  Bundle other(testing::param_cases()[0].literal, {1});
  expect_load_error([&] { load_ciphertext(good, other.params); }, "made under other parameters");
  // a coefficient out of range: set the first packed limb's bits all to one
  bad = good;
  for (std::size_t i = kHeaderBytes + 16; i < kHeaderBytes + 32; ++i) bad[i] = 0xff;
  expect_load_error([&] { load_ciphertext(bad, p); }, "out of range");
  // absurd level
  bad = good;
  bad[kHeaderBytes] = 77;
  expect_load_error([&] { load_ciphertext(bad, p); }, "level 77 is above");
  // garbled scale
  bad = good;
  for (int i = 0; i < 8; ++i) bad[kHeaderBytes + 8 + i] = 0xff;  // NaN
  expect_load_error([&] { load_ciphertext(bad, p); }, "scale");
  // trailing garbage with a consistent header size is refused by the payload size
  bad = good;
  bad.push_back(0);
  expect_load_error([&] { load_ciphertext(bad, p); }, "payload size");
  // garbled secret key
  Bytes skb = serialize(b.sk, p);
  skb[kHeaderBytes + 4] = 0xff;
  expect_load_error([&] { load_secret_key(skb, p); }, "not ternary");
  // parameters whose header id does not match
  Bytes pb = serialize(p);
  pb[8] ^= 1;
  expect_load_error([&] { load_params(pb); }, "does not match");
  // random bytes
  std::mt19937_64 rng(5);
  for (int rep = 0; rep < 200; ++rep) {
    Bytes r(rng() % 300);
    for (auto& x : r) x = static_cast<std::uint8_t>(rng());
    if (r.size() > 4) std::memcpy(r.data(), "HEMI", 4);
    EXPECT_THROW(load_ciphertext(r, p), Error);
    EXPECT_THROW(load_galois_keys(r, p), Error);
    EXPECT_THROW(load_params(r), Error);
  }
}

}  // namespace
}  // namespace hemi::ckks
