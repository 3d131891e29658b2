#include "hemi/base/random.h"

#include <gtest/gtest.h>

#include <map>

namespace hemi {
namespace {

TEST(Prng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Seed s1{}, s2{};
  s2[0] = 1;
  Prng a(s1), b(s1), c(s2);
  for (int i = 0; i < 1000; ++i) {
    auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
  }
  Prng a2(s1);
  EXPECT_NE(a2.next_u64(), c.next_u64());
}

TEST(Prng, KnownAnswerAes256CtrZeroKey) {
  // AES-256 of the all-zero block under the all-zero key is the first keystream block of
  // CTR mode with a zero IV: dc95c078a2408989ad48a21492842087 (FIPS-197 style vector,
  // also printed by `openssl enc -aes-256-ecb -K 00..00 -nopad` on 16 zero bytes).
  Seed zero{};
  Prng p(zero);
  std::uint8_t out[16];
  p.fill(out, 16);
  const std::uint8_t expect[16] = {0xdc, 0x95, 0xc0, 0x78, 0xa2, 0x40, 0x89, 0x89,
                                   0xad, 0x48, 0xa2, 0x14, 0x92, 0x84, 0x20, 0x87};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], expect[i]) << i;
}

TEST(Prng, UniformIsInRangeAndCoversIt) {
  Prng p(Seed{});
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 30000; ++i) {
    auto v = p.uniform(3);
    ASSERT_LT(v, 3u);
    counts[v]++;
  }
  for (auto& [v, c] : counts) EXPECT_NEAR(c, 10000, 500) << v;
}

TEST(Prng, SystemSeedsDiffer) { EXPECT_NE(random_seed(), random_seed()); }

}  // namespace
}  // namespace hemi
