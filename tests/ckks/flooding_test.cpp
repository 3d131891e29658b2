// Noise flooding (ckks/flooding.h): the width formula, the integer noise it adds, the error
// estimate against the true decryption error, and the flooded, rounded output.
#include "hemi/ckks/flooding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace hemi::ckks {
namespace {

using testing::Bundle;

Bundle& bundle() {
  static Bundle b(testing::param_cases()[0].literal, {1});
  return b;
}

// Coefficient j of limb i as a centred integer.
std::int64_t centred(const Params& p, const RnsPoly& coeff_form, std::size_t i, std::size_t j) {
  const u64 q = p.q()[i].value, v = coeff_form.limb(i)[j];
  return v > q / 2 ? -static_cast<std::int64_t>(q - v) : static_cast<std::int64_t>(v);
}
RnsPoly to_coefficients(const Params& p, RnsPoly poly) {
  for (std::size_t i = 0; i < poly.limbs(); ++i) math::ntt_inverse(poly.limb(i), *p.ctx().ntt[i]);
  return poly;
}

TEST(Flooding, WidthIsSqrt12TauTimes2ToTheHalfSTimesT) {
  FloodingPolicy p;
  p.statistical_security = 30;
  p.query_budget = 1;
  EXPECT_NEAR(flooding_sigma(p, 5), std::sqrt(12.0) * std::exp2(15) * 32, 1e-6);
  p.query_budget = 1024;
  EXPECT_NEAR(flooding_sigma(p, 5), std::sqrt(12.0 * 1024) * std::exp2(15) * 32, 1e-5);
  EXPECT_FALSE(flooding_for_budget(0).has_value());
  EXPECT_EQ(flooding_for_budget(7)->query_budget, 7u);
  EXPECT_EQ(flooding_for_budget(7)->statistical_security, 30);
}

TEST(Flooding, WidthRefusesBadPolicies) {
  FloodingPolicy p;
  p.statistical_security = 0;
  EXPECT_THROW(flooding_sigma(p, 5), Error);
  p.statistical_security = 129;
  EXPECT_THROW(flooding_sigma(p, 5), Error);
  p.statistical_security = 30;
  p.query_budget = 0;
  EXPECT_THROW(flooding_sigma(p, 5), Error);
  p.query_budget = 1;
  EXPECT_THROW(flooding_sigma(p, 50), Error);  // 2^(1.8 + 15 + 50) wraps every prime
  EXPECT_THROW(flooding_sigma(p, NAN), Error);
  Plaintext pt = bundle().encoder.encode(std::vector<double>{1.0}, 0);
  Prng prng(Seed{1});
  EXPECT_THROW(add_flooding_noise(pt, 0, bundle().params, prng), Error);
  EXPECT_THROW(add_flooding_noise(pt, NAN, bundle().params, prng), Error);
}

TEST(Flooding, NoiseIsTheSameIntegerInEveryLimbWithTheRequestedWidth) {
  const Params& p = bundle().params;
  Plaintext pt;
  pt.level = 1;
  pt.scale = p.default_scale();
  pt.params_id = p.id();
  pt.poly = RnsPoly::zeros(p.n(), 2);
  Prng prng(Seed{2});
  const double sigma = 1000.5;
  add_flooding_noise(pt, sigma, p, prng);
  const RnsPoly c = to_coefficients(p, pt.poly);
  double sum = 0, sq = 0;
  for (std::size_t j = 0; j < p.n(); ++j) {
    const std::int64_t x = centred(p, c, 0, j);
    ASSERT_EQ(x, centred(p, c, 1, j)) << j;  // one integer, in both limbs
    sum += static_cast<double>(x);
    sq += static_cast<double>(x) * static_cast<double>(x);
  }
  const double n = static_cast<double>(p.n()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0, 4 * sigma / std::sqrt(n));
  EXPECT_NEAR(sd, sigma, 0.05 * sigma);
}

TEST(Flooding, ErrorEstimateFromImaginaryPartsMatchesTheTrueError) {
  auto& b = bundle();
  const Params& p = b.params;
  auto x = b.random_values(p.slots(), 1.0, 4);
  auto ct = b.evaluator.multiply(b.encrypt(x, 2), b.encrypt(x, 2));
  b.evaluator.relinearize_inplace(ct, b.rk);
  b.evaluator.rescale_inplace(ct);
  const Plaintext dec = b.decryptor.decrypt(ct);
  // Truth: the decrypted coefficients minus the exact message's coefficients.
  std::vector<double> x2(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) x2[i] = x[i] * x[i];
  const Plaintext exact = b.encoder.encode(x2, ct.level, ct.scale);
  const RnsPoly d = to_coefficients(p, dec.poly), e = to_coefficients(p, exact.poly);
  double sq = 0;
  for (std::size_t j = 0; j < p.n(); ++j) {
    const double err = static_cast<double>(centred(p, d, 0, j) - centred(p, e, 0, j));
    sq += err * err;
  }
  const double truth = std::sqrt(sq / static_cast<double>(p.n()));
  const double est = estimate_error_std(b.encoder, dec);
  EXPECT_GT(est, truth / 2) << "truth " << truth;
  EXPECT_LT(est, truth * 2) << "truth " << truth;
  EXPECT_GE(std::log2(truth), log2_rescale_noise(p) - 1);  // the floor is below any real error
}

TEST(Flooding, FloodedDecryptionIsCloseRoundedAndReported) {
  auto& b = bundle();
  const Params& p = b.params;
  auto x = b.random_values(64, 1.0, 5);
  auto ct = b.encrypt(x, 1);
  Prng prng(Seed{6});
  FloodingReport rep;
  FloodingPolicy policy;  // s = 30, tau = 1024
  const auto v = decrypt_flooded(b.decryptor, b.encoder, ct, policy, prng, &rep);
  EXPECT_GE(rep.log2_error_std, std::ceil(log2_rescale_noise(p)));
  EXPECT_DOUBLE_EQ(rep.sigma, flooding_sigma(policy, rep.log2_error_std));
  EXPECT_DOUBLE_EQ(rep.slot_sigma, rep.sigma * std::sqrt(p.n() / 2.0) / ct.scale);
  EXPECT_LE(rep.grid, rep.slot_sigma / 16);
  EXPECT_GT(rep.grid, rep.slot_sigma / 32);
  double sq = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(std::fmod(v[i], rep.grid), 0.0);
    sq += (v[i] - x[i]) * (v[i] - x[i]);
  }
  const double rms = std::sqrt(sq / static_cast<double>(x.size()));
  EXPECT_GT(rms, rep.slot_sigma / 2);
  EXPECT_LT(rms, rep.slot_sigma * 2);
  // A width that would wrap around the level's modulus is refused, not decoded into garbage:
  // level 0 of this set is one 50-bit prime, 2^(1.8 + 15 + 30) * 16 does not fit in 2^49.
  policy.log2_error_std = 30;
  auto ct0 = b.encrypt(x, 0);
  try {
    decrypt_flooded(b.decryptor, b.encoder, ct0, policy, prng, &rep);
    FAIL() << "a flooding width wider than the modulus was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the ciphertext's modulus"), std::string::npos) << e.what();
  }
  // A pinned estimate (a separate estimation run) is used as given.
  policy.log2_error_std = 9;
  decrypt_flooded(b.decryptor, b.encoder, ct, policy, prng, &rep);
  EXPECT_EQ(rep.log2_error_std, 9);
}

}  // namespace
}  // namespace hemi::ckks
