// Real data, real parameters: seed-cnn and lenet-1 trained briefly on MNIST (libtorch, in the
// test), quantized, their weight bits chosen by measuring the quantized model's accuracy on all
// 10,000 test images against the float model's, compiled at 128-bit security, then all 10,000
// test images classified under BFV in one throughput batch (N = 16384 slots) and compared
// logit by logit with the integer model. The encrypted part takes minutes and about 1.5 GB,
// so it runs only with HEMI_SLOW_TESTS=1; the quantization measurement always runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "hemi/data/dataset.h"
#include "hemi/data/split.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "hemi/quant/throughput.h"
#include "hemi/train/trainer.h"
#include "support/test_data_dir.h"

namespace hemi::quant {
namespace {

struct Trained {
  nn::Model model;
  data::ImageSet test;
};

Trained train_arch(const std::string& arch) {
  data::LoadOptions lo;  // 28x28 gray, mean/std 0.5 as in the study
  data::Dataset ds = data::load_dataset("mnist", lo);
  std::vector<std::size_t> first(3000);
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
  nn::ArchitectureOptions ao;
  ao.input = nn::default_input(arch);
  ao.input.mean = {0.5};
  ao.input.std = {0.5};
  ao.class_names = ds.train.class_names;
  ao.seed = 1;
  train::TrainOptions to;
  to.epochs = 2;
  to.batch_size = 64;
  to.threads = 1;
  to.seed = 1;
  auto result = train::train_model(nn::build_architecture(arch, ao).value(), data::subset(ds.train, first), to, {});
  return Trained{result.model, ds.test};
}

void check_network(const std::string& arch) {
  test_support::use_mnist_or_synthetic();
  const Trained t = train_arch(arch);
  const std::size_t count = t.test.size();
  ASSERT_EQ(count, 10000u);
  const nn::BatchOutput fo = nn::forward_batch(t.model, {t.test.pixels.data(), count, t.model.input_shape()});
  const double float_acc = nn::accuracy(fo, t.test.labels);
  EXPECT_GT(float_acc, 0.8);
  // The quantization: of the input and weight widths whose quantized accuracy is within 0.3
  // points of the float model's, the one with the smallest bound (fewest plaintext bits).
  QuantizedModel qm;
  std::vector<std::vector<std::int64_t>> inputs;
  long double best = 0;
  for (int ib : {8, 6, 4, 3})
    for (int wb : {4, 5, 6, 8}) {
      QuantizedModel q = quantize(t.model, {wb, ib}).value();
      std::vector<std::vector<std::int64_t>> in(count);
      std::size_t correct = 0;
      for (std::size_t i = 0; i < count; ++i) {
        in[i] = to_inputs(q, t.model, t.test.image(i));
        const auto logits = forward_int(q, in[i]);
        correct += argmax(logits.data(), q.classes) == t.test.labels[i];
      }
      const double acc = static_cast<double>(correct) / count;
      std::printf("[%s] input bits %d, weight bits %d: quantized accuracy %.4f (float %.4f), bound 2^%.1f\n", arch.c_str(), ib,
                  wb, acc, float_acc, static_cast<double>(std::log2(q.max_bound())));
      if (std::fabs(acc - float_acc) <= 0.003 && (best == 0 || q.max_bound() < best)) {
        best = q.max_bound();
        qm = q;
        inputs = std::move(in);
      }
    }
  ASSERT_GT(best, 0) << "no input/weight width keeps the accuracy within 0.3 points";
  const Plan plan = compile(qm).value();  // 40-bit plaintext primes, 128-bit security
  std::printf("[%s] chosen: input bits %d, weight bits %d: %s\n", arch.c_str(),
              static_cast<int>(std::log2(qm.input_levels + 1)), qm.weight_bits, plan.summary().c_str());
  EXPECT_GE(bfv::Params::create(plan.params.front()).value().security_bits(), 128);
  if (!std::getenv("HEMI_SLOW_TESTS")) GTEST_SKIP() << "the encrypted run over 10,000 images takes minutes: set HEMI_SLOW_TESTS=1";
  const ThroughputResult r = run_throughput(qm, plan, inputs);  // single thread: the machine is shared
  std::size_t same = 0, correct = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto want = forward_int(qm, inputs[i]);
    bool all = true;
    for (int c = 0; c < qm.classes; ++c) all = all && r.logits[i * qm.classes + c] == want[c];
    same += all;
    correct += r.predicted[i] == t.test.labels[i];
  }
  std::printf("[%s] BFV: %zu / %zu images with identical integer logits, accuracy %.4f; wall: keygen %.1f s, encrypt %.1f s, "
              "evaluate %.1f s, decrypt %.1f s; CPU: encrypt %.1f s, evaluate %.1f s; upload %.1f MB, download %.1f MB, "
              "relin keys %.1f MB; budget left %.1f bits\n",
              arch.c_str(), same, count, static_cast<double>(correct) / count, r.keygen_s, r.encrypt_s, r.evaluate_s, r.decrypt_s,
              r.encrypt_cpu_s, r.evaluate_cpu_s, r.upload_bytes / 1e6, r.download_bytes / 1e6, r.eval_key_bytes / 1e6,
              r.min_budget_bits);
  EXPECT_EQ(same, count);
}

TEST(MnistBfv, SeedCnnQuantizedAndEncryptedAgreesExactly) {
  HEMI_REQUIRE_FULL_DATA();  // the 10,000 real test images
  check_network("seed-cnn");
}
TEST(MnistBfv, LeNet1QuantizedAndEncryptedAgreesExactly) {
  HEMI_REQUIRE_FULL_DATA();
  check_network("lenet-1");
}

}  // namespace
}  // namespace hemi::quant
