// Every SIMD path computes exact modular arithmetic, so with the same seeds the whole pipeline
// (key generation, encoding, encryption, multiply, relinearize, rescale, rotations, hoisted
// rotations, dot products, decoding) must give bit-identical results on each path the CPU has,
// at the study's parameters (all primes below 2^31: the AVX2 path) and at 50-bit primes (IFMA
// only, AVX2 falls back to scalar there) and 60-bit primes (scalar everywhere).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hemi/math/simd.h"
#include "test_util.h"

namespace hemi::ckks {
namespace {

using math::simd::Path;

struct Outcome {
  std::vector<std::vector<math::u64>> limbs;  // every limb of every result, in order
  std::vector<double> decoded;
};

Outcome run_pipeline(const ParamsLiteral& lit) {
  testing::Bundle b(lit, {1, 5, -3});
  const std::size_t top = b.params.max_level(), slots = b.params.slots();
  auto x = b.random_values(slots, 1.0, 1), y = b.random_values(slots, 1.0, 2);
  Outcome out;
  auto keep = [&](const Ciphertext& c) {
    for (const auto& p : c.polys)
      for (std::size_t i = 0; i <= c.level; ++i) out.limbs.emplace_back(p.limb(i), p.limb(i) + b.params.n());
  };
  const Ciphertext cx = b.encrypt(x, top), cy = b.encrypt(y, top);
  keep(cx);
  Ciphertext prod = b.evaluator.multiply_relin(cx, cy, b.rk);
  b.evaluator.rescale_inplace(prod);
  keep(prod);
  keep(b.evaluator.rotate(prod, 5, b.gk));
  const std::vector<int> steps = {1, -3};
  for (const auto& r : b.evaluator.rotate_hoisted(cx, steps, b.gk)) keep(r);
  std::vector<const Ciphertext*> ptrs = {&cx, &cy, &cx};
  const std::vector<double> w = {0.25, -0.5, 0.125};
  Ciphertext dot = b.evaluator.dot_product(ptrs, w);
  keep(dot);
  out.decoded = b.decrypt(prod);
  return out;
}

class SimdPaths : public ::testing::TestWithParam<testing::ParamCase> {};

TEST_P(SimdPaths, BitIdenticalOnEveryPath) {
  const auto supported = math::simd::supported_paths();
  ASSERT_FALSE(supported.empty());
  std::unique_ptr<Outcome> reference;
  std::string ran;
  for (Path p : supported) {
    math::simd::ScopedPath scoped(p);
    Outcome o = run_pipeline(GetParam().literal);
    ran += std::string(" ") + math::simd::path_name(p);
    if (!reference) {
      reference = std::make_unique<Outcome>(std::move(o));
      continue;
    }
    ASSERT_EQ(o.limbs.size(), reference->limbs.size());
    for (std::size_t i = 0; i < o.limbs.size(); ++i)
      ASSERT_TRUE(o.limbs[i] == reference->limbs[i]) << math::simd::path_name(p) << " differs from scalar in limb " << i;
    ASSERT_TRUE(o.decoded == reference->decoded) << math::simd::path_name(p) << " decodes differently";
  }
  ::testing::Test::RecordProperty("paths", ran);
  std::cout << GetParam().name << ": compared paths" << ran << "\n";
  if (supported.size() < 2) GTEST_SKIP() << "only the scalar path exists on this CPU: nothing to compare";
}

std::vector<testing::ParamCase> cases() {
  auto c = testing::param_cases();
  // INSECURE test set: two small primes per key-switching digit, so ModUp and ModDown take the
  // multi-prime conversion on the AVX2 path.
  c.push_back({"insecure_n2048_dnum2_small", {11, {30, 26, 26, 26}, {30, 31}, 26, 0, true}, -6});
  return c;
}

INSTANTIATE_TEST_SUITE_P(ParamSets, SimdPaths, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hemi::ckks
