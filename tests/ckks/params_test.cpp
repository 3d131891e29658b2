#include "hemi/ckks/params.h"

#include <gtest/gtest.h>


namespace hemi::ckks {
namespace {

TEST(Params, TheStudysParametersAre128BitSecure) {
  auto p = Params::create({13, {31, 26, 26, 26, 26, 26, 26}, {31}, 26, 128, false}).value();
  EXPECT_EQ(p.total_bits(), 218);
  EXPECT_EQ(p.security_bits(), 128);
  EXPECT_FALSE(p.insecure());
  EXPECT_EQ(p.max_level(), 6u);
  EXPECT_EQ(p.digit_count(), 7u);
  EXPECT_EQ(p.q()[0].value, 2147352577u);
  EXPECT_EQ(p.p()[0].value, 2147205121u);
  EXPECT_EQ(p.q()[1].value, 67043329u);
  EXPECT_LT(p.log2_qp(), 218.0);
}

TEST(Params, IdIsStableAndDistinguishes) {
  auto a = Params::create({13, {31, 26, 26}, {31}, 26}).value();
  auto b = Params::create({13, {31, 26, 26}, {31}, 26}).value();
  auto c = Params::create({13, {31, 26, 27}, {31}, 26}).value();
  EXPECT_EQ(a.id(), b.id());
  EXPECT_NE(a.id(), c.id());
}

void expect_refused(const ParamsLiteral& l, const std::string& part) {
  auto r = Params::create(l);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(part), std::string::npos) << r.error();
  EXPECT_THROW(r.value(), Error);
}

TEST(Params, Refusals) {
  // 219 bits at N = 8192 exceeds the 128-bit bound (218); the special prime counts.
  expect_refused({13, {31, 26, 26, 26, 26, 26, 26}, {32}, 26}, "219 bits exceeds 218");
  expect_refused({13, {31, 26, 26, 26, 26, 26, 26}, {31}, 26, 192}, "exceeds 152");
  expect_refused({11, {40}, {40}, 30}, "below 2^12 only with the insecure opt-in");
  expect_refused({13, {40}, {40}, 30, 0, false}, "explicit opt-in");
  expect_refused({13, {40}, {40}, 30, 100}, "not one of 128, 192, 256");
  expect_refused({13, {}, {40}, 30}, "chain is empty");
  expect_refused({13, {40}, {}, 30}, "at least one special prime");
  expect_refused({13, {61}, {40}, 30}, "prime size 61 bits");
  expect_refused({13, {40}, {40}, 45}, "does not fit");
  expect_refused({13, {40, 40}, {30}, 30}, "special primes give 30 bits");
  expect_refused({17, {40}, {40}, 30}, "outside 2^12");
}

TEST(Params, InsecureOptInIsStamped) {
  auto p = Params::create({11, {40, 30}, {40}, 30, 0, true}).value();
  EXPECT_TRUE(p.insecure());
  EXPECT_EQ(p.security_bits(), 0);
  auto over = Params::create({13, {60, 60, 60, 60}, {60}, 40, 128, true}).value();
  EXPECT_TRUE(over.insecure());
}

TEST(Params, FromDepth) {
  auto l = literal_for_depth(4, 26).value();
  auto p = Params::create(l).value();
  EXPECT_EQ(p.max_level(), 4u);
  EXPECT_GE(p.security_bits(), 128);
  EXPECT_EQ(l.log_n, 13);  // 46 + 4*26 + special fits 218
  auto deep = Params::create(literal_for_depth(10, 40).value()).value();
  EXPECT_GE(deep.security_bits(), 128);
  EXPECT_EQ(deep.max_level(), 10u);
  EXPECT_GE(deep.log_n(), 14);
  EXPECT_GT(deep.digit_size(), 1u);  // hybrid key switching with several primes per digit
  EXPECT_FALSE(literal_for_depth(60, 50).ok());
}

}  // namespace
}  // namespace hemi::ckks
