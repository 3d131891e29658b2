// quant::run_bfv, the session behind `hemi eval --scheme bfv` and BFV runs of `hemi run`: on the
// small model (INSECURE small rings), the decrypted integer logits equal the quantized model's
// on every image, and every rejection names its reason.
#include <gtest/gtest.h>

#include <random>

#include "hemi/quant/session.h"
#include "small_model.h"
#include "support/error_of.h"

namespace hemi::quant {
namespace {

using test_support::error_of;

SessionOptions insecure_session() {
  SessionOptions o;
  o.quant = {8, 8};
  o.compile.t_bits = 30;
  o.compile.security = 0;
  o.compile.allow_insecure = true;  // INSECURE: small rings keep the test fast
  o.compile.min_log_n = 6;
  o.threads = 2;
  return o;
}

std::vector<float> random_images(std::size_t count, std::uint32_t seed) {
  // Normalized pixels of mean/std 0.5: (byte / 255 - 0.5) / 0.5.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<float> px(count * 64);
  for (auto& p : px) p = static_cast<float>((d(rng) / 255.0 - 0.5) / 0.5);
  return px;
}

TEST(QuantSession, BfvEqualsTheQuantizedModelOnEveryImage) {
  const nn::Model model = testing::small_model();
  const std::size_t count = 30;
  const std::vector<float> px = random_images(count, 11);
  std::vector<int> labels(count);
  for (std::size_t i = 0; i < count; ++i) labels[i] = static_cast<int>(i % 3);
  std::vector<std::string> phases;
  SessionOptions o = insecure_session();
  o.phase = [&](const std::string& p) { phases.push_back(p); };
  const SessionResult r = run_bfv(model, px.data(), count, labels, o);
  EXPECT_EQ(r.images, count);
  EXPECT_EQ(r.exact_agreement, 1.0);
  EXPECT_EQ(r.agreement, 1.0);
  EXPECT_EQ(r.max_logit_error, 0.0);
  EXPECT_EQ(r.accuracy, r.plain_accuracy);
  EXPECT_EQ(r.predicted, r.plain_predicted);
  // The quantized model computed here independently gives the same logits.
  const QuantizedModel qm = quantize(model, o.quant).value();
  for (std::size_t i = 0; i < count; ++i) {
    const auto want = forward_int(qm, to_inputs(qm, model, px.data() + i * 64));
    for (int c = 0; c < 3; ++c)
      EXPECT_DOUBLE_EQ(r.logits[i][c], static_cast<double>(static_cast<long double>(want[c]) / qm.output_scale()));
  }
  EXPECT_GE(r.plan.t.size(), 2u);  // the CRT over several primes is exercised
  EXPECT_GT(r.bytes_up_per_image, 0);
  EXPECT_GT(r.eval_key_bytes, 0u);
  EXPECT_GT(r.secret_key_bytes, 0u);
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(phases, (std::vector<std::string>{"quantize", "compile", "encrypted evaluation", "plaintext reference"}));
}

TEST(QuantSession, Rejections) {
  const nn::Model model = testing::small_model();
  const std::vector<float> px = random_images(2, 3);
  const SessionOptions o = insecure_session();
  EXPECT_NE(error_of([&] { run_bfv(model, px.data(), 0, {}, o); }).find("bfv: no images"), std::string::npos);
  EXPECT_NE(error_of([&] { run_bfv(model, px.data(), 2, {1}, o); }).find("bfv: 1 labels for 2 images"), std::string::npos);
  SessionOptions bad = o;
  bad.threads = -1;
  EXPECT_NE(error_of([&] { run_bfv(model, px.data(), 2, {}, bad); }).find("threads must be at least 0, not -1"), std::string::npos);
  bad = o;
  bad.quant.weight_bits = 30;
  EXPECT_NE(error_of([&] { run_bfv(model, px.data(), 2, {}, bad); }).find("cannot be quantized: weight bits 30 outside [2, 24]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { run_bfv(testing::small_model(true), px.data(), 2, {}, o); }).find("polynomial activations"),
            std::string::npos);
  bad = o;
  bad.compile.max_primes = 1;
  EXPECT_NE(error_of([&] { run_bfv(model, px.data(), 2, {}, bad); }).find("bfv: no plan: "), std::string::npos);
}

}  // namespace
}  // namespace hemi::quant
