// What the client accepts as a result beyond its framing (formats_test.cpp): the scale the
// plan's evaluation ends at, and decrypted values that are numbers. A result that passes the
// container checks can still decode to garbage: a wrong scale stated on an honest ciphertext
// silently rescales every logit, and a ciphertext of random coefficients at the top level of a
// large ring decodes to infinities (its coefficients reach 2^1000 and more), which softmax
// turns into NaN probabilities printed with exit code 0.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemi/ckks/serialize.h"
#include "hemi/service/client.h"
#include "service_test_util.h"
#include "support/error_of.h"

namespace hemi::service {
namespace {

using test_support::error_of;

TEST(ServiceResultValues, AResultAtAnotherScaleThanThePlansIsRefused) {
  for (he::Packing packing : {he::Packing::kLatency, he::Packing::kThroughput}) {
    const nn::Model m = testing::tiny_model();
    const PlanContext ctx(testing::tiny_plan(m, packing));
    he::Client client(ctx.plan(), Seed{3});
    const he::EvalKeys keys = client.eval_keys();
    const std::string key_set = key_set_fingerprint(keys, ctx);
    const auto images = testing::random_images(1, m.input_shape().size(), 5);
    const Request req = encrypt_images(client, key_set, images.data(), 1).at(0);
    const Result honest = evaluate(he::Server(ctx.plan(), m, keys), req);
    EXPECT_NO_THROW(read_result(write_result(honest, ctx), ctx));
    Result doubled = honest;  // every logit would come out halved
    for (auto& ct : doubled.outputs) ct.scale *= 2;
    const std::string e = error_of([&] { read_result(write_result(doubled, ctx), ctx); });
    EXPECT_NE(e.find("output ciphertext 0 has scale 2^"), std::string::npos) << e;
    EXPECT_NE(e.find("the plan's results have scale 2^"), std::string::npos) << e;
  }
}

TEST(ServiceResultValues, AResultForAPlanWithoutLayersIsRefused) {
  const nn::Model m = testing::tiny_model();
  he::Plan plan = testing::tiny_plan(m, he::Packing::kLatency);
  plan.layers.clear();  // a plan from a server may say anything the validation lets through
  const PlanContext ctx(plan);
  Result r;
  r.images = 1;
  r.key_set = std::string(32, 'a');
  ckks::Ciphertext zero;
  zero.scale = std::exp2(40);
  zero.params_id = ctx.params().id();
  zero.polys.assign(2, ckks::RnsPoly(ctx.params().n(), 1));
  r.outputs.push_back(zero);
  const std::string e = error_of([&] { read_result(write_result(r, ctx), ctx); });
  EXPECT_NE(e.find("the plan has no layers"), std::string::npos) << e;
}

TEST(ServiceResultValues, AResultThatDecryptsToInfinitiesIsRefused) {
  // The tiny latency plan moved to N = 2^16 with a 1,200-bit modulus (INSECURE test
  // parameters; nothing is evaluated, so nothing is compiled for them).
  const nn::Model m = testing::tiny_model();
  he::Plan plan = testing::tiny_plan(m, he::Packing::kLatency);
  plan.params.log_n = 16;
  plan.params.q_bits.assign(20, 60);
  plan.params.p_bits = {60};
  const PlanContext ctx(plan);
  const he::Client client(ctx.plan(), Seed{4});
  const ckks::Params& p = ctx.params();
  ckks::Ciphertext ct;  // uniformly random coefficients at the top level, at the plan's scale
  ct.level = p.max_level();
  ct.scale = std::exp2(ctx.plan().layers.back().log2_scale_out);
  ct.params_id = p.id();
  std::mt19937_64 rng(9);
  for (int k = 0; k < 2; ++k) {
    ckks::RnsPoly poly(p.n(), ct.level + 1);
    for (std::size_t i = 0; i <= ct.level; ++i)
      for (std::size_t j = 0; j < p.n(); ++j) poly.limb(i)[j] = rng() % p.q()[i].value;
    ct.polys.push_back(std::move(poly));
  }
  Result forged;
  forged.images = 1;
  forged.key_set = std::string(32, 'a');
  forged.outputs.push_back(ct);
  const Result loaded = read_result(write_result(forged, ctx), ctx);  // well-formed
  const std::string e = error_of([&] { decrypt_result(client, forged.key_set, loaded, 1); });
  EXPECT_NE(e.find("decrypts to a value that is not a finite number"), std::string::npos) << e;
}

}  // namespace
}  // namespace hemi::service
