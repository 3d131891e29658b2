#include <gtest/gtest.h>

#include <random>

#include "hemi/nn/interpreter.h"
#include "hemi/quant/quantize.h"
#include "small_model.h"
#include "support/error_of.h"

namespace hemi::quant {
namespace {

using test_support::error_of;

std::vector<std::int64_t> random_bytes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The normalized float image of pixel bytes, as data::ImageSet holds it.
std::vector<float> normalized(const nn::Model& m, const std::vector<std::int64_t>& p) {
  std::vector<float> v(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) v[i] = static_cast<float>((p[i] / 255.0 - m.input().mean[0]) / m.input().std[0]);
  return v;
}

TEST(Quantize, IntegerLogitsTrackTheFloatModel) {
  const nn::Model m = testing::small_model();
  const QuantizedModel qm = quantize(m, {8}).value();
  ASSERT_EQ(qm.ops.size(), 4u);  // conv, square, pool, dense (flatten is free)
  EXPECT_EQ(qm.ops[1].kind, QOp::Kind::kSquare);
  EXPECT_EQ(qm.ops[1].scale, qm.ops[0].scale * qm.ops[0].scale);
  EXPECT_EQ(qm.ops[2].scale, qm.ops[1].scale * 4);  // avgpool 2x2 is a sum
  std::mt19937 rng(1);
  int agree = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto p = random_bytes(rng, qm.input_size);
    const auto img = normalized(m, p);
    EXPECT_EQ(to_inputs(qm, m, img.data()), p);  // the bytes come back exactly
    const auto f = nn::forward(m, img.data());
    const auto q = forward_int(qm, p);
    double max_f = 0;
    for (double x : f) max_f = std::max(max_f, std::fabs(x));
    for (std::size_t c = 0; c < f.size(); ++c)
      EXPECT_NEAR(static_cast<double>(static_cast<long double>(q[c]) / qm.output_scale()), f[c], 0.02 * max_f + 1e-3);
    int fa = 0, qa = 0;
    for (int c = 1; c < 3; ++c) {
      if (f[c] > f[fa]) fa = c;
      if (q[c] > q[qa]) qa = c;
    }
    agree += fa == qa;
  }
  EXPECT_GE(agree, 195);
}

TEST(Quantize, BiasesBeyond64BitsAreExact) {
  const nn::Model m = testing::small_model(false, true);
  const QuantizedModel qm = quantize(m, {8}).value();
  ASSERT_GT(qm.output_scale(), 0x1p70L);  // the last bias is a 70+-bit integer
  std::mt19937 rng(4);
  for (int trial = 0; trial < 20; ++trial) {
    const auto p = random_bytes(rng, qm.input_size);
    const auto f = nn::forward(m, normalized(m, p).data());
    const auto q = forward_int(qm, p);
    double max_f = 0;
    for (double x : f) max_f = std::max(max_f, std::fabs(x));
    for (std::size_t c = 0; c < f.size(); ++c)
      EXPECT_NEAR(static_cast<double>(static_cast<long double>(q[c]) / qm.output_scale()), f[c], 0.03 * max_f + 1e-3);
  }
}

TEST(Quantize, FewerInputBitsRoundTheBytes) {
  const nn::Model m = testing::small_model();
  const QuantizedModel q4 = quantize(m, {8, 4}).value();
  EXPECT_EQ(q4.input_levels, 15);
  std::vector<std::int64_t> p(q4.input_size, 0);
  p[0] = 255;
  p[1] = 128;
  p[2] = 8;
  p[3] = 9;
  const auto img = normalized(m, p);
  const auto in = to_inputs(q4, m, img.data());
  EXPECT_EQ(in[0], 15);
  EXPECT_EQ(in[1], 8);  // 128 * 15 / 255 = 7.53
  EXPECT_EQ(in[2], 0);  // 0.47
  EXPECT_EQ(in[3], 1);  // 0.53
  // The 4-bit model tracks the float one on inputs it represents exactly (multiples of 17).
  std::vector<std::int64_t> b(q4.input_size);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = 17 * static_cast<std::int64_t>((i * 7) % 16);
  const auto f = nn::forward(m, normalized(m, b).data());
  const auto q = forward_int(q4, to_inputs(q4, m, normalized(m, b).data()));
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(static_cast<double>(static_cast<long double>(q[c]) / q4.output_scale()), f[c], 0.05);
  // The bound scales with L: (255 / 15)^2 = 289 after one square.
  EXPECT_LT(q4.max_bound(), quantize(m, {8, 8}).value().max_bound() / 250);
}

TEST(Quantize, BoundsHoldAtTheExtremes) {
  const nn::Model m = testing::small_model();
  const QuantizedModel qm = quantize(m, {8}).value();
  std::mt19937 rng(2);
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<std::int64_t> p = random_bytes(rng, qm.input_size);
    if (trial == 0) std::fill(p.begin(), p.end(), 255);
    if (trial == 1) std::fill(p.begin(), p.end(), 0);
    for (i128 v : forward_int(qm, p)) EXPECT_LE(std::fabs(static_cast<long double>(v)), qm.ops.back().bound);
  }
  // The bound is the l1 propagation: conv <= 9 * 127 * 255 + |bias|, then squared, ...
  EXPECT_LE(qm.ops[0].bound, 9.0L * 127 * 255 + qm.ops[0].scale + 2);
  EXPECT_GT(qm.max_bound(), qm.ops[2].bound);
}

TEST(Quantize, Rejections) {
  EXPECT_NE(quantize(testing::small_model(true)).error().find("polynomial 2: polynomial activations are not supported"),
            std::string::npos);
  EXPECT_NE(quantize(testing::small_model(), {1}).error().find("weight bits 1 outside [2, 24]"), std::string::npos);
  EXPECT_NE(quantize(testing::small_model(), {25}).error().find("weight bits 25"), std::string::npos);
  EXPECT_NE(quantize(testing::small_model(), {8, 0}).error().find("input bits 0 outside [1, 8]"), std::string::npos);
  EXPECT_NE(quantize(testing::small_model(), {8, 9}).error().find("input bits 9"), std::string::npos);
  const QuantizedModel qm = quantize(testing::small_model()).value();
  EXPECT_NE(error_of([&] { forward_int(qm, std::vector<std::int64_t>(5, 0)); }).find("5 inputs, the model takes 64"),
            std::string::npos);
}

}  // namespace
}  // namespace hemi::quant
