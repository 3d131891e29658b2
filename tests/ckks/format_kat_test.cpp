// Byte compatibility across the move of the ring pieces into the ring layer: objects made with
// fixed seeds serialize to the bytes the code before the move wrote (main at 715204e; the
// SHA-256 prefixes were printed by that code from the same calls).
#include <gtest/gtest.h>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/serialize.h"
#include "support/sha_prefix.h"

namespace hemi::ckks {
namespace {

using test_support::sha_prefix;

TEST(FormatKnownAnswers, ObjectsAreTheBytesTheyWereBeforeTheRingLayer) {
  const Params p = Params::create({.log_n = 12, .q_bits = {40, 30}, .p_bits = {40}, .log_scale = 30, .security = 0,
                                   .allow_insecure = true})
                       .value();
  EXPECT_EQ(p.id_hex(), "e9f91569f91d7edbfa36c2e6b963030d2f120fd22b9bff1bdd929d86ae1ec855");
  EXPECT_EQ(sha_prefix(serialize(p)), "e91d6677b8581530");
  KeyGenerator kg(p, Seed{5});
  const SecretKey sk = kg.secret_key();
  const PublicKey pk = kg.public_key(sk);
  EXPECT_EQ(sha_prefix(serialize(sk, p)), "035ede486d97f7f1");
  EXPECT_EQ(sha_prefix(serialize(pk, p)), "78c6abc5aae40afe");
  EXPECT_EQ(sha_prefix(serialize(kg.relin_key(sk), p)), "9c526bbf30f769c7");
  EXPECT_EQ(sha_prefix(serialize(kg.galois_keys(sk, {1, -3}, true), p)), "8f401a59f5230ca1");
  Encoder enc(p);
  const std::vector<double> x = {0.5, -0.25, 0.125};
  Encryptor e(p, pk, Seed{6});
  EXPECT_EQ(sha_prefix(serialize(e.encrypt(enc.encode(x, 1)), p)), "47b3c087ff3261c2");
  SymmetricEncryptor se(p, sk, Seed{7});
  EXPECT_EQ(sha_prefix(serialize(se.encrypt_seeded(enc.encode(x, 1)), p)), "5617a46ffb4a43e2");
  SymmetricEncryptor se2(p, sk, Seed{11});
  EXPECT_EQ(sha_prefix(serialize(se2.encrypt_seeded(enc.encode_coefficients(x, 1)), p)), "5968216e6b2f67ea");
}

}  // namespace
}  // namespace hemi::ckks
