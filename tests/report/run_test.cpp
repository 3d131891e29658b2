// End to end on the shared data: a small MNIST experiment (1000 training images, 1 epoch,
// plaintext on 300 test images, encrypted throughput on 100) written to disk and read back,
// the same spec run twice (determinism), and a 3-fold brain-MRI cross-validation. Without
// the shared data, MNIST is the synthetic digit set and the brain-MRI tests skip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hemi/report/output.h"
#include "hemi/report/runner.h"
#include "hemi/report/spec.h"
#include "support/test_data_dir.h"

namespace hemi::report {
namespace {

const char* kSmallMnist = R"(
name = "small"
seed = 5
bootstrap_resamples = 200
[[experiment]]
name = "mnist-small"
dataset = "mnist"
model = "seed-cnn"
train_limit = 1000
test_limit = 300
[experiment.train]
epochs = 1
batch_size = 32
noise = true
[[experiment.variant]]
mode = "plain"
[[experiment.variant]]
mode = "encrypted"
packing = "throughput"
limit = 100
)";

RunOptions quiet() {
  test_support::use_mnist_or_synthetic();  // real MNIST, or synthetic digits in a bare clone
  RunOptions o;
  o.threads = 2;
  o.log = nullptr;
  o.command = "run_test";
  return o;
}

const Report& small_report() {
  static const Report rep = run_spec(parse_spec(kSmallMnist, "small.toml"), quiet());
  return rep;
}

TEST(reportRun, SmallMnistPlainAndEncrypted) {
  const Report& rep = small_report();
  ASSERT_EQ(rep.runs.size(), 2u);
  const RunResult& plain = rep.runs[0];
  const RunResult& enc = rep.runs[1];
  EXPECT_EQ(plain.label(), "mnist-small/plain");
  EXPECT_EQ(plain.train_images, 1000u);
  EXPECT_EQ(plain.test_images, 300u);
  EXPECT_EQ(plain.metrics.n, 300u);
  EXPECT_EQ(plain.metrics.num_classes, 10);
  EXPECT_EQ(plain.metrics.average, "macro");
  EXPECT_GT(plain.metrics.accuracy, 0.5);  // one short epoch learns something
  EXPECT_TRUE(plain.metrics.accuracy_ci.defined());
  EXPECT_TRUE(plain.training.trained);
  EXPECT_TRUE(plain.training.noise);
  EXPECT_FALSE(plain.agreement.has_value());
  EXPECT_EQ(enc.test_images, 100u);
  ASSERT_TRUE(enc.agreement.has_value());
  ASSERT_TRUE(enc.ckks.has_value());
  EXPECT_EQ(enc.ckks->packing, "throughput");
  EXPECT_GE(enc.ckks->security_bits, 128);
  EXPECT_FALSE(enc.ckks->insecure);
  EXPECT_GE(enc.agreement->agreement_rate, 0.99);
  EXPECT_LT(enc.agreement->max_abs_logit_error, 0.05);
  EXPECT_GT(enc.seconds.keygen, 0);
  EXPECT_GT(enc.seconds.encrypt, 0);
  EXPECT_GT(enc.seconds.evaluate, 0);
  EXPECT_NEAR(enc.seconds.total, enc.seconds.train + enc.seconds.inference, 1e-9);
  EXPECT_GT(enc.bytes_up_per_image, 0);
  EXPECT_GT(enc.eval_key_bytes, 0u);
  EXPECT_GT(enc.peak_memory_mib, 0);
  EXPECT_EQ(plain.seconds.train, enc.seconds.train);  // one training, two variants
}

TEST(reportRun, OutputFilesExistAndParse) {
  const Report& rep = small_report();
  const auto dir = std::filesystem::temp_directory_path() / ("hemi-report-run-" + std::to_string(::getpid()));
  Outputs out = write_outputs(rep, dir.string());
  for (const char* f : {"results.json", "results.csv", "report.md"})
    ASSERT_TRUE(std::filesystem::exists(dir / f)) << f;
  std::ifstream jf(dir / "results.json");
  const nlohmann::json j = nlohmann::json::parse(jf);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["mode"], "encrypted");
  EXPECT_EQ(j["runs"][1]["metrics"]["accuracy"]["value"].get<double>(), rep.runs[1].metrics.accuracy);
  std::ifstream cf(dir / "results.csv");
  std::string header, line;
  std::getline(cf, header);
  EXPECT_EQ(header, csv_header());
  int rows = 0;
  while (std::getline(cf, line)) ++rows;
  EXPECT_EQ(rows, 2);
  if (!find_gnuplot().empty()) {  // 3 text files, 3 figures, and a confusion matrix and ROC per run, PNG + SVG
    EXPECT_EQ(out.files.size(), 17u) << (out.warnings.empty() ? "" : out.warnings[0]);
  }
  std::filesystem::remove_all(dir);
}

TEST(reportRun, SameSeedSameMetrics) {
  // Plaintext metrics are bit-identical (one training thread); the encrypted ones agree as long
  // as the decrypted predictions do (fresh encryption noise each run).
  const Report& a = small_report();
  Spec spec = parse_spec(kSmallMnist, "small.toml");
  spec.experiments[0].variants.pop_back();  // the plaintext variant is enough to compare weights
  const Report b = run_spec(spec, quiet());
  const auto& ma = a.runs[0].metrics;
  const auto& mb = b.runs[0].metrics;
  EXPECT_EQ(ma.accuracy, mb.accuracy);
  EXPECT_EQ(ma.f1, mb.f1);
  EXPECT_EQ(*ma.auroc.value, *mb.auroc.value);
  EXPECT_EQ(*ma.f1_ci.lower, *mb.f1_ci.lower);
  EXPECT_EQ(*ma.f1_ci.upper, *mb.f1_ci.upper);
  EXPECT_EQ(ma.confusion, mb.confusion);
  EXPECT_EQ(a.runs[0].training.final_loss, b.runs[0].training.final_loss);
  // A different seed trains different weights.
  spec.experiments[0].seed = 6;
  const Report c = run_spec(spec, quiet());
  EXPECT_NE(a.runs[0].training.final_loss, c.runs[0].training.final_loss);
}

TEST(reportRun, BrainMriThreeFoldCrossValidation) {
  HEMI_REQUIRE_FULL_DATA();
  const Spec spec = parse_spec(R"(
seed = 2
bootstrap_resamples = 50
[[experiment]]
name = "mri-cv"
dataset = "brain-mri"
model = "seed-cnn"
folds = 3
[experiment.train]
epochs = 2
)");
  const Report rep = run_spec(spec, quiet());
  ASSERT_EQ(rep.runs.size(), 3u);
  std::size_t tested = 0;
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(rep.runs[static_cast<std::size_t>(k)].fold, k);
    EXPECT_EQ(rep.runs[static_cast<std::size_t>(k)].metrics.average, "binary");
    tested += rep.runs[static_cast<std::size_t>(k)].test_images;
    EXPECT_EQ(rep.runs[static_cast<std::size_t>(k)].train_images + rep.runs[static_cast<std::size_t>(k)].test_images,
              253u);
  }
  EXPECT_EQ(tested, 253u);  // every image is tested exactly once
  for (const RunResult& r : rep.runs) {
    bool grouped = false;
    for (const std::string& n : r.data_notes) {
      EXPECT_EQ(n.find("no test set"), std::string::npos) << n;  // the folds are the test sets
      grouped = grouped || n.find("extra copies of images are kept in the same fold") != std::string::npos;
    }
    EXPECT_TRUE(grouped) << "brain-mri's 25 copies are grouped, and the notes say so";
  }
  ASSERT_EQ(rep.folds.size(), 1u);
  const FoldAggregate& f = rep.folds[0];
  EXPECT_EQ(f.folds, 3);
  const metrics::FoldSummary& acc = f.metrics.at("accuracy");
  ASSERT_EQ(acc.values.size(), 3u);
  EXPECT_EQ(acc.values[1], rep.runs[1].metrics.accuracy);
  EXPECT_TRUE(acc.std_dev.defined());
  EXPECT_TRUE(f.metrics.count("auroc"));
}

TEST(reportRun, PairedComparisonOnTheSameImages) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string two = R"(
seed = 3
bootstrap_resamples = 0
[[experiment]]
name = "a"
dataset = "brain-mri"
model = "seed-cnn"
[experiment.train]
epochs = 3
[[experiment]]
name = "b"
dataset = "brain-mri"
model = "seed-cnn"
[experiment.train]
epochs = 3
noise = true
)";
  const Report rep = run_spec(parse_spec(two + "[[comparison]]\na = \"a/plain\"\nb = \"b/plain\"\n"), quiet());
  ASSERT_EQ(rep.comparisons.size(), 1u);
  const Comparison& c = rep.comparisons[0];
  EXPECT_EQ(c.agreement.n, 43u);  // 51 held out at seed 3, 8 of them copies of training images (dropped)
  EXPECT_EQ(c.accuracy_a, rep.runs[0].metrics.accuracy);
  EXPECT_EQ(c.accuracy_b, rep.runs[1].metrics.accuracy);
  EXPECT_EQ(c.agreement.plain_correct, static_cast<std::size_t>(std::lround(c.accuracy_a * 43)));
  EXPECT_GE(c.agreement.mcnemar_p, 0.0);
  EXPECT_LE(c.agreement.mcnemar_p, 1.0);
  EXPECT_EQ(nlohmann::json::parse(to_json(rep))["comparisons"][0]["only_a_correct"].get<std::size_t>(),
            c.agreement.plain_only_correct);
  // A different seed gives a different split: the runs cannot be paired.
  std::string other = two;
  other.replace(other.find("noise = true"), 12, "noise = true\nseed = 4");
  EXPECT_THROW(run_spec(parse_spec(other + "[[comparison]]\na = \"a/plain\"\nb = \"b/plain\"\n"), quiet()), Error);
}

TEST(reportRun, TeacherVariantIsTheReluNetworkTrainedAlone) {
  // One distilled experiment reports its teacher; the ReLU experiment trains that network alone.
  const std::string common = R"(dataset = "mnist"
model = "seed-cnn"
train_limit = 300
test_limit = 100
)";
  const std::string train = "[experiment.train]\nepochs = 1\nbatch_size = 32\nclip = 5\n";
  const std::string spec = "name = \"t\"\nseed = 2\nbootstrap_resamples = 50\n[[experiment]]\nname = \"relu\"\n" +
                           common + "activation = \"relu\"\n" + train + "[[experiment]]\nname = \"poly\"\n" + common +
                           "activation = \"poly\"\n" + train + "distill = true\n" +
                           "[[experiment.variant]]\nmode = \"plain\"\n[[experiment.variant]]\nname = \"relu\"\n"
                           "mode = \"plain\"\nteacher = true\n[[comparison]]\na = \"relu/plain\"\nb = \"poly/relu\"\n";
  const Report rep = run_spec(parse_spec(spec), quiet());
  ASSERT_EQ(rep.runs.size(), 3u);
  const RunResult &alone = rep.runs[0], &student = rep.runs[1], &teacher = rep.runs[2];
  EXPECT_EQ(teacher.label(), "poly/relu");
  // The same images, the same predictions: the teacher is the ReLU network trained alone.
  EXPECT_EQ(teacher.metrics.accuracy, alone.metrics.accuracy);
  ASSERT_EQ(rep.comparisons.size(), 1u);
  EXPECT_EQ(rep.comparisons[0].agreement.n, 100u);
  EXPECT_EQ(rep.comparisons[0].agreement.agreements, 100u);
  EXPECT_EQ(rep.comparisons[0].agreement.max_abs_logit_error, 0.0);
  EXPECT_EQ(teacher.training.final_loss, alone.training.final_loss);
  // Described as what it is, with its own training time.
  EXPECT_NE(teacher.training.recipe.find("activation relu"), std::string::npos) << teacher.training.recipe;
  EXPECT_NE(teacher.training.recipe.find("distillation teacher of poly"), std::string::npos) << teacher.training.recipe;
  EXPECT_NE(student.training.recipe.find("activation poly"), std::string::npos) << student.training.recipe;
  EXPECT_GT(teacher.training.seconds, 0);
  EXPECT_NE(teacher.metrics.accuracy, student.metrics.accuracy);
}

TEST(reportRun, AMissingDatasetFailsBeforeAnyTraining) {
  const Spec spec = parse_spec(std::string(kSmallMnist) + R"(
[[experiment]]
name = "ghost"
dataset = "/nonexistent/data"
model = "seed-cnn"
)");
  try {
    run_spec(spec, quiet());
    FAIL() << "ran with a missing data set";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("experiment 'ghost'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hemi::report
