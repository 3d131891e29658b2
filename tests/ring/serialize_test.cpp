// The serialization discipline's pieces (header, bit packing) and the keys' formats: round
// trips, known answers from before the ring layer existed (byte compatibility), and a negative
// test per refusal.
#include "hemi/ring/serialize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "support/error_of.h"
#include "test_util.h"

namespace hemi::ring {
namespace {

using test_support::error_of;
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Packing, RoundTripsAtEveryWidthWithZeroPadding) {
  std::mt19937_64 rng(1);
  for (int bits = 2; bits <= 61; ++bits)
    for (std::size_t n : {1u, 3u, 7u, 64u, 1001u}) {
      const u64 q = (u64{1} << bits) - 1;
      std::vector<u64> x(n), y(n);
      for (auto& v : x) v = rng() % q;
      Bytes b;
      ByteWriter w(b);
      detail::pack_limb(w, x.data(), n, bits);
      ASSERT_EQ(b.size(), detail::packed_limb_bytes(n, bits));
      ByteReader r(b, "limb");
      detail::unpack_limb(r, b.data(), n, bits, q, y.data(), "limb");
      ASSERT_EQ(x, y) << bits << " bits, n = " << n;
    }
}

TEST(Packing, PaddingBitsOfAPackedLimbMustBeZero) {
  // 3 coefficients of 5 bits: 15 bits in 2 bytes, the top bit of the second byte is padding.
  const std::uint8_t good[2] = {0x41, 0x0c};  // 1, 2, 3
  std::uint64_t out[3];
  ByteReader r(good, 2, "test limb");
  detail::unpack_limb(r, good, 3, 5, 31, out, "limb");
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 2u);
  EXPECT_EQ(out[2], 3u);
  const std::uint8_t bad[2] = {0x41, 0x8c};
  ByteReader r2(bad, 2, "test limb");
  EXPECT_TRUE(contains(error_of([&] { detail::unpack_limb(r2, bad, 3, 5, 31, out, "limb"); }), "padding bits"));
  const std::uint8_t big[2] = {0x5f, 0x0c};  // first coefficient 31 >= q = 31
  ByteReader r3(big, 2, "test limb");
  EXPECT_TRUE(contains(error_of([&] { detail::unpack_limb(r3, big, 3, 5, 31, out, "limb"); }),
                       "coefficient 31 is out of range for modulus 31"));
}

struct Keys {
  SecretKey sk;
  PublicKey pk;
  RelinKey rk;
  GaloisKeys gk;
};
const Keys& keys() {
  static const Keys k = [] {
    KeyGenerator kg(testing::ring_params(), Seed{8});
    Keys k;
    k.sk = kg.secret_key();
    k.pk = kg.public_key(k.sk);
    k.rk = kg.relin_key(k.sk);
    k.gk = kg.galois_keys(k.sk, {1, -3}, true);
    return k;
  }();
  return k;
}

bool same(const RnsPoly& a, const RnsPoly& b) {
  return a.limbs() == b.limbs() && a.n() == b.n() && std::equal(a.data(), a.data() + a.size(), b.data());
}
bool same(const KeySwitchKey& a, const KeySwitchKey& b) {
  if (a.seed != b.seed || a.b.size() != b.b.size() || a.params_id != b.params_id) return false;
  for (std::size_t j = 0; j < a.b.size(); ++j)
    if (!same(a.b[j], b.b[j]) || !same(a.a[j], b.a[j]) || !same(a.b_shoup[j], b.b_shoup[j])) return false;
  return true;
}

TEST(KeyFormats, RoundTrips) {
  const Params& p = testing::ring_params();
  const Keys& k = keys();
  SecretKey sk = load_secret_key(serialize(k.sk, p), p);
  EXPECT_EQ(sk.coeffs, k.sk.coeffs);
  EXPECT_TRUE(same(sk.poly, k.sk.poly));
  PublicKey pk = load_public_key(serialize(k.pk, p), p);
  ASSERT_EQ(pk.polys.size(), 2u);
  EXPECT_TRUE(same(pk.polys[0], k.pk.polys[0]) && same(pk.polys[1], k.pk.polys[1]));
  EXPECT_TRUE(same(load_relin_key(serialize(k.rk, p), p).key, k.rk.key));
  GaloisKeys gk = load_galois_keys(serialize(k.gk, p), p);
  ASSERT_EQ(gk.keys.size(), k.gk.keys.size());
  for (auto& [g, key] : k.gk.keys) EXPECT_TRUE(same(gk.keys.at(g), key)) << g;
  EXPECT_EQ(serialize(k.rk, p).size(), p.relin_key_bytes());
}

// The keys a BFV user made before the ring layer existed (bfv::KeyGenerator with Seed{8} on
// this ring, main at 715204e) serialize to the same bytes now.
TEST(KeyFormats, BytesAreTheSameAsBeforeTheRingLayer) {
  const Params& p = testing::ring_params();
  EXPECT_EQ(testing::sha_prefix(serialize(keys().sk, p)), "bee48e5db7b0b463");
  EXPECT_EQ(testing::sha_prefix(serialize(keys().pk, p)), "d45dafbb0dd6d635");
}

TEST(Header, RefusalsNameTheProblem) {
  const Params& p = testing::ring_params();
  const Bytes good = serialize(keys().pk, p);
  Bytes x = good;
  x[0] = 'X';
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "bad magic"));
  x = good;
  x[4] = 3;  // version 3
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "format version 3 is newer"));
  x[4] = 1;
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "format version 1 (64-bit parameter ids"));
  x[4] = 0;
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "format version 0 is invalid"));
  x = good;
  x[6] = 34;  // a BFV kind
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "unknown object kind 34"));
  x = good;
  x.push_back(0);
  EXPECT_TRUE(contains(error_of([&] { read_header(x); }), "truncated or padded"));
  EXPECT_TRUE(contains(error_of([&] { load_relin_key(good, p); }), "holds a public key, not a relinearization key"));
  // A key of other parameters.
  const Params other = Params::create(RingLiteral{12, {40, 40}, {41}, 0, true}).value();
  EXPECT_TRUE(contains(error_of([&] { load_public_key(good, other); }), "made under other parameters"));
  EXPECT_TRUE(contains(error_of([&] { serialize(keys().pk, other); }), "object from other parameters"));
}

TEST(KeyFormats, Refusals) {
  const Params& p = testing::ring_params();
  // A public key whose scale field is not 1.
  Bytes x = serialize(keys().pk, p);
  const double two = 2.0;
  std::memcpy(x.data() + kHeaderBytes + 8, &two, 8);
  EXPECT_TRUE(contains(error_of([&] { load_public_key(x, p); }), "scale field is 1"));
  // A public key below the top level.
  x = serialize(keys().pk, p);
  x[kHeaderBytes] = 5;
  EXPECT_TRUE(contains(error_of([&] { load_public_key(x, p); }), "level 5 is above"));
  // A Galois key set with an even element.
  x = serialize(keys().gk, p);
  const std::uint32_t even = 4;
  std::memcpy(x.data() + kHeaderBytes + 4, &even, 4);
  EXPECT_TRUE(contains(error_of([&] { load_galois_keys(x, p); }), "Galois element 4 is invalid"));
  // A relinearization key with a wrong digit count.
  x = serialize(keys().rk, p);
  const std::uint32_t digits = 7;
  std::memcpy(x.data() + kHeaderBytes + 32, &digits, 4);
  EXPECT_TRUE(contains(error_of([&] { load_relin_key(x, p); }), "key has 7 digits"));
  // A secret key with a code 3, refused after the whole key is read.
  x = serialize(keys().sk, p);
  x.back() |= 0xc0;
  EXPECT_TRUE(contains(error_of([&] { load_secret_key(x, p); }), "not ternary"));
}

}  // namespace
}  // namespace hemi::ring
