// Round trips of every BFV object (and of ring keys under BFV parameters), and a negative test
// for every rejection of the loaders.
#include <gtest/gtest.h>

#include "hemi/bfv/serialize.h"
#include "hemi/ring/serialize.h"
#include "support/error_of.h"
#include "test_util.h"

namespace hemi::bfv {
namespace {

using test_support::error_of;
using testing::Bundle;
using testing::default_bundle;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool same(const RnsPoly& a, const RnsPoly& b) {
  return a.n() == b.n() && a.limbs() == b.limbs() && std::equal(a.data(), a.data() + a.size(), b.data());
}

TEST(BfvSerialize, RoundTrips) {
  Bundle& b = default_bundle();
  const Bytes pb = serialize(b.params);
  const Params p2 = load_params(pb);
  EXPECT_EQ(p2.id(), b.params.id());
  EXPECT_EQ(p2.t().value, b.params.t().value);

  const auto v = b.random_values(1);
  const Ciphertext ct = b.encrypt(v);
  const Bytes cb = serialize(ct, b.params);
  EXPECT_EQ(cb.size(), b.params.ciphertext_bytes(ct.level));
  const Ciphertext ct2 = load_ciphertext(cb, b.params);
  ASSERT_EQ(ct2.size(), 2u);
  EXPECT_TRUE(same(ct2.polys[0], ct.polys[0]) && same(ct2.polys[1], ct.polys[1]));
  EXPECT_EQ(b.decrypt(ct2), v);

  Ciphertext three = b.evaluator.multiply(ct, ct);
  b.evaluator.mod_switch_to_inplace(three, 1);
  const Ciphertext three2 = load_ciphertext(serialize(three, b.params), b.params);
  EXPECT_EQ(three2.level, 1u);
  EXPECT_EQ(b.decrypt(three2), b.decrypt(three));

  SymmetricEncryptor sym(b.params, b.sk, Seed{9});
  const SeededCiphertext s = sym.encrypt_seeded(b.encoder.encode(v));
  const Bytes sb = serialize(s, b.params);
  EXPECT_EQ(sb.size(), b.params.seeded_ciphertext_bytes(s.level));
  EXPECT_LT(sb.size(), cb.size() / 2 + 64);  // half size
  EXPECT_EQ(b.decrypt(SymmetricEncryptor::expand(b.params, load_seeded_ciphertext(sb, b.params))), v);

  const Plaintext pt = b.encoder.encode(v);
  EXPECT_EQ(load_plaintext(serialize(pt, b.params), b.params).coeffs, pt.coeffs);

  // Keys are ring keys and go through the ring layer's format.
  const Bytes rkb = ring::serialize(b.rk, b.params.ring());
  const RelinKey rk2 = ring::load_relin_key(rkb, b.params.ring());
  const Ciphertext sq = b.evaluator.multiply_relin(ct, ct, rk2);
  EXPECT_EQ(b.decrypt(sq), b.decrypt(b.evaluator.multiply_relin(ct, ct, b.rk)));
}

TEST(BfvSerialize, PackingMatchesABitByBitOracle) {
  // The plaintext payload is the coefficients packed little-endian at t's bit width; the
  // word-at-a-time packer must give exactly the bytes of this bit-by-bit reference.
  Bundle& b = default_bundle();
  const Plaintext pt = b.encoder.encode(b.random_values(3));
  const Bytes bytes = serialize(pt, b.params);
  const int bits = b.params.t().bits;
  std::vector<std::uint8_t> want((pt.coeffs.size() * bits + 7) / 8, 0);
  for (std::size_t c = 0; c < pt.coeffs.size(); ++c)
    for (int k = 0; k < bits; ++k)
      if ((pt.coeffs[c] >> k) & 1) {
        const std::size_t bit = c * bits + k;
        want[bit / 8] |= static_cast<std::uint8_t>(1u << (bit % 8));
      }
  ASSERT_EQ(bytes.size(), kHeaderBytes + want.size());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), bytes.begin() + static_cast<long>(kHeaderBytes)));
}

TEST(BfvSerialize, Rejections) {
  Bundle& b = default_bundle();
  const Ciphertext ct = b.encrypt(b.random_values(2));
  const Bytes good = serialize(ct, b.params);
  auto load = [&](const Bytes& data) { return error_of([&] { load_ciphertext(data, b.params); }); };

  Bytes x = good;
  x[0] = 'X';
  EXPECT_TRUE(contains(load(x), "bad magic"));
  x = good;
  x[4] = 2;  // format version 2
  EXPECT_TRUE(contains(load(x), "format version 2 is not supported"));
  x = good;
  x[4] = 0;
  EXPECT_TRUE(contains(load(x), "format version 0 is not supported"));
  x = good;
  x[6] = 6;  // the CKKS ciphertext kind
  EXPECT_TRUE(contains(load(x), "object kind 6 is not a BFV object"));
  x = good;
  x[6] = 36;
  EXPECT_TRUE(contains(load(x), "holds a BFV plaintext, not a ciphertext"));
  x = good;
  x[8] ^= 1;
  EXPECT_TRUE(contains(load(x), "made under other parameters"));
  x = good;
  x.pop_back();
  EXPECT_TRUE(contains(load(x), "payload size"));
  x = Bytes(good.begin(), good.begin() + 10);
  EXPECT_TRUE(contains(load(x), "truncated"));
  x = good;
  x[kHeaderBytes] = 7;  // level 7
  EXPECT_TRUE(contains(load(x), "level 7 is above the parameters' top level 3"));
  x = good;
  x[kHeaderBytes + 4] = 4;  // 4 parts
  EXPECT_TRUE(contains(load(x), "part count 4 is not 2 or 3"));
  x = good;
  x[kHeaderBytes + 4] = 3;  // claims 3 parts, holds 2
  EXPECT_TRUE(contains(load(x), "truncated while reading ciphertext part"));
  x = good;
  for (std::size_t k = 0; k < 6; ++k) x[kHeaderBytes + 8 + k] = 0xff;  // first coefficient all ones: 2^43 - 1 >= q_0
  EXPECT_TRUE(contains(load(x), "out of range for modulus"));
  // Trailing bytes, with a payload size that counts them.
  x = good;
  x.push_back(0);
  const std::uint64_t size = x.size() - kHeaderBytes;
  std::memcpy(x.data() + 8 + ring::kParamsIdBytes, &size, 8);
  EXPECT_TRUE(contains(load(x), "1 unexpected trailing bytes"));

  // A CKKS loader refuses a BFV object, and the BFV loader a CKKS one.
  const std::string ring_refusal = error_of([&] { ring::read_header(good); });
  EXPECT_NE(ring_refusal, "(no error)");
  EXPECT_TRUE(contains(ring_refusal, "kind") || contains(ring_refusal, "version")) << ring_refusal;
  const Bytes ring_pk = ring::serialize(b.pk, b.params.ring());
  EXPECT_TRUE(contains(load(ring_pk), "object kind 3 is not a BFV object"));

  // Parameters: tampered payload no longer matches the id in the header.
  Bytes pb = serialize(b.params);
  Bytes pt = pb;
  std::uint64_t t_other = 786433;
  // payload: log_n(4) count(4) 4 x bits(16) count(4) bits(4) then t
  std::memcpy(pt.data() + kHeaderBytes + 32, &t_other, 8);
  EXPECT_TRUE(contains(error_of([&] { load_params(pt); }), "does not match the parameters"));
  std::uint64_t t_bad = 786435;
  std::memcpy(pt.data() + kHeaderBytes + 32, &t_bad, 8);
  EXPECT_TRUE(contains(error_of([&] { load_params(pt); }), "refused: plaintext modulus t = 786435 is not prime"));
  pt = pb;
  pt[kHeaderBytes + 4] = 200;  // 200 ciphertext primes
  EXPECT_TRUE(contains(error_of([&] { load_params(pt); }), "ciphertext prime count 200 exceeds 64"));
  pt = pb;
  pt[pt.size() - 1] = 5;
  EXPECT_TRUE(contains(error_of([&] { load_params(pt); }), "insecure flag 5"));

  // Plaintexts: coefficients at or above t.
  Plaintext p = b.encoder.encode_constant(3);
  Bytes ptb = serialize(p, b.params);
  for (int k = 0; k < 3; ++k) ptb[kHeaderBytes + k] = 0xff;  // 20 bits of ones >= t
  EXPECT_TRUE(contains(error_of([&] { load_plaintext(ptb, b.params); }), "out of range for modulus 1032193"));

  // Serializing refuses objects of other parameters.
  Ciphertext foreign = ct;
  foreign.params_id[0] ^= 1;
  EXPECT_TRUE(contains(error_of([&] { serialize(foreign, b.params); }), "ciphertext from other parameters"));
}

}  // namespace
}  // namespace hemi::bfv
