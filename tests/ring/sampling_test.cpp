// The samplers and the secret-handling helpers: the masked (branch-free) code equals the
// obvious branching code, and the distributions are what the docs say.
#include "hemi/ring/sampling.h"

#include <gtest/gtest.h>

#include <random>

#include "hemi/math/ntt.h"
#include "test_util.h"

namespace hemi::ring {
namespace {

u64 small_to_mod_branching(std::int64_t x, u64 q) { return x < 0 ? q - static_cast<u64>(-x) : static_cast<u64>(x); }
std::uint8_t ternary_code_branching(std::int8_t v) { return v == 0 ? 0 : (v == 1 ? 1 : 2); }

TEST(ConstantTime, SmallToModEqualsTheBranchingVersion) {
  std::mt19937_64 rng(7);
  for (u64 q : {u64{3}, u64{97}, (u64{1} << 50) - 27, (u64{1} << 60) - 93, ~u64{0} - 58}) {
    for (int x = -128; x <= 127; ++x) {
      if (static_cast<u64>(x < 0 ? -x : x) >= q) continue;
      EXPECT_EQ(detail::small_to_mod(x, q), small_to_mod_branching(x, q)) << x << " mod " << q;
    }
    for (int i = 0; i < 10000; ++i) {
      const auto x = static_cast<std::int64_t>(rng() % q) * ((rng() & 1) ? 1 : -1);
      ASSERT_EQ(detail::small_to_mod(x, q), small_to_mod_branching(x, q)) << x << " mod " << q;
    }
  }
}

TEST(ConstantTime, SmallToNttEqualsTheBranchingVersionOnRandomSecrets) {
  const auto& ctx = testing::ring_params().ctx();
  Prng prng(Seed{9});
  for (auto coeffs : {detail::sample_ternary(prng, ctx.n), detail::sample_gaussian(prng, ctx.n)}) {
    RnsPoly got = detail::small_to_ntt(coeffs.data(), ctx, ctx.q.size(), true);
    for (std::size_t i = 0; i < got.limbs(); ++i) {
      std::vector<u64> want(ctx.n);
      for (std::size_t c = 0; c < ctx.n; ++c) want[c] = small_to_mod_branching(coeffs[c], ctx.qp[i].value);
      math::ntt_forward(want.data(), *ctx.ntt[i]);
      ASSERT_TRUE(std::equal(want.begin(), want.end(), got.limb(i))) << "limb " << i;
    }
  }
}

TEST(ConstantTime, GaussianSamplerIsSymmetricWithoutABranch) {
  Prng prng(Seed{3});
  auto e = detail::sample_gaussian(prng, 200000);
  long pos = 0, neg = 0, sum_sq = 0;
  for (auto x : e) {
    ASSERT_LE(std::abs(x), detail::kErrorBound);
    pos += x > 0;
    neg += x < 0;
    sum_sq += x * x;
  }
  EXPECT_NEAR(static_cast<double>(pos) / static_cast<double>(neg), 1.0, 0.02);
  EXPECT_NEAR(static_cast<double>(sum_sq) / e.size(), 10.24, 0.15);  // sigma = 3.2
}

TEST(ConstantTime, SecretKeyCodesEqualTheBranchingVersion) {
  for (int v : {-1, 0, 1}) {
    const auto code = detail::ternary_code(static_cast<std::int8_t>(v));
    EXPECT_EQ(code, ternary_code_branching(static_cast<std::int8_t>(v)));
    EXPECT_EQ(detail::ternary_from_code(code), v);
  }
}

TEST(Sampling, TernaryIsUniformOverMinusOneZeroOne) {
  Prng prng(Seed{4});
  auto s = detail::sample_ternary(prng, 300000);
  long count[3] = {0, 0, 0};
  for (auto x : s) {
    ASSERT_GE(x, -1);
    ASSERT_LE(x, 1);
    ++count[x + 1];
  }
  for (long c : count) EXPECT_NEAR(static_cast<double>(c) / s.size(), 1.0 / 3, 0.005);
}

TEST(Sampling, UniformIsBelowEachPrimeAndFollowsItsSeed) {
  const auto& ctx = testing::ring_params().ctx();
  Prng a(Seed{1}, detail::kLabelSeededCiphertextA), b(Seed{1}, detail::kLabelSeededCiphertextA),
      c(Seed{1}, detail::kLabelRelinKeyA);
  RnsPoly x = detail::sample_uniform(a, ctx, ctx.q.size(), true);
  RnsPoly y = detail::sample_uniform(b, ctx, ctx.q.size(), true);
  RnsPoly z = detail::sample_uniform(c, ctx, ctx.q.size(), true);
  ASSERT_EQ(x.limbs(), ctx.qp.size());
  for (std::size_t i = 0; i < x.limbs(); ++i)
    for (std::size_t k = 0; k < ctx.n; ++k) ASSERT_LT(x.limb(i)[k], ctx.qp[i].value);
  EXPECT_TRUE(std::equal(x.data(), x.data() + x.size(), y.data()));   // same seed, same label
  EXPECT_FALSE(std::equal(x.data(), x.data() + x.size(), z.data()));  // another label
}

}  // namespace
}  // namespace hemi::ring
