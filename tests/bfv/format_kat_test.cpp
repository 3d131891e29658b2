// Byte compatibility across the move of BFV from the ckks layer onto the ring layer: objects
// made with fixed seeds serialize to the bytes the code before the move wrote (main at 715204e;
// the SHA-256 prefixes were printed by that code from the same calls). The ring's keys are
// pinned in tests/ring/serialize_test.cpp.
#include <gtest/gtest.h>

#include "hemi/bfv/encoder.h"
#include "hemi/bfv/encryptor.h"
#include "hemi/bfv/serialize.h"
#include "support/sha_prefix.h"

namespace hemi::bfv {
namespace {

using test_support::sha_prefix;

TEST(FormatKnownAnswers, ObjectsAreTheBytesTheyWereBeforeTheRingLayer) {
  const Params p = Params::create({.log_n = 12, .q_bits = {40, 40}, .p_bits = {40}, .t_bits = 17, .security = 0,
                                   .allow_insecure = true})
                       .value();
  EXPECT_EQ(p.ring().id_hex(), "18bdb08172ac4db5d4cf1b070c16e1d591574032d390acbea0bfab3487bc7a8e");
  EXPECT_EQ(p.id_hex(), "b859cf67b393a6ce517c3ba389b256baf9176d42c304e82af8c8df218ffaef93");
  EXPECT_EQ(sha_prefix(serialize(p)), "59aa1dfa5ee5386c");
  KeyGenerator kg(p, Seed{8});
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  EXPECT_EQ(sha_prefix(serialize(sk, p.ring())), "bee48e5db7b0b463");
  EXPECT_EQ(sha_prefix(serialize(pk, p.ring())), "d45dafbb0dd6d635");
  Encoder enc(p);
  const std::vector<std::int64_t> v = {1, -2, 3, 40000};
  Encryptor e(p, pk, Seed{9});
  EXPECT_EQ(sha_prefix(serialize(e.encrypt(enc.encode(v)), p)), "82cab006533f1278");
  SymmetricEncryptor se(p, sk, Seed{10});
  EXPECT_EQ(sha_prefix(serialize(se.encrypt_seeded(enc.encode(v)), p)), "8496aeb25afbd171");
  EXPECT_EQ(sha_prefix(serialize(enc.encode(v), p)), "16d6b542c69502b0");
}

}  // namespace
}  // namespace hemi::bfv
