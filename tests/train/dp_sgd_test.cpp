// DP-SGD: per-example gradients (closed forms vs the per-example loop), training on generated
// data (no ../shared needed), the reported guarantee, and rejections.
#include "hemi/train/dp_sgd.h"

#include <gtest/gtest.h>

#include "generated_images.h"
#include "hemi/train/dp_accountant.h"
#include "hemi/train/per_example_grad.h"
#include "hemi/train/torch_model.h"

namespace hemi::train {
namespace {

data::ImageSet generated_set(std::size_t count, int classes, int channels, int size, std::uint64_t seed) {
  return test::generated_images(count, classes, channels, size, seed);
}

nn::Model build(const std::string& arch, const data::ImageSet& set, std::uint64_t seed) {
  return test::model_for(arch, set, seed);
}

void expect_fast_equals_loop(const std::string& arch, int channels, int size) {
  auto set = generated_set(12, 4, channels, size, 3);
  auto model = build(arch, set, 5);
  TorchNet net(model);
  auto x = torch::from_blob(set.pixels.data(), {12, channels, size, size}, torch::kFloat).clone();
  auto y = torch::tensor(std::vector<int64_t>(set.labels.begin(), set.labels.end()));
  torch::Tensor fast = per_example_gradients(*net, x, y);
  torch::Tensor slow = per_example_gradients_loop(*net, x, y);
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  ASSERT_EQ(fast.size(0), 12);
  ASSERT_EQ(fast.size(1), params);
  ASSERT_EQ(slow.sizes(), fast.sizes());
  const double scale = slow.abs().max().item<double>();
  ASSERT_GT(scale, 0);
  EXPECT_LT((fast - slow).abs().max().item<double>(), 1e-5 * scale) << arch;
  // Ghost clipping: the clipped sum and the norms without the N × P matrix.
  for (double clip : {1e-3, 0.5, 1e6}) {
    torch::Tensor norms;
    torch::Tensor sum = clipped_gradient_sum(*net, x, y, clip, &norms);
    torch::Tensor slow_norms = slow.norm(2, 1);
    EXPECT_LT((norms - slow_norms).abs().max().item<double>(), 1e-5 * slow_norms.max().item<double>()) << arch;
    torch::Tensor want = (slow * (clip / slow_norms).clamp_max(1.0).unsqueeze(1)).sum(0);
    EXPECT_LT((sum - want).abs().max().item<double>(), 1e-5 * want.abs().max().item<double>()) << arch << " clip " << clip;
  }
  // The rows really differ between examples (not a batch gradient copied 12 times).
  EXPECT_GT((slow[0] - slow[1]).abs().max().item<double>(), 1e-3 * scale);
}

TEST(PerExampleGradients, ClosedFormsMatchTheLoopSeedCnn) { expect_fast_equals_loop("seed-cnn", 1, 28); }
TEST(PerExampleGradients, ClosedFormsMatchTheLoopMriCnn) { expect_fast_equals_loop("mri-cnn", 3, 16); }

TEST(DpSgd, LearnsGeneratedDataAndReportsTheGuarantee) {
  auto train = generated_set(800, 4, 1, 28, 1);
  auto test = generated_set(200, 4, 1, 28, 2);
  auto model = build("seed-cnn", train, 1);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 50;
  o.learning_rate = 0.005;
  o.seed = 7;
  o.threads = 1;
  DpOptions dp;
  dp.clip = 1.0;
  dp.target_epsilon = 8;
  dp.delta = 1e-3;
  int epochs_seen = 0;
  auto r = train_model_dp(model, train, o, dp, [&](const EpochReport&) { ++epochs_seen; });
  EXPECT_EQ(epochs_seen, 3);
  EXPECT_DOUBLE_EQ(r.dp.sampling_rate, 50.0 / 800);
  EXPECT_EQ(r.dp.steps, 3 * 16);
  EXPECT_LE(r.dp.epsilon, 8.0);
  EXPECT_GT(r.dp.epsilon, 7.9);
  EXPECT_DOUBLE_EQ(r.dp.epsilon, dp_epsilon(r.dp.sampling_rate, r.dp.noise_multiplier, r.dp.steps, 1e-3).epsilon);
  EXPECT_NEAR(r.dp.mean_batch, 50, 5);  // Poisson batches average q·n
  EXPECT_GE(r.dp.clipped_fraction, 0);
  EXPECT_LE(r.dp.clipped_fraction, 1);
  EXPECT_GT(evaluate(r.train.model, test).accuracy, 0.9);
}

TEST(DpSgd, SameSeedSameWeights) {
  auto train = generated_set(100, 4, 1, 28, 1);
  auto model = build("seed-cnn", train, 1);
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 20;
  o.threads = 1;
  o.seed = 3;
  DpOptions dp;
  dp.noise_multiplier = 1.0;
  auto a = train_model_dp(model, train, o, dp).train.model;
  auto b = train_model_dp(model, train, o, dp).train.model;
  EXPECT_EQ(std::get<nn::Dense>(a.layers()[3]).weight, std::get<nn::Dense>(b.layers()[3]).weight);
  o.seed = 4;
  auto c = train_model_dp(model, train, o, dp).train.model;
  EXPECT_NE(std::get<nn::Dense>(a.layers()[3]).weight, std::get<nn::Dense>(c.layers()[3]).weight);
}

TEST(DpSgd, RejectsBadOptions) {
  DpOptions ok;
  ok.noise_multiplier = 1.0;
  EXPECT_NO_THROW(validate(ok));
  DpOptions both = ok;
  both.target_epsilon = 3;
  EXPECT_THROW(validate(both), Error);
  DpOptions neither;
  EXPECT_THROW(validate(neither), Error);
  DpOptions clip = ok;
  clip.clip = 0;
  EXPECT_THROW(validate(clip), Error);
  DpOptions delta = ok;
  delta.delta = 1;
  EXPECT_THROW(validate(delta), Error);
  TrainOptions o;
  o.noise.enabled = true;
  EXPECT_THROW(plan_dp(100, o, ok), Error);
  EXPECT_THROW(plan_dp(0, TrainOptions{}, ok), Error);
  auto set = generated_set(10, 4, 1, 28, 1);
  auto wrong = build("mri-cnn", generated_set(4, 4, 3, 16, 1), 1);
  EXPECT_THROW(train_model_dp(wrong, set, TrainOptions{}, ok), Error);
}

}  // namespace
}  // namespace hemi::train
