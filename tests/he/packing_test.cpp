// Both packings against the plaintext interpreter, layer type by layer type, on small models
// and INSECURE small parameters; agreement is asserted on a stated logit precision.
#include <gtest/gtest.h>

#include <cmath>

#include "hemi/he/compiler.h"
#include "hemi/he/roles.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

using testing::conv;
using testing::dense;
using testing::make_model;

std::vector<float> random_images(std::size_t count, std::size_t values, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(count * values);
  for (auto& x : v) x = d(rng);
  return v;
}

// Runs `count` images through the encrypted plan and the interpreter; returns the max |error|.
double max_logit_error(const nn::Model& model, Packing packing, std::size_t count, bool threads) {
  CompileOptions opts;
  opts.packing = packing;
  opts.params = testing::insecure_params();
  Plan plan = compile(model, opts);
  Client client(plan, Seed{7});
  ThreadPool pool(2);
  Server server(plan, model, client.eval_keys(), threads ? &pool : nullptr);
  const std::size_t values = model.input_shape().size();
  auto images = random_images(count, values, 11);
  std::vector<std::vector<double>> logits;
  if (packing == Packing::kThroughput) {
    std::vector<const float*> ptrs;
    for (std::size_t i = 0; i < count; ++i) ptrs.push_back(images.data() + i * values);
    auto out = server.evaluate_batch([&](std::size_t k) {
      return ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value(ptrs, k));
    });
    logits = client.decrypt_logits(out, count);
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(images.data() + i * values));
      auto l = client.decrypt_logits({server.evaluate_image(ct)}, 1);
      logits.push_back(l[0]);
    }
  }
  double err = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto want = nn::forward(model, images.data() + i * values);
    for (std::size_t c = 0; c < want.size(); ++c) err = std::max(err, std::fabs(want[c] - logits[i][c]));
  }
  return err;
}

constexpr double kTolerance = 1e-4;  // 2^-13: far above the 2^-25 fresh noise at scale 2^40

class Packings : public ::testing::TestWithParam<Packing> {};

TEST_P(Packings, ConvMultiChannelStridePaddingThenDense) {
  std::mt19937_64 rng(1);
  auto m = make_model(3, 7, 7, {conv(3, 3, 3, 2, 1, rng), nn::Flatten{}, dense(48, 4, rng)}, 4);
  EXPECT_LT(max_logit_error(m, GetParam(), 5, false), kTolerance);
}

TEST_P(Packings, TwoConvolutionsSquareAndAveragePooling) {
  std::mt19937_64 rng(2);
  auto m = make_model(1, 8, 8,
                      {conv(1, 2, 3, 1, 1, rng), nn::Square{}, nn::AvgPool2d{2, 2, 2, 2}, conv(2, 3, 3, 1, 0, rng),
                       nn::Flatten{}, dense(12, 3, rng)},
                      3);
  EXPECT_LT(max_logit_error(m, GetParam(), 4, true), kTolerance);
}

TEST_P(Packings, PolynomialActivationsOfDegreeOneTwoThree) {
  std::mt19937_64 rng(3);
  for (auto coeffs : {std::vector<double>{0.1, 0.7}, std::vector<double>{0.25, 0.5, 0.125},
                      std::vector<double>{0.0, 1.0, 0.0, -0.2}}) {
    auto m = make_model(1, 4, 4, {nn::Flatten{}, dense(16, 6, rng), nn::Polynomial{coeffs}, dense(6, 2, rng)}, 2);
    EXPECT_LT(max_logit_error(m, GetParam(), 3, false), kTolerance) << coeffs.size() - 1;
  }
}

TEST_P(Packings, SeedCnnShape) {
  // The study's network (conv 7x7 stride 3, square, dense 256->64, square, dense 64->10) with
  // random weights, on random 28x28 inputs.
  std::mt19937_64 rng(4);
  nn::Conv2d c = conv(1, 4, 7, 3, 0, rng);
  for (auto& w : c.weight) w *= 0.3;
  nn::Dense d1 = dense(256, 64, rng), d2 = dense(64, 10, rng);
  for (auto& w : d1.weight) w *= 0.2;
  auto m = make_model(1, 28, 28, {c, nn::Square{}, nn::Flatten{}, d1, nn::Square{}, d2}, 10);
  EXPECT_LT(max_logit_error(m, GetParam(), 2, true), kTolerance);
}

TEST_P(Packings, AllZeroRowsGiveTheirBias) {
  // A row with no non-zero weight has no dot product: the server makes a zero ciphertext at
  // the right level and adds the bias (first layer, streamed, and a later layer).
  std::mt19937_64 rng(7);
  nn::Dense d1 = dense(16, 4, rng), d2 = dense(4, 3, rng);
  for (int i = 0; i < 16; ++i) d1.weight[16 + i] = 0.0;  // row 1
  for (int i = 0; i < 4; ++i) d2.weight[2 * 4 + i] = 0.0;  // row 2
  auto m = make_model(1, 4, 4, {nn::Flatten{}, d1, nn::Square{}, d2}, 3);
  EXPECT_LT(max_logit_error(m, GetParam(), 3, true), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Both, Packings, ::testing::Values(Packing::kThroughput, Packing::kLatency),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(Server, ServersForTwoClientsShareOnePreparedModel) {
  std::mt19937_64 rng(6);
  auto m = make_model(1, 4, 4, {nn::Flatten{}, dense(16, 3, rng), nn::Square{}, dense(3, 2, rng)}, 2);
  CompileOptions opts;
  opts.packing = Packing::kLatency;
  opts.params = testing::insecure_params();
  Plan plan = compile(m, opts);
  auto prepared = std::make_shared<const PreparedModel>(plan, m);
  Client alice(plan, Seed{1}), bob(plan, Seed{2});
  Server for_alice(prepared, alice.eval_keys()), for_bob(prepared, bob.eval_keys());
  std::vector<float> img(16);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = 0.1f * static_cast<float>(i) - 0.7f;
  auto want = nn::forward(m, img.data());
  for (auto [client, server] : {std::pair<Client*, Server*>{&alice, &for_alice}, {&bob, &for_bob}}) {
    auto ct = ckks::SymmetricEncryptor::expand(client->params(), client->encrypt_image(img.data()));
    auto got = client->decrypt_logits({server->evaluate_image(ct)}, 1)[0];
    for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(got[c], want[c], kTolerance);
  }
  // Bob's keys cannot decrypt what the server computed for Alice.
  auto ct = ckks::SymmetricEncryptor::expand(alice.params(), alice.encrypt_image(img.data()));
  auto wrong = bob.decrypt_logits({for_alice.evaluate_image(ct)}, 1)[0];
  EXPECT_GT(std::fabs(wrong[0] - want[0]), 1.0);
}

TEST(Server, RefusesAPlanForAnotherModelAndMissingKeys) {
  std::mt19937_64 rng(5);
  auto m1 = make_model(1, 4, 4, {nn::Flatten{}, dense(16, 2, rng)}, 2);
  auto m2 = make_model(1, 4, 4, {nn::Flatten{}, dense(16, 2, rng)}, 2);
  CompileOptions opts;
  opts.packing = Packing::kLatency;
  opts.params = testing::insecure_params();
  Plan plan = compile(m1, opts);
  ASSERT_FALSE(plan.rotation_steps.empty());
  Client client(plan, Seed{1});
  EXPECT_THROW(Server(plan, m2, client.eval_keys()), Error);
  EvalKeys keys = client.eval_keys();
  keys.galois.keys.erase(keys.galois.keys.begin());
  try {
    Server s(plan, m1, keys);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no Galois key for rotation step"), std::string::npos) << e.what();
  }
  Server server(plan, m1, client.eval_keys());
  // An input at the wrong level is refused.
  std::vector<float> img(16, 0.5f);
  auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(img.data()));
  ckks::Evaluator(client.params()).drop_level_inplace(ct, 0);
  EXPECT_THROW(server.evaluate_image(ct), Error);
  EXPECT_THROW(server.evaluate_batch([&](std::size_t) { return ct; }), Error);  // wrong packing
}

}  // namespace
}  // namespace hemi::he
