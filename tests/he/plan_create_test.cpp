// Plan::create: the one place a plan is validated (when made or loaded); the roles take only
// validated plans and do not check again. Each kind of rejection with its reason. INSECURE
// small parameters.
#include <gtest/gtest.h>

#include <functional>

#include "hemi/he/compiler.h"
#include "hemi/he/roles.h"
#include "small_models.h"

namespace hemi::he {
namespace {

nn::Model small_model() {
  std::mt19937_64 rng(2);
  return testing::make_model(1, 6, 6, {testing::conv(1, 2, 3, 1, 0, rng), nn::Square{}, nn::Flatten{}, testing::dense(32, 3, rng)}, 3);
}

Plan compiled(Packing packing) {
  CompileOptions o;
  o.packing = packing;
  o.params = testing::insecure_params(4);
  return compile(small_model(), o);
}

TEST(PlanCreate, MadeAndLoadedPlansAreValidatedOnce) {
  for (Packing p : {Packing::kThroughput, Packing::kLatency}) {
    const Plan plan = compiled(p);
    EXPECT_TRUE(plan.validated());
    EXPECT_TRUE(Plan::from_json(plan.to_json()).validated());
  }
  EXPECT_FALSE(Plan{}.validated());
}

TEST(PlanCreate, RolesRefuseAPlanThatWasNotValidated) {
  const Plan raw = Plan::from_json(compiled(Packing::kThroughput).to_json());
  Plan unvalidated;  // filled in by hand, not made through create
  unvalidated.packing = raw.packing;
  unvalidated.params = raw.params;
  auto refused = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(refused([&] { Client c(unvalidated, Seed{1}); }).find("not validated"), std::string::npos);
  EXPECT_NE(refused([&] { PreparedModel m(unvalidated, small_model()); }).find("not validated"), std::string::npos);
  // The same plan made through create is accepted by both roles.
  EXPECT_EQ(refused([&] {
              Client c(raw, Seed{1});
              Server s(raw, small_model(), c.eval_keys());
            }),
            "(accepted)");
}

// Each rejection of validation_error, reached through create, with its reason.
TEST(PlanCreate, RefusesEachInconsistency) {
  struct Case {
    Packing packing;
    std::function<void(Plan&)> change;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {Packing::kThroughput, [](Plan& p) { p.params.log_n = 40; }, "CKKS parameters are refused"},
      {Packing::kThroughput, [](Plan& p) { p.model_id.assign(200, 'a'); }, "model id of 200"},
      {Packing::kThroughput, [](Plan& p) { p.architecture.assign(300, 'a'); }, "architecture name of 300"},
      {Packing::kThroughput, [](Plan& p) { p.input_channels = 2; }, "input channels 2"},
      {Packing::kThroughput, [](Plan& p) { p.input_height = 0; }, "input size 0 x 6"},
      {Packing::kThroughput, [](Plan& p) { p.input_height = p.input_width = 4096; p.input_channels = 3; }, "values (at most"},
      {Packing::kThroughput, [](Plan& p) { p.classes = 0; }, "class count 0"},
      {Packing::kThroughput, [](Plan& p) { p.depth = 99; }, "depth 99"},
      {Packing::kThroughput, [](Plan& p) { p.input_level = 99; }, "input level 99"},
      {Packing::kThroughput, [](Plan& p) { p.layers.resize(kMaxPlanLayers + 1); }, "layers (at most"},
      {Packing::kThroughput, [](Plan& p) { p.layers[0].level_out = p.layers[0].level_in + 1; }, "layer 0 goes from level"},
      {Packing::kThroughput, [](Plan& p) { p.layers[0].diagonals = -1; }, "negative diagonal count"},
      {Packing::kThroughput, [](Plan& p) { p.images_per_batch = 0; }, "batch of 0 images"},
      {Packing::kThroughput, [](Plan& p) { p.ciphertexts_per_batch = 5; }, "throughput input of 5 ciphertexts"},
      {Packing::kThroughput, [](Plan& p) { p.rotation_steps = {1}; }, "latency-packing fields"},
      {Packing::kLatency, [](Plan& p) { p.images_per_batch = 2; }, "latency packing with 2 images"},
      {Packing::kLatency, [](Plan& p) { p.period = 48; }, "period 48"},
      {Packing::kLatency, [](Plan& p) { p.classes = static_cast<int>(p.period) + 1; }, "classes do not fit the period"},
      {Packing::kLatency, [](Plan& p) { p.input_values = p.period + 1; }, "input values do not fit the period"},
      {Packing::kLatency, [](Plan& p) { p.rotation_steps = {0}; }, "rotation step 0 is outside"},
      {Packing::kLatency, [](Plan& p) { p.rotation_steps = {3, 3}; }, "listed twice"},
      {Packing::kLatency, [](Plan& p) { p.input_im2col = true; p.im2col_conv = {1, 2, 3, 3, 0, 1, 0, 0}; }, "im2col stride 0 x 1"},
      {Packing::kLatency, [](Plan& p) { p.input_im2col = true; p.im2col_conv = {3, 2, 3, 3, 1, 1, 0, 0}; }, "im2col convolution over 3 channels"},
  };
  for (const Case& c : cases) {
    Plan p = compiled(c.packing);
    c.change(p);
    auto made = Plan::create(p);
    ASSERT_FALSE(made.ok()) << c.reason;
    EXPECT_NE(made.error().find(c.reason), std::string::npos) << made.error();
  }
}

}  // namespace
}  // namespace hemi::he
