#include <gtest/gtest.h>

#include <cmath>

#include "hemi/bfv/params.h"
#include "hemi/math/primes.h"
#include "support/error_of.h"

namespace hemi::bfv {
namespace {

using test_support::error_of;

TEST(BfvParams, DefaultIsTheSealStyleSetAt128Bits) {
  auto p = Params::create(default_literal());
  ASSERT_TRUE(p) << p.error();
  const Params& params = p.value();
  EXPECT_EQ(params.n(), 8192u);
  EXPECT_EQ(params.slots(), 8192u);
  EXPECT_EQ(params.row_size(), 4096u);
  EXPECT_EQ(params.max_level(), 3u);
  EXPECT_EQ(params.ring().total_bits(), 218);
  EXPECT_EQ(params.security_bits(), 128);
  // Known answer: the largest prime below 2^20 that is 1 mod 2N = 16384 is 63 * 16384 + 1.
  EXPECT_EQ(params.t().value, 1032193u);
  EXPECT_TRUE(math::is_prime(params.t().value));
  // The auxiliary base covers log Q + log N + log t + margin.
  double log_r = 0;
  for (auto& m : params.ctx().aux) log_r += std::log2(static_cast<double>(m.value));
  EXPECT_GT(log_r, params.log2_q(params.max_level()) + 13 + 20);
}

TEST(BfvParams, IdDiffersFromTheRingAndWithT) {
  const Params a = Params::create(default_literal()).value();
  ParamsLiteral l = default_literal();
  l.t_bits = 17;
  const Params b = Params::create(l).value();
  EXPECT_NE(a.id(), a.ring().id());
  EXPECT_EQ(a.ring().id(), b.ring().id());
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(a.id(), Params::create(default_literal()).value().id());  // deterministic
}

TEST(BfvParams, ExplicitT) {
  ParamsLiteral l = default_literal();
  l.t = 786433;  // 48 * 16384 + 1, prime
  auto p = Params::create(l);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p.value().t().value, 786433u);
}

TEST(BfvParams, RefusesWithTheReason) {
  auto reason = [](ParamsLiteral l) {
    auto p = Params::create(l);
    return p ? std::string("(accepted)") : p.error();
  };
  ParamsLiteral l = default_literal();
  l.t = 786435;  // 5 * 157287
  EXPECT_NE(reason(l).find("not prime"), std::string::npos) << reason(l);
  l.t = 65537;  // prime, 4 * 16384 + 1
  EXPECT_EQ(reason(l), "(accepted)");
  l.t = 40961;  // prime, 40961 = 5 * 8192 + 1 = 1 mod 8192 but not mod 16384
  EXPECT_NE(reason(l).find("not 1 mod 2N"), std::string::npos) << reason(l);
  l.t = u64{1} << 61;
  EXPECT_NE(reason(l).find("not below 2^60"), std::string::npos) << reason(l);
  l = default_literal();
  l.t_bits = 1;
  EXPECT_NE(reason(l).find("outside [2, 60]"), std::string::npos) << reason(l);
  l.t_bits = 14;  // no prime 1 mod 16384 below 2^14
  EXPECT_NE(reason(l).find("no batching plaintext modulus"), std::string::npos) << reason(l);
  l.t_bits = 42;  // leaves no budget under a 43-bit q_0
  EXPECT_NE(reason(l).find("leaves no noise budget"), std::string::npos) << reason(l);
  l = default_literal();
  l.q_bits.push_back(44);  // 262 bits > 218: the shared security table refuses
  EXPECT_NE(reason(l).find("exceeds 218"), std::string::npos) << reason(l);
  l = default_literal();
  l.security = 0;
  EXPECT_NE(reason(l).find("opt-in"), std::string::npos) << reason(l);
}

TEST(BfvParams, SlotMapIsAPermutation) {
  const Params p = Params::create(default_literal()).value();
  std::vector<bool> seen(p.n(), false);
  for (auto idx : p.ctx().slot_to_ntt) {
    ASSERT_LT(idx, p.n());
    EXPECT_FALSE(seen[idx]);
    seen[idx] = true;
  }
}

}  // namespace
}  // namespace hemi::bfv
