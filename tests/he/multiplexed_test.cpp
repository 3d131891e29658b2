// The channel-packed (multiplexed) latency layout against the plaintext interpreter, on small
// models and INSECURE small parameters (N = 2^11, 1024 slots): convolutions with stride 1 and 2,
// padding, several channels over several ciphertexts, fused and standalone average pooling,
// both dense variants; the plan's operation counts against what the executor does; refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "hemi/ckks/encryptor.h"
#include "hemi/he/compiler.h"
#include "hemi/he/multiplexed_conv.h"
#include "hemi/he/multiplexed_layout.h"
#include "hemi/he/roles.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

using testing::conv;
using testing::dense;
using testing::make_model;

std::vector<float> random_image(std::size_t values, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(values);
  for (auto& x : v) x = d(rng);
  return v;
}

Plan mux_plan(const nn::Model& model, int levels = 9, std::size_t plaintext_cache_bytes = std::size_t{1} << 30) {
  CompileOptions o;
  o.packing = Packing::kLatency;
  o.latency_layout = CompileOptions::LatencyLayout::kMultiplexed;
  o.params = testing::insecure_params(levels);
  o.plaintext_cache_bytes = plaintext_cache_bytes;
  return compile(model, o);
}

// Logit precision: CKKS at scale 2^40 keeps about 30 bits through these networks; the bound
// is relative to the largest logit (random weights give logits of very different sizes).
constexpr double kRelativeBound = 1e-5;

// The encrypted logits of `images` images through Client and Server; returns max |error| / max(1, |logit|).
double relative_error(const nn::Model& model, const Plan& plan, int images, bool threads) {
  Client client(plan, Seed{3});
  ThreadPool pool(2);
  Server server(plan, model, client.eval_keys(), threads ? &pool : nullptr);
  double worst = 0;
  for (int i = 0; i < images; ++i) {
    auto img = random_image(model.input_shape().size(), 100 + i);
    auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(img.data()));
    auto got = client.decrypt_logits({server.evaluate_image(ct)}, 1)[0];
    auto want = nn::forward(model, img.data());
    double mag = 1;
    for (double w : want) mag = std::max(mag, std::abs(w));
    for (std::size_t c = 0; c < want.size(); ++c) worst = std::max(worst, std::abs(got[c] - want[c]) / mag);
  }
  return worst;
}

// medcnn's shape at 16x16: conv s1 pad 1 (1 -> 6, two ciphertexts of 4 blocks), conv s2 (6 -> 8),
// avgpool fused into conv 8 -> 5, avgpool fused into dense (rotate-and-sum), dense.
nn::Model medcnn_shaped(std::mt19937_64& rng, int channels = 1) {
  return make_model(channels, 16, 16,
                    {conv(channels, 6, 3, 1, 1, rng), nn::Square{}, conv(6, 8, 3, 2, 1, rng), nn::Square{}, nn::AvgPool2d{},
                     conv(8, 5, 3, 1, 1, rng), nn::Square{}, nn::AvgPool2d{}, nn::Flatten{}, dense(20, 6, rng), nn::Square{},
                     dense(6, 3, rng)},
                    3);
}

TEST(Multiplexed, MedcnnShapedNetworkAgreesWithThePlaintextModel) {
  std::mt19937_64 rng(1);
  nn::Model model = medcnn_shaped(rng);
  Plan plan = mux_plan(model);
  EXPECT_EQ(plan.mux_block, 256u);
  EXPECT_EQ(plan.depth, 9);  // both poolings fused: 11 - 2
  EXPECT_LT(relative_error(model, plan, 2, true), kRelativeBound);
}

// A first convolution with stride 2: the client sends 4 phase channels of 8x8 (space-to-depth),
// blocks of 64 slots instead of 256, and the convolution runs with stride 1 on them.
nn::Model strided_first(std::mt19937_64& rng, int channels) {
  return make_model(channels, 16, 16,
                    {conv(channels, 6, 3, 2, 1, rng), nn::Square{}, conv(6, 8, 3, 2, 1, rng), nn::Square{}, nn::AvgPool2d{},
                     nn::Flatten{}, dense(32, 5, rng), nn::Square{}, dense(5, 3, rng)},
                    3);
}

TEST(Multiplexed, SpaceToDepthInputForAStridedFirstConvolution) {
  std::mt19937_64 rng(10);
  for (int channels : {1, 3}) {
    SCOPED_TRACE(channels);
    nn::Model model = strided_first(rng, channels);
    EXPECT_EQ(phase_factor(model), 2);
    // Without a plaintext cache every weight is encoded per image, and the 4x smaller blocks
    // of the phase form make fewer, cheaper plaintexts: the cost model picks it. (With every
    // plaintext cached, the cost model prefers the plain layout for this tiny network.)
    Plan plan = mux_plan(model, 7, 0);
    EXPECT_EQ(plan.mux_phases, 2);
    EXPECT_EQ(plan.mux_block, 64u);
    EXPECT_LT(relative_error(model, plan, 2, channels == 1), kRelativeBound);
  }
  // No phase form: stride 1, or a stride that does not divide the image.
  EXPECT_EQ(phase_factor(medcnn_shaped(rng)), 1);
  EXPECT_EQ(phase_factor(make_model(1, 15, 15, {conv(1, 2, 3, 2, 1, rng), nn::Flatten{}, dense(128, 2, rng)}, 2)), 1);
}

TEST(Multiplexed, RgbInputIsReplicatedOverTheBlocks) {
  std::mt19937_64 rng(2);
  nn::Model model = medcnn_shaped(rng, 3);
  EXPECT_LT(relative_error(model, mux_plan(model), 1, false), kRelativeBound);
}

TEST(Multiplexed, StrideTwoWithoutPaddingStandalonePoolingAndManyChannels) {
  // 8x8 RGB: blocks of 64 slots, 16 per ciphertext; 20 channels span two ciphertexts. The
  // pooling before a square is its own layer (a constant 1/4 and a level).
  std::mt19937_64 rng(3);
  nn::Model model = make_model(3, 8, 8,
                               {conv(3, 20, 3, 1, 0, rng), nn::Square{}, conv(20, 18, 2, 2, 0, rng), nn::AvgPool2d{2, 2, 2, 2}, nn::Square{},
                                nn::Flatten{}, dense(18, 4, rng)},
                               4);
  Plan plan = mux_plan(model);
  EXPECT_EQ(plan.depth, 6);
  EXPECT_LT(relative_error(model, plan, 2, true), kRelativeBound);
}

TEST(Multiplexed, DenseOverAGridThatDoesNotRotateAndSumTakesOneOffsetPerPosition) {
  // 6x6: a 3x3 grid at gap 2 needs 4 * 2 > 6 columns for rotate-and-sum: one offset per position.
  std::mt19937_64 rng(4);
  nn::Model model = make_model(1, 6, 6, {conv(1, 2, 3, 2, 1, rng), nn::Square{}, nn::Flatten{}, dense(18, 3, rng)}, 3);
  Plan plan = mux_plan(model, 4);
  MultiplexedExecutor ex(plan, model);
  EXPECT_EQ(ex.program().ops.back().weights, MuxOp::kDenseOffsets);
  EXPECT_LT(relative_error(model, plan, 2, false), kRelativeBound);
}

TEST(Multiplexed, PolynomialActivation) {
  std::mt19937_64 rng(5);
  nn::Model model = make_model(1, 8, 8, {conv(1, 4, 3, 1, 1, rng), nn::Polynomial{{0.1, 0.5, 0.25}}, nn::Flatten{}, dense(256, 2, rng)}, 2);
  EXPECT_LT(relative_error(model, mux_plan(model), 1, false), kRelativeBound);
}

// The plan's per-layer counts are what the executor does (nothing cached: every plaintext is
// encoded), and a cache that holds everything encodes nothing for the second image.
class Counts : public ::testing::TestWithParam<bool> {};

TEST_P(Counts, PlanCountsEqualExecutedCounts) {
  std::mt19937_64 rng(6);
  nn::Model model = GetParam() ? strided_first(rng, 1) : medcnn_shaped(rng);
  CompileOptions o;
  o.packing = Packing::kLatency;
  o.latency_layout = CompileOptions::LatencyLayout::kMultiplexed;
  o.params = testing::insecure_params();
  o.plaintext_cache_bytes = 0;
  Plan plan = compile(model, o);
  EXPECT_EQ(plan.plaintext_cache_bytes, 0u);
  Client client(plan, Seed{4});
  EvalKeys keys = client.eval_keys();
  MultiplexedExecutor ex(plan, model);
  // The executor runs the plan's steps (LayerPlan::mux), which are the compiler's lowering of
  // this model: the same operations it ran when it lowered the model itself.
  const MuxProgram lowered = lower_multiplexed(model, client.params().slots(), plan.input_level, plan.mux_phases);
  EXPECT_EQ(ex.program().ops, lowered.ops);
  for (const MuxOp& op : ex.program().ops) EXPECT_EQ(op.terms, plan.layers[op.layer].mux->terms);
  auto img = random_image(model.input_shape().size(), 7);
  auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(img.data()));
  std::vector<OpCounts> counts;
  ex.run(ct, keys.relin, keys.galois, nullptr, &counts);
  ASSERT_EQ(counts.size(), plan.layers.size());
  std::uint64_t pm = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i) + " (" + plan.layers[i].kind + ")");
    const OpCounts& want = plan.layers[i].ops;
    EXPECT_EQ(counts[i].rotations, want.rotations);
    EXPECT_EQ(counts[i].hoisted_groups, want.hoisted_groups);
    EXPECT_EQ(counts[i].relinearizations, want.relinearizations);
    EXPECT_EQ(counts[i].rescales, want.rescales);
    EXPECT_EQ(counts[i].plain_multiplies, want.plain_multiplies);
    EXPECT_EQ(counts[i].encodes, want.encodes);
    EXPECT_EQ(counts[i].additions, want.additions);
    pm += counts[i].plain_multiplies;
  }
  EXPECT_EQ(pm, plan.total.plain_multiplies);
  EXPECT_GT(plan.total.rotations, 0u);

  // Every rotation step the executor uses has a key (the plan lists them; the Server checks).
  CompileOptions big = o;
  big.plaintext_cache_bytes = std::size_t{1} << 30;
  Plan cached = compile(model, big);
  MultiplexedExecutor ex2(cached, model);
  auto first = ex2.run(ct, keys.relin, keys.galois, nullptr, &counts);
  const std::uint64_t encoded = ex2.cache().encoded();
  EXPECT_EQ(encoded, plan.total.encodes);
  auto second = ex2.run(ct, keys.relin, keys.galois, nullptr, &counts);
  EXPECT_EQ(ex2.cache().encoded(), encoded);  // all kept
  std::uint64_t enc2 = 0;
  for (auto& c : counts) enc2 += c.encodes;
  EXPECT_EQ(enc2, 0u);
  EXPECT_EQ(ex2.cache().bytes(), cached.plaintext_cache_bytes);
}
INSTANTIATE_TEST_SUITE_P(Multiplexed, Counts, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "SpaceToDepth" : "Plain"; });

TEST(Multiplexed, PlanRoundTripsThroughJson) {
  std::mt19937_64 rng(8);
  Plan plan = mux_plan(medcnn_shaped(rng));
  Plan back = Plan::from_json(plan.to_json());
  EXPECT_EQ(back.mux_block, plan.mux_block);
  EXPECT_EQ(back.plaintext_cache_bytes, plan.plaintext_cache_bytes);
  EXPECT_EQ(back.total.encodes, plan.total.encodes);
  EXPECT_EQ(back.validation_error(), "");
  back.mux_block = 100;  // not a power of two
  EXPECT_NE(back.validation_error().find("channel block"), std::string::npos);
}

TEST(Multiplexed, RefusesWhatDoesNotFit) {
  std::mt19937_64 rng(9);
  // A memory limit below the keys.
  {
    CompileOptions o;
    o.packing = Packing::kLatency;
    o.latency_layout = CompileOptions::LatencyLayout::kMultiplexed;
    o.params = testing::insecure_params();
    o.max_server_memory = 1 << 20;
    try {
      compile(medcnn_shaped(rng), o);
      ADD_FAILURE() << "a 1 MiB limit was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("over the limit of 1 MiB"), std::string::npos) << e.what();
    }
  }
  // More classes than blocks (16x16: 4 blocks of 256 slots).
  {
    nn::Model m = make_model(1, 16, 16, {conv(1, 2, 3, 2, 1, rng), nn::Flatten{}, dense(128, 5, rng)}, 5);
    try {
      mux_plan(m);
      ADD_FAILURE() << "5 classes in 4 blocks were accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("5 classes do not fit"), std::string::npos) << e.what();
    }
  }
  // A network whose output is not one value per class (a 1x1 convolution to a grid... of
  // classes x 2 x 2 is refused by the model itself; a conv ending in 1x1 grids is fine).
  {
    nn::Model m = make_model(1, 32, 64, {conv(1, 2, 3, 2, 1, rng), nn::Flatten{}, dense(1024, 2, rng)}, 2);
    try {
      mux_plan(m);  // 32x64 = 2048 slots per block, the ring has 1024
      ADD_FAILURE() << "a 32x64 image in 1024 slots was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("needs blocks of 2048 slots"), std::string::npos) << e.what();
    }
  }
  // A multiplexed plan for another model is refused by the server.
  {
    nn::Model a = medcnn_shaped(rng), b = medcnn_shaped(rng);
    Plan plan = mux_plan(a);
    Client client(plan, Seed{5});
    EXPECT_THROW(Server(plan, b, client.eval_keys()), Error);
    // ... and a plan whose rotation steps are not the program's is refused when it is made.
    Plan tampered = plan;
    tampered.rotation_steps.pop_back();
    const auto made = Plan::create(tampered);
    ASSERT_FALSE(made);
    EXPECT_NE(made.error().find("it rotates by"), std::string::npos) << made.error();
    // ... and the executor takes only a validated plan (its steps index the slots).
    Plan raw;
    raw.params = plan.params;
    raw.packing = plan.packing;
    raw.mux_block = plan.mux_block;
    raw.layers = plan.layers;
    try {
      MultiplexedExecutor ex(raw, a);
      ADD_FAILURE() << "an unvalidated plan was run";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not validated"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hemi::he
