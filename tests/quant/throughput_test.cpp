// BFV encrypted inference of the small model against the exact integer interpreter: every
// logit identical, with several plaintext primes (CRT) and several batches, on INSECURE small
// rings chosen by the compiler; plus the compiler's choices and refusals.
#include <gtest/gtest.h>

#include <random>

#include "hemi/quant/throughput.h"
#include "small_model.h"
#include "support/error_of.h"

namespace hemi::quant {
namespace {

using test_support::error_of;

CompileOptions insecure_options() {
  CompileOptions o;
  o.t_bits = 30;  // the small model then needs the CRT over 2 primes
  o.security = 0;
  o.allow_insecure = true;  // INSECURE: small rings keep the test fast
  o.min_log_n = 6;
  return o;
}

TEST(Crt, CentredKnownAnswers) {
  const std::vector<std::uint64_t> t{65537, 114689};
  auto residues = [&](i128 v) {
    std::vector<std::uint64_t> r;
    for (auto m : t) {
      i128 x = v % static_cast<i128>(m);
      if (x < 0) x += m;
      r.push_back(static_cast<std::uint64_t>(x));
    }
    return r;
  };
  for (i128 v : {i128{0}, i128{-5}, i128{5}, i128{3758161920}, i128{-3758161920}, i128{123456789}})
    EXPECT_TRUE(crt_centred(residues(v), t) == v);
  // Five 60-bit primes: values near 2^120 come back.
  const std::vector<std::uint64_t> big{1152921504606830593ull, 1152921504606748673ull, 1152921504606683137ull,
                                       1152921504606584833ull, 1152921504606543873ull};
  const i128 v = -((i128{1} << 120) + 12345);
  std::vector<std::uint64_t> r;
  for (auto m : big) {
    i128 x = v % static_cast<i128>(m);
    if (x < 0) x += m;
    r.push_back(static_cast<std::uint64_t>(x));
  }
  EXPECT_TRUE(crt_centred(r, big) == v);
}

TEST(Compiler, PicksPrimesAndRingAndProvesNoWrap) {
  const QuantizedModel qm = quantize(testing::small_model(), {8}).value();
  const Plan plan = compile(qm, insecure_options()).value();
  // 2 * bound + 1 <= prod t: nothing wraps.
  EXPECT_GE(plan.log2_t_product, plan.log2_bound + 1);
  EXPECT_EQ(plan.t.size(), static_cast<std::size_t>(std::ceil((plan.log2_bound + 1) / 29)));
  EXPECT_GE(plan.t.size(), 2u);  // the small model already needs the CRT at 30-bit primes
  EXPECT_GE(plan.budget_after.back(), 1.0);
  for (std::size_t i = 0; i < plan.t.size(); ++i) EXPECT_EQ(plan.params[i].t, plan.t[i]);
  // 128-bit security: the same network compiles to a secure ring of at least 2^12.
  const Plan secure = compile(qm).value();
  EXPECT_GE(secure.params.front().log_n, 12);
  EXPECT_EQ(bfv::Params::create(secure.params.front()).value().security_bits(), 128);
}

TEST(Compiler, Refusals) {
  const QuantizedModel qm = quantize(testing::small_model(), {8}).value();
  CompileOptions o = insecure_options();
  o.max_primes = 1;
  EXPECT_NE(compile(qm, o).error().find("needs 2 plaintext primes of 30 bits, more than the 1 allowed"), std::string::npos)
      << compile(qm, o).error();
  o = insecure_options();
  o.t_bits = 16;
  EXPECT_NE(compile(qm, o).error().find("plaintext prime size 16 bits outside [17, 60]"), std::string::npos);
}

TEST(Throughput, BfvLogitsEqualTheIntegerModelExactly) {
  const QuantizedModel qm = quantize(testing::small_model(), {8}).value();
  const Plan plan = compile(qm, insecure_options()).value();
  const std::size_t slots = std::size_t{1} << plan.params.front().log_n;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::vector<std::int64_t>> inputs(slots + 7, std::vector<std::int64_t>(qm.input_size));  // two batches
  for (auto& img : inputs)
    for (auto& x : img) x = d(rng);
  std::fill(inputs[0].begin(), inputs[0].end(), 255);  // the extreme input
  const ThroughputResult r = run_throughput(qm, plan, inputs);
  EXPECT_EQ(r.batches, 2u);
  ASSERT_EQ(r.logits.size(), inputs.size() * 3);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto want = forward_int(qm, inputs[i]);
    for (int c = 0; c < 3; ++c) ASSERT_TRUE(r.logits[i * 3 + c] == want[c]) << "image " << i << " class " << c;
    EXPECT_EQ(r.predicted[i], argmax(want.data(), 3));
  }
  EXPECT_GT(r.min_budget_bits, 0);
  EXPECT_GT(r.upload_bytes, 0u);
  EXPECT_GT(r.download_bytes, 0u);
}

TEST(Throughput, ThreadedRunEqualsTheIntegerModel) {
  // Two workers: neurons and input encryptions spread over the pool give the same integers.
  const QuantizedModel qm = quantize(testing::small_model(), {8}).value();
  const Plan plan = compile(qm, insecure_options()).value();
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::vector<std::int64_t>> inputs(40, std::vector<std::int64_t>(qm.input_size));
  for (auto& img : inputs)
    for (auto& x : img) x = d(rng);
  ThreadPool pool(2);
  const ThroughputResult r = run_throughput(qm, plan, inputs, &pool);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto want = forward_int(qm, inputs[i]);
    for (int c = 0; c < 3; ++c) ASSERT_TRUE(r.logits[i * 3 + c] == want[c]) << "image " << i << " class " << c;
  }
  EXPECT_EQ(r.upload_bytes, run_throughput(qm, plan, inputs).upload_bytes);  // every input encrypted once
}

TEST(Throughput, Rejections) {
  const QuantizedModel qm = quantize(testing::small_model(), {8}).value();
  const Plan plan = compile(qm, insecure_options()).value();
  std::vector<std::vector<std::int64_t>> bad{std::vector<std::int64_t>(3, 0)};
  EXPECT_NE(error_of([&] { run_throughput(qm, plan, bad); }).find("image 0 has 3 values, the model takes 64"), std::string::npos);
  EXPECT_NE(error_of([&] { run_throughput(qm, Plan{}, {}); }).find("empty plan"), std::string::npos);
}

}  // namespace
}  // namespace hemi::quant
