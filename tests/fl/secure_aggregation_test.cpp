// CKKS secure aggregation: the decrypted sum against the plaintext sum, bytes, rejections,
// and FedAvg through it against FedAvg in the clear (generated data, no ../shared needed).
#include "hemi/fl/secure_aggregation.h"

#include <gtest/gtest.h>

#include <random>

#include "generated_images.h"

namespace hemi::fl {
namespace {

std::vector<std::vector<double>> random_updates(std::size_t sites, std::size_t len, double scale, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0, scale);
  std::vector<std::vector<double>> u(sites, std::vector<double>(len));
  for (auto& v : u)
    for (double& x : v) x = d(rng);
  return u;
}

TEST(SecureAggregation, SumOfFourSeedCnnSizedUpdates) {
  CkksAggregator agg;
  auto u = random_updates(4, 17299, 0.05, 1);
  auto r = agg(u);
  auto plain = train::plain_sum(u);
  ASSERT_EQ(r.sum.size(), 17299u);
  double err = 0, top = 0;
  for (std::size_t i = 0; i < r.sum.size(); ++i) {
    err = std::max(err, std::abs(r.sum[i] - plain.sum[i]));
    top = std::max(top, std::abs(plain.sum[i]));
  }
  EXPECT_LT(err / top, 1e-6);
  EXPECT_NEAR(agg.last_check().relative_error(), err / top, 1e-15);
  EXPECT_EQ(agg.ciphertexts_per_site(17299), 5u);  // 4096 slots each
  // Seeded uploads: one polynomial of N = 8192 coefficients of 60 bits (packed), plus the
  // seed and the header.
  EXPECT_GT(r.bytes_up, 4u * 5 * 8192 * 60 / 8);
  EXPECT_LT(r.bytes_up, 4u * 5 * (8192 * 60 / 8 + 256));
  EXPECT_GT(r.server_seconds, 0);
}

TEST(SecureAggregation, Rejections) {
  CkksAggregator agg;
  auto u = random_updates(2, 10, 1, 2);
  u[1].pop_back();
  EXPECT_THROW(agg(u), Error);
  auto big = random_updates(2, 10, 1, 2);
  big[0][3] = 1e9;
  EXPECT_THROW(agg(big), Error);
  SecureAggregationOptions bad;
  bad.log_scale = 55;
  EXPECT_THROW(CkksAggregator{bad}, Error);
  EXPECT_TRUE(agg(std::vector<std::vector<double>>{}).sum.empty());
}

TEST(SecureAggregation, FedAvgThroughCkksMatchesFedAvgInTheClear) {
  auto train_set = test::generated_images(200, 4, 1, 28, 1);
  auto test_set = test::generated_images(40, 4, 1, 28, 2);
  auto initial = test::model_for("seed-cnn", train_set, 1);
  train::TrainOptions local;
  local.batch_size = 20;
  local.threads = 1;
  train::FederatedOptions o;
  o.sites = 4;
  o.rounds = 1;
  CkksAggregator agg;
  auto secure = train::federated_train(initial, train_set, test_set, local, o, agg.as_function());
  auto clear = train::federated_train(initial, train_set, test_set, local, o);
  auto a = train::model_weights(secure.model), b = train::model_weights(clear.model);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-7) << i;
  EXPECT_LT(agg.worst_relative_error(), 1e-6);
  EXPECT_GT(secure.bytes, clear.bytes / 2);  // ciphertexts: ~4x the 8-byte doubles, halved by seeding
}

}  // namespace
}  // namespace hemi::fl
