// run_encrypted (`hemi eval`), checked where its numbers could be wrong with exit code 0:
// images across a throughput batch boundary and in the last partial batch each get their own
// logits (equal to the interpreter's on the same weights), agreement and accuracy count every
// image once, and the printed phases add up to the total.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemi/he/session.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

TEST(EncryptedSession, EveryImageAcrossBatchesMatchesTheInterpreter) {
  std::mt19937_64 rng(7);
  const nn::Model model = testing::make_model(
      1, 4, 4, {testing::conv(1, 1, 3, 1, 1, rng), nn::Square{}, nn::Flatten{}, testing::dense(16, 3, rng)}, 3);
  SessionOptions o;
  o.compile.packing = Packing::kThroughput;
  o.compile.params = testing::insecure_params(5);  // N = 2^11: batches of 1024 images
  o.threads = 1;
  const std::size_t count = 1024 + 3;  // one full batch and a partial one of 3
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> images(count * 16);
  for (auto& x : images) x = d(rng);
  std::vector<int> labels(count);
  const nn::BatchOutput plain = nn::forward_batch(model, nn::ImageBatch{images.data(), count, model.input_shape()});
  for (std::size_t i = 0; i < count; ++i) labels[i] = i % 2 ? plain.predicted[i] : (plain.predicted[i] + 1) % 3;
  std::size_t last_done = 0;
  o.progress = [&](std::size_t done, std::size_t all) {
    EXPECT_EQ(all, count);
    last_done = done;
  };
  const SessionResult r = run_encrypted(model, images.data(), count, labels, o);
  ASSERT_EQ(r.plan.images_per_batch, 1024u);
  EXPECT_EQ(last_done, count);
  ASSERT_EQ(r.logits.size(), count);
  for (std::size_t i : {std::size_t{0}, std::size_t{1023}, std::size_t{1024}, std::size_t{1026}})
    for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(r.logits[i][c], plain.logits[i * 3 + c], 1e-3) << "image " << i;
  EXPECT_LT(r.max_logit_error, 1e-3);
  EXPECT_EQ(r.agreement, 1.0);
  EXPECT_NEAR(r.accuracy, static_cast<double>(count / 2) / static_cast<double>(count), 1e-12);  // odd images only
  EXPECT_EQ(r.accuracy, r.plain_accuracy);
  const PhaseSeconds& s = r.seconds;
  EXPECT_NEAR(s.compile + s.keygen + s.setup + s.encrypt + s.evaluate + s.decrypt + s.other, s.total, 1e-9);
  for (double v : {s.compile, s.keygen, s.setup, s.encrypt, s.evaluate, s.decrypt, s.other}) EXPECT_GE(v, 0);
}

// hemi eval's --plaintext-cache-mib and --server-memory-mib reach the session's own compile
// (they once reached only the command's pre-check, and the run used the defaults).
TEST(EncryptedSession, TheServerMemoryOptionsReachThePlan) {
  std::mt19937_64 rng(5);
  const nn::Model model = testing::make_model(
      1, 16, 16,
      {testing::conv(1, 6, 3, 1, 1, rng), nn::Square{}, testing::conv(6, 8, 3, 2, 1, rng), nn::Square{}, nn::AvgPool2d{},
       nn::Flatten{}, testing::dense(128, 3, rng)},
      3);
  std::vector<float> image(256, 0.25f);
  SessionOptions o;
  o.compile.packing = Packing::kLatency;
  o.compile.params = testing::insecure_params(7);
  o.threads = 1;
  o.compile.plaintext_cache_bytes = 4096;
  const SessionResult r = run_encrypted(model, image.data(), 1, {}, o);
  ASSERT_GT(r.plan.mux_block, 0u) << "the test needs the channel-packed layout, where the cache applies";
  EXPECT_EQ(r.plan.plaintext_cache_bytes, 4096u);
  EXPECT_EQ(r.agreement, 1.0);
  o.compile.max_server_memory = 1 << 20;  // below the evaluation keys alone
  try {
    run_encrypted(model, image.data(), 1, {}, o);
    ADD_FAILURE() << "a 1 MiB server limit was not applied";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MiB"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hemi::he
