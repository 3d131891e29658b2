// Quadratic activations folded into their neighbours (nn/activation_fold.h) by the compiler:
// one level per activation instead of two; the encrypted logits agree with the ORIGINAL model's
// plaintext logits in every packing and layout; the plan's per-layer levels and operations are
// what the executors count; the plan records the fold and the server refuses a plan whose fold
// is not its own. INSECURE small parameters (small_models.h).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemi/ckks/encryptor.h"
#include "hemi/he/compiler.h"
#include "hemi/he/multiplexed_conv.h"
#include "hemi/he/roles.h"
#include "hemi/he/throughput_stream.h"
#include "hemi/nn/activation_fold.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

using testing::conv;
using testing::dense;
using testing::make_model;

// medcnn's pattern at 8x8: conv p1 · q · conv s2 p1 · q · avgpool · conv p1 · q · flatten · dense ·
// q · dense, q trained-looking quadratics. The first three come before padded convolutions
// (k + y² remains), the last ones before dense layers (x² remains).
nn::Model quadratic_model(int channels = 1) {
  std::mt19937_64 rng(11);
  return make_model(channels, 8, 8,
                    {conv(channels, 4, 3, 1, 1, rng), nn::Polynomial{{0.2, 0.5, 0.19}}, conv(4, 6, 3, 2, 1, rng),
                     nn::Polynomial{{0.17, 0.5, 0.21}}, nn::AvgPool2d{}, conv(6, 4, 3, 1, 1, rng),
                     nn::Polynomial{{0.23, -0.46, 0.22}}, nn::Flatten{}, dense(16, 5, rng), nn::Polynomial{{0.43, 0.73, 0.17}},
                     dense(5, 3, rng)},
                    3);
}

std::vector<float> random_images(std::size_t count, std::size_t values, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(count * values);
  for (auto& x : v) x = d(rng);
  return v;
}

// max |encrypted - plaintext of the original model| / max(1, max |logit|).
double relative_error(const nn::Model& model, const std::vector<std::vector<double>>& got, const std::vector<float>& images) {
  const std::size_t values = model.input_shape().size();
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto want = nn::forward(model, images.data() + i * values);
    double mag = 1;
    for (double w : want) mag = std::max(mag, std::abs(w));
    for (std::size_t c = 0; c < want.size(); ++c) worst = std::max(worst, std::abs(got[i][c] - want[c]) / mag);
  }
  return worst;
}

CompileOptions options(Packing p, int levels, bool fold = true) {
  CompileOptions o;
  o.packing = p;
  o.params = testing::insecure_params(levels);
  o.fold_activations = fold;
  return o;
}

TEST(FoldedActivations, OneLevelPerQuadraticInThePlan) {
  const nn::Model model = quadratic_model();
  for (Packing p : {Packing::kThroughput, Packing::kLatency}) {
    SCOPED_TRACE(to_string(p));
    const Plan folded = compile(model, options(p, 14));
    const Plan kept = compile(model, options(p, 14, false));
    EXPECT_TRUE(folded.folded_activations);
    EXPECT_FALSE(kept.folded_activations);
    EXPECT_EQ(folded.depth + 4, kept.depth);
    EXPECT_EQ(folded.model_id, kept.model_id);  // the plan names the model as given
    EXPECT_EQ(folded.model_id, model_id(model));
    for (std::size_t i : {1u, 3u, 6u, 9u}) {
      EXPECT_EQ(folded.layers[i].level_in - folded.layers[i].level_out, 1) << i;
      EXPECT_EQ(kept.layers[i].level_in - kept.layers[i].level_out, 2) << i;
      EXPECT_NE(folded.layers[i].note.find("folded"), std::string::npos) << folded.layers[i].note;
    }
    EXPECT_EQ(folded.layers[1].kind, "polynomial");  // k + y² before a padded convolution
    EXPECT_EQ(folded.layers[9].kind, "square");      // the constant went into the dense bias
    EXPECT_NE(folded.describe().find("folded (1 level)"), std::string::npos);
    // The plan round-trips with its fold.
    const Plan back = Plan::from_json(folded.to_json());
    EXPECT_TRUE(back.folded_activations);
    EXPECT_EQ(back.layers[1].note, folded.layers[1].note);
    // Format 3 (the lowered program with its channel-packed steps), which a hemi from before
    // the fold refuses; a format-1 or 2 plan is refused whatever it claims.
    EXPECT_NE(folded.to_json().find("\"version\": 3"), std::string::npos);
    EXPECT_NE(kept.to_json().find("\"version\": 3"), std::string::npos);
    for (const char* old : {"\"version\": 1", "\"version\": 2"}) {
      std::string lie = folded.to_json();
      lie.replace(lie.find("\"version\": 3"), 12, old);
      EXPECT_THROW(Plan::from_json(lie), Error) << old;
    }
  }
}

// Latency, channel-packed layout: agreement with the original model and per-layer predicted ==
// counted on the folded program.
TEST(FoldedActivations, MultiplexedLatencyAgreesAndCountsMatch) {
  const nn::Model model = quadratic_model();
  CompileOptions o = options(Packing::kLatency, 9);
  o.latency_layout = CompileOptions::LatencyLayout::kMultiplexed;
  o.plaintext_cache_bytes = 0;
  const Plan plan = compile(model, o);
  ASSERT_TRUE(plan.folded_activations);
  EXPECT_EQ(plan.depth, 9);  // 5 linear (the pooling fused) + 4 activations at one level each (13 unfolded)
  Client client(plan, Seed{4});
  EvalKeys keys = client.eval_keys();
  const auto images = random_images(2, model.input_shape().size(), 12);
  // Counted per layer by the executor of the folded model (what the server runs).
  MultiplexedExecutor ex(plan, evaluated_model(plan, model));
  auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(images.data()));
  std::vector<OpCounts> counts;
  const ckks::Ciphertext logits = ex.run(ct, keys.relin, keys.galois, nullptr, &counts);
  EXPECT_EQ(static_cast<int>(logits.level), plan.layers.back().level_out);  // the levels the plan predicted
  ASSERT_EQ(counts.size(), plan.layers.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i) + " (" + plan.layers[i].kind + ")");
    const OpCounts& want = plan.layers[i].ops;
    EXPECT_EQ(counts[i].rotations, want.rotations);
    EXPECT_EQ(counts[i].relinearizations, want.relinearizations);
    EXPECT_EQ(counts[i].rescales, want.rescales);
    EXPECT_EQ(counts[i].plain_multiplies, want.plain_multiplies);
    EXPECT_EQ(counts[i].encodes, want.encodes);
    EXPECT_EQ(counts[i].additions, want.additions);
  }
  // Through Client and Server (which fold the model themselves), against the original.
  Server server(plan, model, std::move(keys));
  std::vector<std::vector<double>> got;
  for (std::size_t i = 0; i < 2; ++i) {
    auto c = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(images.data() + i * model.input_shape().size()));
    got.push_back(client.decrypt_logits({server.evaluate_image(c)}, 1)[0]);
  }
  EXPECT_LT(relative_error(model, got, images), 1e-5);
}

TEST(FoldedActivations, DiagonalLatencyAgrees) {
  std::mt19937_64 rng(13);
  // seed-cnn's pattern at 8x8: conv (no padding) · q · flatten · dense · q · dense.
  const nn::Model model = make_model(1, 8, 8,
                                     {conv(1, 2, 3, 2, 0, rng), nn::Polynomial{{0.2, 0.5, 0.19}}, nn::Flatten{}, dense(18, 6, rng),
                                      nn::Polynomial{{0.1, 0.6, 0.3}}, dense(6, 3, rng)},
                                     3);
  CompileOptions o = options(Packing::kLatency, 5);
  o.latency_layout = CompileOptions::LatencyLayout::kDiagonal;
  const Plan plan = compile(model, o);
  EXPECT_TRUE(plan.folded_activations);
  EXPECT_EQ(plan.depth, 5);  // 3 linear + 2 squares (7 unfolded)
  EXPECT_EQ(plan.layers[1].kind, "square");
  EXPECT_EQ(plan.layers[4].kind, "square");
  Client client(plan, Seed{5});
  Server server(plan, model, client.eval_keys());
  const auto images = random_images(3, model.input_shape().size(), 14);
  std::vector<std::vector<double>> got;
  for (std::size_t i = 0; i < 3; ++i) {
    auto c = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(images.data() + i * 64));
    got.push_back(client.decrypt_logits({server.evaluate_image(c)}, 1)[0]);
  }
  EXPECT_LT(relative_error(model, got, images), 1e-5);
}

// Throughput, streamed: agreement with the original model, and the plan's per-layer operations
// and memory peak equal what the server counted.
TEST(FoldedActivations, ThroughputAgreesAndCountsMatch) {
  const nn::Model model = quadratic_model(3);
  const Plan plan = compile(model, options(Packing::kThroughput, 10));
  ASSERT_TRUE(plan.folded_activations);
  EXPECT_EQ(plan.depth, 10);  // 5 linear + the pooling + 4 activations at one level each (14 unfolded)
  Client client(plan, Seed{6});
  Server server(plan, model, client.eval_keys());
  const std::size_t count = 3, values = model.input_shape().size();
  const auto images = random_images(count, values, 15);
  std::vector<const float*> ptrs;
  for (std::size_t i = 0; i < count; ++i) ptrs.push_back(images.data() + i * values);
  StreamStats stats;
  auto out = server.evaluate_batch(
      [&](std::size_t k) { return ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value(ptrs, k)); }, &stats);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(static_cast<int>(out[0].level), plan.layers.back().level_out);  // the levels the plan predicted
  const auto got = client.decrypt_logits(out, count);
  EXPECT_LT(relative_error(model, got, images), 1e-5);
  ASSERT_EQ(stats.layer_ops.size(), plan.layers.size());
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i) + " (" + plan.layers[i].kind + ")");
    EXPECT_EQ(stats.layer_ops[i].relinearizations, plan.layers[i].ops.relinearizations);
    EXPECT_EQ(stats.layer_ops[i].rescales, plan.layers[i].ops.rescales);
    EXPECT_EQ(stats.layer_ops[i].dot_terms, plan.layers[i].ops.dot_terms);
    EXPECT_EQ(stats.layer_ops[i].additions, plan.layers[i].ops.additions);
  }
  EXPECT_EQ(plan.ciphertext_memory_bytes, stats.peak_words * sizeof(std::uint64_t));
}

TEST(FoldedActivations, ServerRefusesAFoldThatIsNotItsOwn) {
  const nn::Model model = quadratic_model();
  // A plan made without folding, then marked folded: its layers are not the rewrite's.
  Plan plan = compile(model, options(Packing::kLatency, 14, false));
  plan.folded_activations = true;
  plan = Plan::create(plan).value();
  try {
    (void)evaluated_model(plan, model);
    ADD_FAILURE() << "a fold that is not the model's rewrite was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not this hemi's rewrite"), std::string::npos) << e.what();
  }
  Client client(plan, Seed{7});
  EXPECT_THROW(Server(plan, model, client.eval_keys()), Error);
  // A plan note longer than the bound is refused when loaded.
  Plan noted = compile(model, options(Packing::kLatency, 14));
  noted.layers[1].note.assign(2000, 'x');
  EXPECT_NE(noted.validation_error().find("note"), std::string::npos);
}

TEST(FoldedActivations, FoldIsIdempotent) {
  const nn::Model model = quadratic_model();
  const nn::ActivationFold once = nn::fold_quadratic_activations(model);
  const nn::ActivationFold twice = nn::fold_quadratic_activations(once.model);
  const auto images = random_images(1, model.input_shape().size(), 16);
  const auto a = nn::forward(once.model, images.data()), b = nn::forward(twice.model, images.data());
  for (std::size_t c = 0; c < a.size(); ++c) EXPECT_NEAR(a[c], b[c], 1e-12 * (1 + std::abs(a[c])));
  for (std::size_t i = 0; i < model.layers().size(); ++i)
    EXPECT_STREQ(nn::layer_kind(once.model.layers()[i]), nn::layer_kind(twice.model.layers()[i])) << i;
}

}  // namespace
}  // namespace hemi::he
