// Spec parsing: a valid spec with every key, the defaults, and one negative test for every
// rejection (unknown keys at each level, bad values, missing required keys, missing data).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hemi/base/error.h"
#include "hemi/report/spec.h"

namespace hemi::report {
namespace {

const char* kMinimal = R"(
[[experiment]]
name = "e"
dataset = "mnist"
model = "seed-cnn"
)";

// Expects parse_spec to throw hemi::Error whose message contains every one of `needles`.
void expect_rejected(const std::string& text, std::initializer_list<std::string> needles) {
  try {
    parse_spec(text, "t.toml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

// The minimal spec with `extra` lines appended to the experiment table.
std::string with(const std::string& extra) { return std::string(kMinimal) + extra + "\n"; }

TEST(reportSpec, MinimalSpecGetsTheStudyDefaults) {
  Spec s = parse_spec(kMinimal, "dir/minimal.toml");
  EXPECT_EQ(s.name, "minimal");
  EXPECT_EQ(s.bootstrap_resamples, 1000u);
  EXPECT_DOUBLE_EQ(s.confidence, 0.95);
  ASSERT_EQ(s.experiments.size(), 1u);
  const ExperimentSpec& e = s.experiments[0];
  EXPECT_EQ(e.dataset, "mnist");
  EXPECT_EQ(e.model, "seed-cnn");
  EXPECT_FALSE(e.model_is_file);
  ASSERT_TRUE(e.train.has_value());
  EXPECT_EQ(e.train->epochs, 10);
  EXPECT_EQ(e.train->batch_size, 64);
  EXPECT_EQ(e.train->threads, 1);
  EXPECT_FALSE(e.train->noise);
  ASSERT_EQ(e.variants.size(), 1u);
  EXPECT_EQ(e.variants[0].mode, Mode::kPlain);
  EXPECT_EQ(e.variants[0].name, "plain");
  EXPECT_EQ(e.folds, 0);
}

TEST(reportSpec, BrainMriDefaultsToTheStudysTwentyEpochsOfBatch32) {
  Spec s = parse_spec("[[experiment]]\nname = \"m\"\ndataset = \"brain-mri\"\nmodel = \"seed-cnn\"\n");
  EXPECT_EQ(s.experiments[0].train->epochs, 20);
  EXPECT_EQ(s.experiments[0].train->batch_size, 32);
}

TEST(reportSpec, FullSpecIsReadExactly) {
  Spec s = parse_spec(R"(
name = "full"
description = "d"
seed = 7
bootstrap_resamples = 50
confidence = 0.9
[[experiment]]
name = "rgb"
dataset = "brain-mri"
model = "mri-cnn"
channels = "rgb"
size = "32x40"
mean = [0.5, 0.4, 0.3]
std = 0.25
train_fraction = 0.75
train_limit = 100
test_limit = 20
folds = 3
seed = 9
[experiment.train]
epochs = 2
batch_size = 16
learning_rate = 0.01
noise = true
noise_factor = 500
threads = 2
[[experiment.variant]]
name = "plain-all"
mode = "plain"
[[experiment.variant]]
mode = "encrypted"
packing = "latency"
limit = 5
scale_bits = 30
[experiment.variant.params]
log_n = 13
q_bits = [50, 30, 30, 50]
p_bits = [50]
log_scale = 30
[[experiment]]
name = "second"
dataset = "mnist"
model = "seed-cnn"
size = 28
)");
  EXPECT_EQ(s.name, "full");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.bootstrap_resamples, 50u);
  EXPECT_DOUBLE_EQ(s.confidence, 0.9);
  ASSERT_EQ(s.experiments.size(), 2u);
  const ExperimentSpec& e = s.experiments[0];
  EXPECT_EQ(*e.channels, "rgb");
  EXPECT_EQ(*e.height, 32);
  EXPECT_EQ(*e.width, 40);
  EXPECT_EQ(e.mean.size(), 3u);
  EXPECT_FLOAT_EQ(e.stddev[0], 0.25f);
  EXPECT_DOUBLE_EQ(e.train_fraction, 0.75);
  EXPECT_EQ(e.train_limit, 100u);
  EXPECT_EQ(e.test_limit, 20u);
  EXPECT_EQ(e.folds, 3);
  EXPECT_EQ(e.seed, 9u);
  EXPECT_EQ(e.train->epochs, 2);
  EXPECT_EQ(e.train->batch_size, 16);
  EXPECT_DOUBLE_EQ(e.train->learning_rate, 0.01);
  EXPECT_TRUE(e.train->noise);
  EXPECT_DOUBLE_EQ(e.train->noise_factor, 500);
  EXPECT_EQ(e.train->threads, 2);
  ASSERT_EQ(e.variants.size(), 2u);
  EXPECT_EQ(e.variants[0].name, "plain-all");
  EXPECT_EQ(e.variants[1].name, "encrypted");
  EXPECT_EQ(*e.variants[1].packing, he::Packing::kLatency);
  EXPECT_EQ(e.variants[1].limit, 5u);
  EXPECT_EQ(e.variants[1].scale_bits, 30);
  ASSERT_TRUE(e.variants[1].params.has_value());
  EXPECT_EQ(e.variants[1].params->log_n, 13);
  EXPECT_EQ(s.experiments[1].seed, 7u);  // the spec's seed is the default
  EXPECT_EQ(*s.experiments[1].height, 28);
}

TEST(reportSpec, ModelFilePathsAreRelativeToTheSpec) {
  Spec s = parse_spec("[[experiment]]\nname = \"f\"\ndataset = \"mnist\"\nmodel_file = \"models/m.hemi\"\n", "x.toml",
                      "/specs");
  EXPECT_TRUE(s.experiments[0].model_is_file);
  EXPECT_EQ(s.experiments[0].model, "/specs/models/m.hemi");
  EXPECT_FALSE(s.experiments[0].train.has_value());  // a model file is evaluated as is
}

TEST(reportSpec, RejectsTomlSyntaxErrorsWithTheLine) { expect_rejected("name = \n", {"t.toml", "line 1"}); }

TEST(reportSpec, RejectsUnknownKeysAtEveryLevel) {
  expect_rejected(std::string("colour = 1\n") + kMinimal, {"'colour'", "unknown key"});
  expect_rejected(with("epochs = 3"), {"experiment 'e'", "'epochs'", "unknown key"});
  expect_rejected(with("[experiment.train]\nepoch = 3"), {"train", "'epoch'", "unknown key"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"plain\"\nlimt = 3"), {"variant 1", "'limt'", "unknown key"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"encrypted\"\n[experiment.variant.params]\nlog_n = 13\n"
                       "q_bits = [60, 40, 60]\np_bits = [60]\nscale = 40"),
                  {"params", "'scale'", "unknown key"});
}

TEST(reportSpec, RejectsMissingOrMalformedExperiments) {
  expect_rejected("name = \"x\"\n", {"'experiment'", "is required"});
  expect_rejected("experiment = 3\n", {"'experiment'", "[[experiment]]"});
  expect_rejected("[[experiment]]\ndataset = \"mnist\"\nmodel = \"seed-cnn\"\n", {"'name'", "is required"});
  expect_rejected("[[experiment]]\nname = \"a/b\"\ndataset = \"mnist\"\nmodel = \"seed-cnn\"\n", {"'name'", "a/b"});
  expect_rejected(std::string(kMinimal) + kMinimal, {"'name'", "two experiments"});
}

TEST(reportSpec, RejectsAMissingDatasetOrModel) {
  expect_rejected("[[experiment]]\nname = \"e\"\nmodel = \"seed-cnn\"\n", {"experiment 'e'", "'dataset'", "is required"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"\"\nmodel = \"seed-cnn\"\n", {"'dataset'"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = 5\nmodel = \"seed-cnn\"\n", {"'dataset'", "string"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\n", {"'model'", "is required"});
  expect_rejected(with("model_file = \"m.hemi\""), {"'model_file'", "not both"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\nmodel = \"resnet\"\n",
                  {"'model'", "unknown architecture", "resnet"});
}

TEST(reportSpec, RejectsBadPreprocessing) {
  expect_rejected(with("channels = \"cmyk\""), {"'channels'", "cmyk"});
  expect_rejected(with("size = \"big\""), {"'size'", "big"});
  expect_rejected(with("size = 0"), {"'size'"});
  expect_rejected(with("size = 2.5"), {"'size'"});
  expect_rejected(with("mean = [0.1, 0.2]"), {"'mean'", "one per channel"});
  expect_rejected(with("mean = []"), {"'mean'", "empty"});
  expect_rejected(with("std = 0"), {"'std'"});
  expect_rejected(with("std = -1"), {"'std'"});
  expect_rejected(with("std = \"x\""), {"'std'", "number"});
  expect_rejected(with("train_fraction = 0"), {"'train_fraction'"});
  expect_rejected(with("train_fraction = 1"), {"'train_fraction'", "below 1"});
  expect_rejected(with("train_fraction = 1.5"), {"'train_fraction'"});
  expect_rejected(with("train_limit = -1"), {"'train_limit'"});
  expect_rejected(with("folds = 1"), {"'folds'", "at least 2"});
  expect_rejected(with("folds = -2"), {"'folds'"});
  expect_rejected(with("seed = -1"), {"'seed'"});
}

// The split choice: a named split, or a fraction, never both; the duplicate policy.
TEST(reportSpec, SplitAndDuplicatePolicy) {
  Spec s = parse_spec(with("split = \"val\"\nkeep_duplicates = true"));
  EXPECT_EQ(s.experiments[0].split, "val");
  EXPECT_TRUE(s.experiments[0].keep_duplicates);
  EXPECT_FALSE(s.experiments[0].train_fraction_given);
  Spec a = parse_spec(with("split = \"auto\""));
  EXPECT_TRUE(a.experiments[0].split.empty());
  Spec f = parse_spec(with("train_fraction = 0.7"));
  EXPECT_TRUE(f.experiments[0].train_fraction_given);
  EXPECT_FALSE(parse_spec(kMinimal).experiments[0].keep_duplicates);
  expect_rejected(with("train_fraction = 0.7\nsplit = \"test\""), {"'split'", "not both"});
  expect_rejected(with("split = \"0.5\""), {"'split'", "train_fraction"});
  expect_rejected(with("split = 3"), {"'split'", "string"});
  expect_rejected(with("keep_duplicates = 1"), {"'keep_duplicates'"});
}

TEST(reportSpec, RejectsBadTrainingSettings) {
  expect_rejected(with("[experiment.train]\nepochs = -1"), {"train", "'epochs'"});
  expect_rejected(with("[experiment.train]\nbatch_size = 0"), {"'batch_size'"});
  expect_rejected(with("[experiment.train]\nlearning_rate = 0"), {"'learning_rate'"});
  expect_rejected(with("[experiment.train]\nlearning_rate = \"fast\""), {"'learning_rate'", "number"});
  expect_rejected(with("[experiment.train]\nnoise = \"yes\""), {"'noise'", "true or false"});
  expect_rejected(with("[experiment.train]\nnoise_factor = 0"), {"'noise_factor'"});
  expect_rejected(with("[experiment.train]\nthreads = -1"), {"'threads'"});
  expect_rejected(with("train = 3"), {"'train'", "table"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\nmodel_file = \"m\"\nfolds = 3\n",
                  {"'folds'", "training"});
}

TEST(reportSpec, RejectsBadVariants) {
  expect_rejected(with("[[experiment.variant]]\nlimit = 3"), {"variant 1", "'mode'", "is required"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"fast\""), {"'mode'", "fast"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"plain\"\npacking = \"latency\""),
                  {"'packing'", "encrypted variants only"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"plain\"\nscale_bits = 30"), {"'scale_bits'", "encrypted"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"encrypted\"\npacking = \"fast\""), {"'packing'", "fast"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"encrypted\"\nscale_bits = 99"), {"'scale_bits'"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"encrypted\"\nlimit = -5"), {"'limit'"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"plain\"\n[[experiment.variant]]\nmode = \"plain\""),
                  {"variant 2", "used twice"});
  expect_rejected(with("variant = \"plain\""), {"'variant'"});
}

TEST(reportSpec, RejectsInvalidCkksParameters) {
  const std::string v = "[[experiment.variant]]\nmode = \"encrypted\"\n[experiment.variant.params]\n";
  expect_rejected(with(v + "q_bits = [60, 40, 60]\np_bits = [60]"), {"'log_n'", "is required"});
  expect_rejected(with(v + "log_n = 13\np_bits = [60]"), {"'q_bits'", "is required"});
  expect_rejected(with(v + "log_n = 13\nq_bits = [60, 40, 60]"), {"'p_bits'", "is required"});
  expect_rejected(with(v + "log_n = 13\nq_bits = [60, 70]\np_bits = [60]"), {"'q_bits'"});
  expect_rejected(with(v + "log_n = 13\nq_bits = []\np_bits = [60]"), {"'q_bits'"});
  // 2^10 cannot hold 160 bits of modulus at 128-bit security: Params::create refuses.
  expect_rejected(with(v + "log_n = 10\nq_bits = [50, 50]\np_bits = [60]"), {"invalid CKKS parameters"});
  expect_rejected(with("[[experiment.variant]]\nmode = \"plain\"\n[experiment.variant.params]\nlog_n = 13"),
                  {"'params'", "encrypted variants only"});
}

TEST(reportSpec, RejectsBadRunSettings) {
  expect_rejected(std::string("confidence = 1\n") + kMinimal, {"'confidence'"});
  expect_rejected(std::string("confidence = 0\n") + kMinimal, {"'confidence'"});
  expect_rejected(std::string("bootstrap_resamples = -1\n") + kMinimal, {"'bootstrap_resamples'"});
  expect_rejected(std::string("seed = 1.5\n") + kMinimal, {"'seed'", "integer"});
}

TEST(reportSpec, ComparisonsNameExistingRuns) {
  const std::string two = std::string(kMinimal) +
                          "[[experiment]]\nname = \"f\"\ndataset = \"mnist\"\nmodel = \"seed-cnn\"\n";
  Spec s = parse_spec(two + "[[comparison]]\na = \"e/plain\"\nb = \"f/plain\"\n");
  ASSERT_EQ(s.comparisons.size(), 1u);
  EXPECT_EQ(s.comparisons[0].a, "e/plain");
  EXPECT_EQ(s.comparisons[0].b, "f/plain");
  expect_rejected(two + "[[comparison]]\na = \"e/plain\"\n", {"comparison 1", "'b'", "is required"});
  expect_rejected(two + "[[comparison]]\na = \"e/plain\"\nb = \"g/plain\"\n", {"'b'", "no run named 'g/plain'"});
  expect_rejected(two + "[[comparison]]\na = \"e\"\nb = \"f/plain\"\n", {"'a'", "no run named 'e'"});
  expect_rejected(two + "[[comparison]]\na = \"e/encrypted\"\nb = \"f/plain\"\n", {"'a'", "e/encrypted"});
  expect_rejected(two + "[[comparison]]\na = \"e/plain\"\nb = \"e/plain\"\n", {"itself"});
  expect_rejected(two + "[[comparison]]\na = \"e/plain\"\nb = \"f/plain\"\nc = 1\n", {"'c'", "unknown key"});
  expect_rejected("comparison = 1\n" + two, {"'comparison'", "[[comparison]]"});
  expect_rejected(std::string(kMinimal) + "folds = 3\n[[experiment]]\nname = \"f\"\ndataset = \"mnist\"\n"
                  "model = \"seed-cnn\"\n[[comparison]]\na = \"e/plain\"\nb = \"f/plain\"\n",
                  {"'a'", "cross-validated"});
}

TEST(reportSpec, CheckDatasetsNamesTheExperimentWhoseDataIsMissing) {
  Spec s = parse_spec("[[experiment]]\nname = \"ghost\"\ndataset = \"/nonexistent/hemi-data\"\nmodel = \"seed-cnn\"\n",
                      "g.toml");
  try {
    check_datasets(s);
    FAIL() << "accepted a missing data set";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("experiment 'ghost'"), std::string::npos) << what;
    EXPECT_NE(what.find("/nonexistent/hemi-data"), std::string::npos) << what;
  }
  Spec f = parse_spec("[[experiment]]\nname = \"f\"\ndataset = \"mnist\"\nmodel_file = \"/nonexistent/m.hemi\"\n");
  EXPECT_THROW(check_datasets(f), Error);
}

TEST(reportSpec, LoadSpecReportsAnUnreadableFile) {
  EXPECT_THROW(load_spec("/nonexistent/spec.toml"), Error);
}

TEST(reportSpec, TheShippedSpecsParse) {
  const char* dir = std::getenv("HEMI_SOURCE_DIR");
  const std::string root = dir ? dir : HEMI_SOURCE_DIR;
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/experiments")) {
    if (entry.path().extension() != ".toml") continue;
    ++found;
    EXPECT_NO_THROW(load_spec(entry.path().string())) << entry.path();
  }
  EXPECT_GE(found, 4);
  Spec seed = load_spec(root + "/experiments/seed.toml");
  ASSERT_EQ(seed.experiments.size(), 4u);
  EXPECT_FALSE(seed.experiments[0].train->noise);
  EXPECT_TRUE(seed.experiments[1].train->noise);
  EXPECT_EQ(seed.experiments[2].train->epochs, 20);
  EXPECT_EQ(seed.experiments[3].train->batch_size, 32);
}

}  // namespace
}  // namespace hemi::report
