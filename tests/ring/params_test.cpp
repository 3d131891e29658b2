#include "hemi/ring/params.h"

#include <gtest/gtest.h>

#include "support/error_of.h"
#include "test_util.h"

namespace hemi::ring {
namespace {

using test_support::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string refusal(const RingLiteral& l) {
  auto r = Params::create(l);
  return r ? "(accepted)" : r.error();
}

TEST(RingParams, TheDefaultBfvRingIs128BitSecure) {
  auto p = Params::create(RingLiteral{13, {43, 43, 44, 44}, {44}, 128, false});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p.value().n(), 8192u);
  EXPECT_EQ(p.value().total_bits(), 218);
  EXPECT_EQ(p.value().security_bits(), 128);
  EXPECT_FALSE(p.value().insecure());
  EXPECT_EQ(p.value().max_level(), 3u);
  EXPECT_EQ(p.value().digit_count(), 4u);
}

// A negative test per refusal of the ring's own checks.
TEST(RingParams, Refusals) {
  EXPECT_TRUE(contains(refusal({13, {40}, {40}, 100, false}), "security level 100 is not one of"));
  EXPECT_TRUE(contains(refusal({12, {40}, {40}, 0, false}), "no security level requested"));
  EXPECT_TRUE(contains(refusal({11, {40}, {40}, 128, false}), "outside 2^12 ... 2^16"));
  EXPECT_TRUE(contains(refusal({13, {}, {40}, 128, false}), "chain is empty"));
  EXPECT_TRUE(contains(refusal({13, {40}, {}, 128, false}), "at least one special prime"));
  EXPECT_TRUE(contains(refusal({13, std::vector<int>(64, 30), {40}, 0, true}), "too many primes"));
  EXPECT_TRUE(contains(refusal({13, {61}, {40}, 128, false}), "prime size 61 bits"));
  EXPECT_TRUE(contains(refusal({13, {40, 40}, {30}, 128, false}), "special primes give 30 bits"));
  EXPECT_TRUE(contains(refusal({13, {60, 60, 60}, {60}, 128, false}), "exceeds 218"));
}

// The ring's id is the formula of ids from before the ring layer, with scale exponent 1: BFV's
// ring had exactly this id, so BFV keys and parameter ids made then stay valid. Known answer
// from the code before the split (main at 715204e, the BFV ring of tests/bfv/format_kat_test).
TEST(RingParams, IdIsTheIdBfvRingsHadBefore) {
  EXPECT_EQ(testing::ring_params().id_hex(), "18bdb08172ac4db5d4cf1b070c16e1d591574032d390acbea0bfab3487bc7a8e");
  const auto& c = testing::ring_params().ctx();
  EXPECT_EQ(detail::legacy_params_id(c, kRingIdLogScale), testing::ring_params().id());
  EXPECT_NE(detail::legacy_params_id(c, 30), testing::ring_params().id());
}

TEST(RingParams, GaloisElements) {
  EXPECT_EQ(galois_element_for_step(0, 8192), 1u);
  EXPECT_EQ(galois_element_for_step(1, 8192), 5u);
  EXPECT_EQ(galois_element_for_step(2, 8192), 25u);
  EXPECT_EQ(galois_element_for_step(-1, 8192), galois_element_for_step(4095, 8192));
  EXPECT_EQ(galois_element_for_step(4096, 8192), 1u);  // a whole row: no rotation
  EXPECT_EQ(galois_element_conjugate(8192), 16383u);
  // The NTT-domain permutation is a permutation.
  const auto& perm = testing::ring_params().ctx().galois_permutation(5);
  std::vector<bool> seen(perm.size());
  for (auto i : perm) {
    ASSERT_LT(i, perm.size());
    ASSERT_FALSE(seen[i]);
    seen[i] = true;
  }
}

}  // namespace
}  // namespace hemi::ring
