// Federated averaging on generated data (no ../shared needed): partitions, the averaging
// arithmetic, client-level DP clipping and accounting, rejections.
#include "hemi/train/federated.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "generated_images.h"
#include "hemi/train/dp_accountant.h"

namespace hemi::train {
namespace {

std::vector<int> labels_of(std::size_t n, int classes) {
  std::vector<int> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = static_cast<int>(i % static_cast<std::size_t>(classes));
  return l;
}

void expect_disjoint_cover(const std::vector<std::vector<std::size_t>>& parts, std::size_t n) {
  std::set<std::size_t> seen;
  std::size_t total = 0;
  for (const auto& p : parts) {
    total += p.size();
    seen.insert(p.begin(), p.end());
  }
  EXPECT_EQ(total, n);
  EXPECT_EQ(seen.size(), n);
  EXPECT_EQ(*seen.rbegin(), n - 1);
}

TEST(Partition, IidIsBalancedDisjointAndSeeded) {
  auto labels = labels_of(1003, 10);
  auto parts = partition_sites(labels, 10, 4, 0, 1);
  ASSERT_EQ(parts.size(), 4u);
  expect_disjoint_cover(parts, 1003);
  for (const auto& p : parts) EXPECT_NEAR(static_cast<double>(p.size()), 1003 / 4.0, 1);
  EXPECT_EQ(parts, partition_sites(labels, 10, 4, 0, 1));
  EXPECT_NE(parts, partition_sites(labels, 10, 4, 0, 2));
}

TEST(Partition, DirichletSkewsLabels) {
  auto labels = labels_of(4000, 10);
  auto skewed = partition_sites(labels, 10, 4, 0.1, 3);
  expect_disjoint_cover(skewed, 4000);
  auto mild = partition_sites(labels, 10, 4, 100, 3);
  expect_disjoint_cover(mild, 4000);
  // The largest share of one class at one site: near 1/4 for alpha 100, near 1 for alpha 0.1.
  auto max_share = [&](const std::vector<std::vector<std::size_t>>& parts) {
    double worst = 0;
    for (int c = 0; c < 10; ++c)
      for (const auto& p : parts) {
        double k = 0;
        for (std::size_t i : p) k += labels[i] == c;
        worst = std::max(worst, k / 400);
      }
    return worst;
  };
  EXPECT_LT(max_share(mild), 0.45);
  EXPECT_GT(max_share(skewed), 0.8);
}

TEST(Partition, RejectsTooFewExamples) {
  EXPECT_THROW(partition_sites(labels_of(3, 2), 2, 4, 0, 1), Error);
  EXPECT_THROW(partition_sites(labels_of(10, 2), 2, 0, 0, 1), Error);
}

TEST(ModelWeights, RoundTrip) {
  auto set = test::generated_images(4, 4, 1, 28, 1);
  auto model = test::model_for("seed-cnn", set, 1);
  auto w = model_weights(model);
  EXPECT_EQ(w.size(), model.parameter_count());
  for (double& v : w) v += 1;
  EXPECT_EQ(model_weights(with_weights(model, w)), w);
  w.pop_back();
  EXPECT_THROW(with_weights(model, w), Error);
}

TEST(FedAvg, LearnsAndAveragesBySiteSize) {
  auto train = test::generated_images(400, 4, 1, 28, 1);
  auto test_set = test::generated_images(100, 4, 1, 28, 2);
  auto initial = test::model_for("seed-cnn", train, 1);
  TrainOptions local;
  local.batch_size = 20;
  local.learning_rate = 0.005;
  local.threads = 1;
  FederatedOptions o;
  o.sites = 4;
  o.rounds = 2;
  o.local_epochs = 2;
  o.seed = 5;
  std::vector<std::vector<std::vector<double>>> seen;
  Aggregator capture = [&](const std::vector<std::vector<double>>& u) {
    seen.push_back(u);
    return plain_sum(u);
  };
  std::vector<RoundReport> rounds;
  auto r = federated_train(initial, train, test_set, local, o, capture, [&](const RoundReport& rr) { rounds.push_back(rr); });
  ASSERT_EQ(rounds.size(), 2u);
  ASSERT_EQ(seen.size(), 2u);
  const std::size_t p = initial.parameter_count();
  EXPECT_EQ(r.bytes, 2 * 4 * (p + 1) * sizeof(double));
  EXPECT_EQ(rounds[0].sites, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GT(rounds.back().test_accuracy, 0.9);
  // After round 2: w = w_1 + Σ n_k Δ_k / Σ n_k, with n_k the last coordinate of each upload.
  auto w1 = model_weights(initial);
  std::vector<double> w = w1;
  for (const auto& round : seen) {
    double n = 0;
    std::vector<double> s(p, 0);
    for (const auto& u : round) {
      ASSERT_EQ(u.size(), p + 1);
      n += u[p];
      for (std::size_t i = 0; i < p; ++i) s[i] += u[i];
    }
    EXPECT_EQ(n, 400);
    for (std::size_t i = 0; i < p; ++i) w[i] += s[i] / n;
  }
  auto got = model_weights(r.model);
  for (std::size_t i = 0; i < p; ++i) ASSERT_NEAR(got[i], w[i], 1e-12) << i;
}

TEST(FedAvg, ClientLevelDpClipsAndAccounts) {
  auto train = test::generated_images(200, 4, 1, 28, 1);
  auto test_set = test::generated_images(40, 4, 1, 28, 2);
  auto initial = test::model_for("seed-cnn", train, 1);
  TrainOptions local;
  local.batch_size = 20;
  local.threads = 1;
  FederatedOptions o;
  o.sites = 4;
  o.rounds = 2;
  o.fraction = 0.75;
  o.dp_clip = 0.01;
  o.dp_noise = 1e-6;  // tiny noise: the clipping shows
  o.dp_delta = 1e-3;
  std::vector<double> norms;
  Aggregator capture = [&](const std::vector<std::vector<double>>& u) {
    for (const auto& v : u) {
      double s = 0;
      for (double x : v) s += x * x;
      norms.push_back(std::sqrt(s));
    }
    return plain_sum(u);
  };
  auto r = federated_train(initial, train, test_set, local, o, capture);
  ASSERT_FALSE(norms.empty());
  for (double n : norms) EXPECT_NEAR(n, 0.01, 1e-4);  // every update is larger than C
  EXPECT_DOUBLE_EQ(r.dp_noise, 1e-6);
  EXPECT_DOUBLE_EQ(r.dp_epsilon, dp_epsilon(0.75, 1e-6, 2, 1e-3).epsilon);
  o.dp_noise = 0;
  o.dp_epsilon = 50;
  auto r2 = federated_train(initial, train, test_set, local, o, capture);
  EXPECT_LE(r2.dp_epsilon, 50);
  EXPECT_GT(r2.dp_epsilon, 49);
}

TEST(FedAvg, RejectsBadOptions) {
  FederatedOptions ok;
  EXPECT_NO_THROW(validate(ok));
  auto bad = [&](auto change) {
    FederatedOptions o = ok;
    change(o);
    EXPECT_THROW(validate(o), Error);
  };
  bad([](FederatedOptions& o) { o.sites = 0; });
  bad([](FederatedOptions& o) { o.rounds = -1; });
  bad([](FederatedOptions& o) { o.local_epochs = 0; });
  bad([](FederatedOptions& o) { o.fraction = 0; });
  bad([](FederatedOptions& o) { o.fraction = 1.5; });
  bad([](FederatedOptions& o) { o.dirichlet_alpha = -1; });
  bad([](FederatedOptions& o) { o.dp_clip = 0; });
  bad([](FederatedOptions& o) { o.dp_noise = 1, o.dp_epsilon = 1; });
  bad([](FederatedOptions& o) { o.dp_noise = 1, o.dp_delta = 0; });
}

}  // namespace
}  // namespace hemi::train
