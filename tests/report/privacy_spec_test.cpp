// Spec fields for privacy-preserving training: [experiment.train.dp] and
// [experiment.train.federated] (with its own dp table), their defaults, and one negative test
// for every rejection; the privacy section of the report.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hemi/base/error.h"
#include "hemi/report/output.h"
#include "hemi/report/privacy_runs.h"
#include "hemi/report/spec.h"

namespace hemi::report {
namespace {

const char* kBase = R"(
[[experiment]]
name = "e"
dataset = "mnist"
model = "seed-cnn"
[experiment.train]
epochs = 2
)";

std::string with(const std::string& extra) { return std::string(kBase) + extra + "\n"; }

void expect_rejected(const std::string& text, std::initializer_list<std::string> needles) {
  try {
    parse_spec(text, "t.toml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

TEST(reportPrivacySpec, DpTable) {
  Spec s = parse_spec(with("[experiment.train.dp]\nepsilon = 3\ndelta = 1e-5\nclip = 0.5"), "t.toml");
  const auto& t = *s.experiments[0].train;
  ASSERT_TRUE(t.dp);
  EXPECT_DOUBLE_EQ(t.dp->epsilon, 3);
  EXPECT_DOUBLE_EQ(t.dp->delta, 1e-5);
  EXPECT_DOUBLE_EQ(t.dp->clip, 0.5);
  EXPECT_FALSE(t.federated);
  Spec n = parse_spec(with("[experiment.train.dp]\nnoise = 1.1"), "t.toml");
  EXPECT_DOUBLE_EQ(n.experiments[0].train->dp->noise, 1.1);
  EXPECT_DOUBLE_EQ(n.experiments[0].train->dp->delta, 0);  // the default, chosen from n at run time
  EXPECT_TRUE(is_private_training(n.experiments[0]));
  EXPECT_FALSE(is_private_training(parse_spec(kBase, "t.toml").experiments[0]));
}

TEST(reportPrivacySpec, FederatedTable) {
  Spec s = parse_spec(with("[experiment.train.federated]\nsites = 4\nrounds = 20\nlocal_epochs = 2\nfraction = 0.5\n"
                           "alpha = 0.5\nsecure = true\n[experiment.train.federated.dp]\nepsilon = 8"),
                      "t.toml");
  const auto& f = *s.experiments[0].train->federated;
  EXPECT_EQ(f.sites, 4);
  EXPECT_EQ(f.rounds, 20);
  EXPECT_EQ(f.local_epochs, 2);
  EXPECT_DOUBLE_EQ(f.fraction, 0.5);
  EXPECT_DOUBLE_EQ(f.alpha, 0.5);
  EXPECT_TRUE(f.secure);
  ASSERT_TRUE(f.dp);
  EXPECT_DOUBLE_EQ(f.dp->epsilon, 8);
  Spec d = parse_spec(with("[experiment.train.federated]"), "t.toml");
  EXPECT_EQ(d.experiments[0].train->federated->sites, 4);
  EXPECT_EQ(d.experiments[0].train->federated->rounds, 20);
  EXPECT_FALSE(d.experiments[0].train->federated->secure);
}

TEST(reportPrivacySpec, Rejections) {
  expect_rejected(with("[experiment.train.dp]"), {"dp", "exactly one of 'epsilon' and 'noise'"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\nnoise = 1"), {"exactly one"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 0"), {"'epsilon'", "(0, 10000]"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = -1"), {"'epsilon'"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\ndelta = 1"), {"'delta'", "below 1"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\ndelta = 0"), {"'delta'"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\nclip = 0"), {"'clip'"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\nsigma = 1"), {"'sigma'", "unknown key"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = \"3\""), {"'epsilon'", "must be a number"});
  expect_rejected(with("[experiment.train.federated]\nsites = 0"), {"federated", "'sites'"});
  expect_rejected(with("[experiment.train.federated]\nrounds = 0"), {"'rounds'"});
  expect_rejected(with("[experiment.train.federated]\nlocal_epochs = 0"), {"'local_epochs'"});
  expect_rejected(with("[experiment.train.federated]\nfraction = 0"), {"'fraction'"});
  expect_rejected(with("[experiment.train.federated]\nfraction = 1.5"), {"'fraction'"});
  expect_rejected(with("[experiment.train.federated]\nalpha = -0.5"), {"'alpha'"});
  expect_rejected(with("[experiment.train.federated]\nsecure = 1"), {"'secure'", "true or false"});
  expect_rejected(with("[experiment.train.federated]\nclients = 4"), {"'clients'", "unknown key"});
  expect_rejected(with("[experiment.train.federated]\n[experiment.train.federated.dp]\nnoise = 1\nclip = -1"),
                  {"federated: dp", "'clip'"});
  expect_rejected(with("[experiment.train.dp]\nepsilon = 3\n[experiment.train.federated]"), {"exclude each other"});
  expect_rejected(with("noise = true\n[experiment.train.dp]\nepsilon = 3"), {"'noise'", "cannot be combined"});
  expect_rejected(with("dp = 3"), {"'dp'", "must be a table"});
}

TEST(reportPrivacySpec, GuaranteeInWordsAndMarkdown) {
  RunResult plain;
  plain.experiment = "e";
  plain.variant = "plain";
  plain.mode = "plain";
  EXPECT_NE(privacy_in_words(plain).find("no protection"), std::string::npos);
  RunResult enc = plain;
  enc.variant = "encrypted";
  enc.mode = "encrypted";
  enc.ckks = CkksInfo{};
  enc.ckks->security_bits = 128;
  EXPECT_NE(privacy_in_words(enc).find("server sees only encrypted inputs"), std::string::npos);
  RunResult fed = plain;
  fed.training.method = "fedavg";
  fed.training.privacy = "raw data stays at 4 sites; server sees only the sum of updates";
  fed.training.round_accuracy = {0.9, 0.95};
  fed.training.bytes_moved = 2000000;
  Report rep;
  EXPECT_EQ(privacy_markdown(rep), "");
  rep.runs = {plain, enc, fed};
  std::string md = privacy_markdown(rep);
  EXPECT_NE(md.find("## Privacy"), std::string::npos);
  EXPECT_NE(md.find("server sees only the sum of updates"), std::string::npos);
  EXPECT_NE(md.find("2 MB (training)"), std::string::npos);
  EXPECT_NE(md.find("0.9000, 0.9500"), std::string::npos);
}

}  // namespace
}  // namespace hemi::report

namespace hemi::report {
namespace {

TEST(reportPrivacySpec, FiguresForDpAndFederatedRuns) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot is not installed: no figures to check";
  RunResult dp;
  dp.experiment = "dp";
  dp.variant = "plain";
  dp.mode = "plain";
  dp.dataset = "mnist";
  dp.training.method = "dp-sgd";
  dp.training.dp_epsilon = 3;
  dp.metrics.accuracy = 0.9;
  RunResult dp8 = dp;
  dp8.training.dp_epsilon = 8;
  dp8.metrics.accuracy = 0.95;
  RunResult fed = dp;
  fed.experiment = "fed";
  fed.training = {};
  fed.training.round_accuracy = {0.5, 0.8, 0.9};
  Report rep;
  rep.runs = {dp8, dp, fed};
  const auto dir = std::filesystem::temp_directory_path() / ("hemi_privacy_fig_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  PrivacyFigures f = write_privacy_figures(rep, dir.string());
  EXPECT_EQ(f.warning, "");
  EXPECT_EQ(f.files.size(), 4u);  // two figures, PNG and SVG
  std::ifstream eps(dir / "privacy_epsilon.dat");
  std::string first;
  std::getline(eps, first);
  EXPECT_EQ(first.rfind("3 0.9", 0), 0u) << first;  // sorted by epsilon
  std::filesystem::remove_all(dir);
  Report none;
  EXPECT_TRUE(write_privacy_figures(none, "/nonexistent").files.empty());
}

}  // namespace
}  // namespace hemi::report
