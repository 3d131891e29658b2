// BFV latency packing of the networks, seed-cnn and LeNet-1 (random weights, the
// default widths: 5-bit weights, 3-bit inputs) at 128-bit security: on a few MNIST test images
// (the synthetic digits when ../shared is absent) the decrypted integer logits equal the
// quantized model's, and the rotations counted equal the plan's. Slow (seconds per image on a
// ring of N = 2^14 or more, plus the Galois keys).
#include <gtest/gtest.h>

#include <cstdio>

#include "hemi/data/dataset.h"
#include "hemi/nn/architectures.h"
#include "hemi/quant/latency.h"
#include "hemi/quant/session.h"
#include "hemi/quant/throughput.h"
#include "support/test_data_dir.h"

namespace hemi::quant {
namespace {

void check_network(const std::string& arch, std::size_t images) {
  const bool real = test_support::use_mnist_or_synthetic();
  data::LoadOptions lo;
  const data::Dataset ds = data::load_dataset("mnist", lo);
  nn::ArchitectureOptions ao;
  ao.input = nn::default_input(arch);
  ao.input.mean = {0.5};
  ao.input.std = {0.5};
  ao.class_names = ds.test.class_names;
  ao.seed = 3;
  const nn::Model model = nn::build_architecture(arch, ao).value();
  const QuantizedModel qm = quantize(model, {kDefaultWeightBits, kDefaultInputBits}).value();
  const LatencyPlan lp = compile_latency(qm).value();
  std::printf("%s (%s): %s\n", arch.c_str(), real ? "MNIST" : "synthetic digits", lp.summary().c_str());
  std::vector<std::vector<std::int64_t>> inputs;
  const std::size_t values = model.input_shape().size();
  for (std::size_t i = 0; i < images; ++i) inputs.push_back(to_inputs(qm, model, ds.test.pixels.data() + i * values));
  ThreadPool pool(2);
  const LatencyResult r = run_latency(qm, lp, inputs, &pool);
  const auto classes = static_cast<std::size_t>(qm.classes);
  for (std::size_t i = 0; i < images; ++i) {
    const auto want = forward_int(qm, inputs[i]);
    for (std::size_t c = 0; c < classes; ++c) EXPECT_TRUE(r.logits[i * classes + c] == want[c]) << arch << " image " << i << " class " << c;
  }
  EXPECT_EQ(r.rotations, images * lp.plan.t.size() * lp.layout.rotations());
  EXPECT_EQ(r.galois_keys, lp.layout.rotation_steps().size());
  EXPECT_GT(r.min_budget_bits, 0);
  std::printf("  per image: encrypt %.2f s, evaluate %.2f s (CPU %.2f s), decrypt %.3f s; keygen %.1f s, server setup %.1f s; "
              "upload %.1f KiB, download %.1f KiB, eval keys %.1f MiB, encoded model %.1f MiB; budget left %.1f bits\n",
              r.encrypt_s / images, r.evaluate_s / images, r.evaluate_cpu_s / images, r.decrypt_s / images, r.keygen_s, r.setup_s,
              r.upload_bytes / 1024.0 / images, r.download_bytes / 1024.0 / images, r.eval_key_bytes / 1048576.0,
              r.plaintext_bytes / 1048576.0, r.min_budget_bits);
}

TEST(LatencyPlans, SeedCnnAndLenet1FitTheServerMemoryLimit) {
  // Compile only (fast): the 128-bit plans, their predicted memory and cost.
  for (const std::string arch : {"seed-cnn", "lenet-1"}) {
    nn::ArchitectureOptions ao;
    ao.input = nn::default_input(arch);
    ao.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    ao.seed = 3;
    const nn::Model model = nn::build_architecture(arch, ao).value();
    const QuantizedModel qm = quantize(model, {kDefaultWeightBits, kDefaultInputBits}).value();
    const auto lp = compile_latency(qm);
    ASSERT_TRUE(lp) << arch << ": " << lp.error();
    std::printf("%s: %s; server %.0f MiB, cost %.3g\n", arch.c_str(), lp.value().summary().c_str(),
                static_cast<double>(lp.value().server_bytes) / 1048576.0, lp.value().cost);
    EXPECT_LE(lp.value().server_bytes, CompileOptions{}.max_server_bytes);
  }
}

TEST(LatencyNetworks, SeedCnnEqualsTheIntegerModel) { check_network("seed-cnn", 2); }
TEST(LatencyNetworks, Lenet1EqualsTheIntegerModel) { check_network("lenet-1", 2); }

}  // namespace
}  // namespace hemi::quant
