#include "hemi/base/random.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "hemi/base/bytes.h"

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

// Known answers for the labelled streams: key = SHA-256("hemi-prng-v1" | u32 le label length |
// label | seed), seed = 00 01 ... 1f, AES-256-CTR with a zero IV. Computed independently with
// `openssl dgst -sha256` and `openssl enc -aes-256-ctr -K KEY -iv 0` on 32 zero bytes.
std::string stream_hex(Prng& p, std::size_t bytes) {
  std::vector<std::uint8_t> out(bytes);
  p.fill(out.data(), out.size());
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (auto b : out) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

Seed counting_seed() {
  Seed s;
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(i);
  return s;
}

TEST(Prng, KnownAnswerUnlabelledStream) {
  Prng p(counting_seed());
  EXPECT_EQ(stream_hex(p, 32), "f29000b62a499fd0a9f39a6add2e7780f05d76ae4ab99fe5a6f69b3148c2363d");
}

TEST(Prng, KnownAnswerLabelledStreams) {
  const Seed seed = counting_seed();
  Prng relin(seed, "hemi/ckks/relin-key/a");
  Prng galois(seed, "hemi/ckks/galois-key/a");
  Prng seeded(seed, "hemi/ckks/seeded-ciphertext/a");
  EXPECT_EQ(stream_hex(relin, 32), "e04b21fdcc272398661510149cd60fa2199463b94c71ef36f5e13d37d82600b4");
  EXPECT_EQ(stream_hex(galois, 32), "b77a42bc1bc9c7098a7ff32c3d95c72e74894164d2e52139efecdbe66fab94b8");
  EXPECT_EQ(stream_hex(seeded, 32), "a32b380b7da3c7b4ca48d3d3bf3acaa2231b87ceec96fb22bf3bade78b33ed7a");
}

TEST(Prng, LabelsSeparateStreams) {
  const Seed seed = counting_seed();
  Prng none(seed), empty(seed, ""), a(seed, "a"), b(seed, "b"), ab(seed, "ab");
  const auto x = none.next_u64(), e = empty.next_u64(), xa = a.next_u64(), xb = b.next_u64(), xab = ab.next_u64();
  EXPECT_NE(x, e);
  EXPECT_NE(e, xa);
  EXPECT_NE(xa, xb);
  EXPECT_NE(xa, xab);
  Prng a2(seed, "a");
  EXPECT_EQ(a2.next_u64(), xa);
}

TEST(SecureMemory, WipeZeroesAndBytesUseTheWipingAllocator) {
  std::vector<std::uint8_t> v(100, 0xab);
  secure_wipe(v.data(), v.size());
  for (auto x : v) EXPECT_EQ(x, 0);
  // Every Bytes (serialized objects, key files) is wiped when freed, reallocations included.
  EXPECT_TRUE((std::is_same_v<Bytes::allocator_type, WipingAllocator<std::uint8_t>>));
  Bytes b(5000, 1);
  ByteWriter w(b);
  for (int i = 0; i < 10000; ++i) w.put<std::uint8_t>(2);  // grows through several reallocations
  EXPECT_EQ(b.size(), 15000u);
  EXPECT_EQ(b.front(), 1);
  EXPECT_EQ(b.back(), 2);
}

TEST(SecureMemory, ExcludeFromCoreDumpsCoversWholePagesInside) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<std::uint8_t> big(8 * page);
  const std::size_t excluded = exclude_from_core_dumps(big.data(), big.size());
#ifdef __linux__
  EXPECT_GE(excluded, 7 * page);  // the 7 (or 8, if aligned) whole pages inside
  EXPECT_LE(excluded, big.size());
#endif
  std::uint8_t small[16];
  EXPECT_EQ(exclude_from_core_dumps(small, sizeof small), 0u);  // no whole page inside
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
