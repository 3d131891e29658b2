// The compiler's time model: it names the active SIMD path, is calibrated to a sane factor,
// and is linear in the operation counts and in N and the number of primes.
#include "hemi/he/cost_model.h"

#include <gtest/gtest.h>

#include <string>

#include "hemi/math/simd.h"

namespace hemi::he {
namespace {

TEST(CostModel, FollowsTheActivePathAndIsCalibrated) {
  const CostModel& m = cost_model();
  EXPECT_EQ(std::string(m.path), math::simd::active_path_name());
  EXPECT_GE(m.cpu_factor, 0.25);
  EXPECT_LE(m.cpu_factor, 8.0);
}

TEST(CostModel, LinearInOperationsDegreeAndPrimes) {
  OpCounts one;
  one.rotations = 3;
  one.hoisted_groups = 1;
  one.relinearizations = 2;
  one.rescales = 4;
  one.plain_multiplies = 10;
  one.dot_terms = 100;
  one.additions = 20;
  OpCounts two = one;
  two += one;
  const double t1 = predict_seconds(one, 8192, 7);
  EXPECT_GT(t1, 0);
  EXPECT_NEAR(predict_seconds(two, 8192, 7), 2 * t1, 1e-12);
  EXPECT_NEAR(predict_seconds(one, 16384, 7), 2 * t1, 1e-12);
  EXPECT_NEAR(predict_seconds(one, 8192, 14), 2 * t1, 1e-12);
  EXPECT_EQ(predict_seconds(OpCounts{}, 8192, 7), 0.0);
}

}  // namespace
}  // namespace hemi::he
