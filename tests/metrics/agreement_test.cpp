// Tests of agreement.h. Expected values worked out by hand from the small tables below
// (argmax per row, then counting); the McNemar p-value is checked with 2 * (1 + 3) / 2^3 = 1
// clipped, and 2 / 2^3 = 0.25, computed by hand from the definition.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "hemi/base/error.h"
#include "hemi/metrics/agreement.h"

namespace hemi::metrics {
namespace {

using Rows = std::vector<std::vector<double>>;

TEST(metricsAgreement, CountsDiscordantPairsAndLogitError) {
  // 6 images, 3 classes.
  //  i  truth  plain argmax  encrypted argmax   plain ok  enc ok
  //  0    0        0              0                y        y
  //  1    1        1              1                y        y
  //  2    2        2              0                y        n      (b)
  //  3    1        1              2                y        n      (b)
  //  4    0        2              2                n        n
  //  5    2        0              2                n        y      (c)
  const std::vector<int> truth = {0, 1, 2, 1, 0, 2};
  const Rows plain = {{3.0, 1.0, 0.0},  {0.0, 2.0, 1.0}, {0.1, 0.2, 0.3},
                      {-1.0, 0.5, 0.4}, {0.0, 1.0, 2.0}, {1.0, 0.0, 0.9}};
  const Rows enc = {{2.9, 1.1, 0.0},  {0.0, 2.05, 1.0}, {0.35, 0.2, 0.3},
                    {-1.0, 0.5, 0.75}, {0.0, 1.0, 2.0},  {0.9, 0.0, 1.0}};
  const Agreement a = compare_predictions(plain, enc, truth);
  EXPECT_EQ(a.n, 6u);
  EXPECT_EQ(a.agreements, 3u);  // images 0, 1, 4
  EXPECT_DOUBLE_EQ(a.agreement_rate, 0.5);
  EXPECT_EQ(a.plain_correct, 4u);
  EXPECT_EQ(a.encrypted_correct, 3u);
  EXPECT_EQ(a.both_correct, 2u);
  EXPECT_EQ(a.plain_only_correct, 2u);
  EXPECT_EQ(a.encrypted_only_correct, 1u);
  EXPECT_EQ(a.both_wrong, 1u);
  // b = 2, c = 1: p = 2 * (C(3,0) + C(3,1)) / 8 = 1.
  EXPECT_DOUBLE_EQ(a.mcnemar_p, 1.0);
  // Largest |plain - enc|: image 3, class 2, |0.4 - 0.75| = 0.35 (image 2 class 0 is 0.25).
  EXPECT_NEAR(a.max_abs_logit_error, 0.35, 1e-15);
  EXPECT_EQ(a.max_error_image, 3u);
  EXPECT_EQ(a.max_error_class, 2);
  // Sum of |differences| = 0.1+0.1 + 0.05 + 0.25 + 0.35 + 0.1+0.1 = 1.05 over 18 values.
  EXPECT_NEAR(a.mean_abs_logit_error, 1.05 / 18, 1e-15);
  ASSERT_TRUE(a.agreement_ci.defined());
  EXPECT_LT(*a.agreement_ci.lower, 0.5);
  EXPECT_GT(*a.agreement_ci.upper, 0.5);
}

TEST(metricsAgreement, IdenticalLogitsAgreeFully) {
  const std::vector<int> truth = {0, 1, 1};
  const Rows logits = {{1.0, 0.0}, {0.0, 1.0}, {0.7, 0.2}};
  const Agreement a = compare_predictions(logits, logits, truth);
  EXPECT_DOUBLE_EQ(a.agreement_rate, 1.0);
  EXPECT_EQ(a.plain_only_correct + a.encrypted_only_correct, 0u);
  EXPECT_DOUBLE_EQ(a.mcnemar_p, 1.0);  // b + c = 0
  EXPECT_DOUBLE_EQ(a.max_abs_logit_error, 0.0);
}

TEST(metricsAgreement, EncryptedAlwaysWrongWhereDisagreeing) {
  // Three images where plain is right and encrypted wrong: b = 3, c = 0,
  // p = 2 * C(3,0) / 2^3 = 0.25.
  const std::vector<int> truth = {0, 0, 0, 1};
  const Rows plain = {{1, 0}, {1, 0}, {1, 0}, {0, 1}};
  const Rows enc = {{0, 1}, {0, 1}, {0, 1}, {0, 1}};
  const Agreement a = compare_predictions(plain, enc, truth);
  EXPECT_EQ(a.plain_only_correct, 3u);
  EXPECT_EQ(a.encrypted_only_correct, 0u);
  EXPECT_DOUBLE_EQ(a.mcnemar_p, 0.25);
  EXPECT_DOUBLE_EQ(a.max_abs_logit_error, 1.0);
}

TEST(metricsAgreement, RejectsBadInput) {
  auto error_of = [](const Rows& p, const Rows& e, const std::vector<int>& t) -> std::string {
    try {
      compare_predictions(p, e, t);
    } catch (const Error& err) {
      return err.what();
    }
    return "(no hemi::Error thrown)";
  };
  EXPECT_NE(error_of({}, {}, {}).find("empty input"), std::string::npos);
  EXPECT_NE(error_of({{1, 0}}, {{1, 0}, {0, 1}}, {0}).find("mismatched lengths"),
            std::string::npos);
  EXPECT_NE(error_of({{1, 0}, {0, 1}}, {{1, 0}, {0, 1, 2}}, {0, 1}).find("image 1 has 2 plain and 3"),
            std::string::npos);
  EXPECT_NE(error_of({{1, 0}}, {{1, 0}}, {2}).find("true label of image 0 is 2"),
            std::string::npos);
  const std::string nan_error = error_of({{1, 0}, {0, 1}}, {{1, 0}, {std::nan(""), 1}}, {0, 1});
  EXPECT_NE(nan_error.find("encrypted logit of image 1, class 0 is not finite"), std::string::npos)
      << nan_error;
}

}  // namespace
}  // namespace hemi::metrics
