// The writers on a hand-made report: results.json parses and holds the same values (a round
// trip through the file), results.csv has the documented header and one row per run, the
// console table and report.md name every run, figures are drawn or skipped with a warning.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hemi/report/output.h"
#include "hemi/report/runner.h"

namespace hemi::report {
namespace {

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    path = (std::filesystem::temp_directory_path() / ("hemi-report-test-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(std::rand())))
               .string();
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Two binary runs on 8 images: a plaintext one, and an encrypted one with agreement and CKKS
// parameters; then a 2-fold summary.
Report sample_report() {
  Report rep;
  rep.spec_path = "s.toml";
  rep.spec_name = "sample";
  rep.command = "hemi run s.toml";
  rep.seed = 4;
  rep.bootstrap_resamples = 100;
  rep.environment = describe_environment(2);
  const std::vector<int> truth = {0, 0, 0, 1, 1, 1, 1, 0};
  const std::vector<std::vector<double>> probs = {{0.9, 0.1}, {0.8, 0.2}, {0.4, 0.6}, {0.3, 0.7},
                                                  {0.2, 0.8}, {0.6, 0.4}, {0.1, 0.9}, {0.7, 0.3}};
  metrics::MetricsOptions mo;
  mo.bootstrap_resamples = 100;
  mo.class_names = {"no", "yes"};
  RunResult plain;
  plain.experiment = "mri";
  plain.variant = "plain";
  plain.mode = "plain";
  plain.dataset = "brain-mri";
  plain.model = "seed-cnn";
  plain.class_names = {"no", "yes"};
  plain.test_images = 8;
  plain.train_images = 30;
  plain.metrics = metrics::evaluate(truth, probs, mo);
  plain.seconds.train = 1.5;
  plain.seconds.evaluate = plain.seconds.inference = 0.01;
  plain.seconds.total = 1.51;
  RunResult enc = plain;
  enc.variant = "encrypted, \"quoted\"";  // exercises CSV quoting
  enc.mode = "encrypted";
  std::vector<std::vector<double>> logits;
  for (const auto& p : probs) logits.push_back({std::log(p[0]), std::log(p[1])});
  auto noisy = logits;
  noisy[0][0] += 1e-4;
  enc.agreement = metrics::compare_predictions(logits, noisy, truth);
  enc.ckks = CkksInfo{"throughput", 8192, 30, {50, 30, 30, 50}, {60}, 218.0, 128, false, 3, 4096};
  enc.seconds.keygen = 0.1;
  enc.seconds.encrypt = 0.2;
  enc.seconds.evaluate = 2.0;
  enc.seconds.decrypt = 0.05;
  enc.seconds.inference = 2.35;
  enc.seconds.total = 3.85;
  enc.fold = 1;
  rep.runs = {plain, enc};
  FoldAggregate agg;
  agg.experiment = "mri";
  agg.variant = "plain";
  agg.mode = "plain";
  agg.folds = 2;
  agg.metrics.emplace("accuracy", metrics::summarize_folds({0.75, 0.8}));
  rep.folds = {agg};
  return rep;
}

TEST(reportOutput, JsonRoundTripKeepsTheValues) {
  const Report rep = sample_report();
  const nlohmann::json j = nlohmann::json::parse(to_json(rep));
  EXPECT_EQ(j["schema"], "hemi-results");
  EXPECT_EQ(j["schema_version"], kResultsSchemaVersion);
  EXPECT_EQ(j["spec"]["name"], "sample");
  EXPECT_EQ(j["command"], "hemi run s.toml");
  ASSERT_EQ(j["runs"].size(), 2u);
  const auto& p = j["runs"][0];
  EXPECT_EQ(p["experiment"], "mri");
  EXPECT_TRUE(p["fold"].is_null());
  EXPECT_EQ(p["metrics"]["accuracy"]["value"].get<double>(), rep.runs[0].metrics.accuracy);
  EXPECT_EQ(p["metrics"]["accuracy"]["ci"]["lower"].get<double>(), *rep.runs[0].metrics.accuracy_ci.lower);
  EXPECT_EQ(p["metrics"]["accuracy"]["ci"]["method"], "wilson");
  EXPECT_EQ(p["metrics"]["auroc"]["value"].get<double>(), *rep.runs[0].metrics.auroc.value);
  EXPECT_EQ(p["metrics"]["f1"]["ci"]["method"], "percentile-bootstrap");
  EXPECT_EQ(p["metrics"]["positive_class"], 1);
  EXPECT_EQ(p["metrics"]["confusion"][0][0].get<std::size_t>(), rep.runs[0].metrics.confusion[0][0]);
  EXPECT_EQ(p["metrics"]["per_class"][1]["name"], "yes");
  EXPECT_TRUE(p["agreement"].is_null());
  EXPECT_TRUE(p["ckks"].is_null());
  EXPECT_EQ(p["seconds"]["train"].get<double>(), 1.5);
  const auto& e = j["runs"][1];
  EXPECT_EQ(e["fold"], 1);
  EXPECT_EQ(e["ckks"]["n"], 8192);
  EXPECT_EQ(e["ckks"]["security_bits"], 128);
  EXPECT_EQ(e["agreement"]["rate"].get<double>(), 1.0);
  EXPECT_EQ(e["agreement"]["max_abs_logit_error"].get<double>(), rep.runs[1].agreement->max_abs_logit_error);
  EXPECT_EQ(e["agreement"]["mcnemar_p"].get<double>(), 1.0);
  EXPECT_EQ(e["seconds"]["evaluate"].get<double>(), 2.0);
  ASSERT_EQ(j["cross_validation"].size(), 1u);
  EXPECT_EQ(j["cross_validation"][0]["metrics"]["accuracy"]["values"][1].get<double>(), 0.8);
  EXPECT_NEAR(j["cross_validation"][0]["metrics"]["accuracy"]["mean"].get<double>(), 0.775, 1e-12);
}

TEST(reportOutput, UndefinedValuesAreNullWithAReason) {
  Report rep = sample_report();
  metrics::MetricsOptions mo;
  mo.bootstrap_resamples = 20;
  // A single-class test set: AUROC is undefined.
  rep.runs[0].metrics = metrics::evaluate({1, 1, 1}, {{0.2, 0.8}, {0.6, 0.4}, {0.1, 0.9}}, mo);
  const nlohmann::json j = nlohmann::json::parse(to_json(rep));
  const auto& auroc = j["runs"][0]["metrics"]["auroc"];
  EXPECT_TRUE(auroc["value"].is_null());
  EXPECT_TRUE(auroc["reason"].is_string());
  EXPECT_NE(to_markdown(rep).find("n/a"), std::string::npos);
  EXPECT_NE(console_table(rep).find("n/a"), std::string::npos);
}

TEST(reportOutput, CsvHasTheHeaderAndOneRowPerRun) {
  Report rep = sample_report();
  rep.runs[0].training.method = "dp-sgd";  // the privacy columns (issue 14)
  rep.runs[0].training.privacy = "(3, 1e-05)-DP per training example";
  rep.runs[0].training.dp_epsilon = 3.0;
  rep.runs[0].training.dp_delta = 1e-5;
  const std::string csv = to_csv(rep);
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, csv_header());
  EXPECT_EQ(header.rfind("experiment,variant,mode,fold,dataset,model", 0), 0u);
  EXPECT_NE(header.find("accuracy_ci_low"), std::string::npos);
  EXPECT_NE(header.find("mcnemar_p"), std::string::npos);
  EXPECT_NE(header.find(",training_method,privacy,dp_epsilon,dp_delta,bytes_moved"), std::string::npos);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[1].find("\"encrypted, \"\"quoted\"\"\""), std::string::npos) << rows[1];
  EXPECT_NE(rows[0].find(",dp-sgd,\"(3, 1e-05)-DP per training example\",3,"), std::string::npos) << rows[0];
  // Same number of fields in every row (no field of the sample holds a comma except the quoted one).
  const auto fields = [](const std::string& s) {
    std::size_t n = 1;
    bool quoted = false;
    for (char c : s) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) ++n;
    }
    return n;
  };
  EXPECT_EQ(fields(rows[0]), fields(header));
  EXPECT_EQ(fields(rows[1]), fields(header));
}

TEST(reportOutput, TableAndMarkdownNameEveryRun) {
  const Report rep = sample_report();
  const std::string table = console_table(rep);
  EXPECT_NE(table.find("mri/plain"), std::string::npos);
  EXPECT_NE(table.find("fold 2"), std::string::npos);
  EXPECT_NE(table.find("cross-validation"), std::string::npos);
  const std::string md = to_markdown(rep);
  for (const char* s : {"## Metrics", "## End-to-end times", "## Encrypted vs plaintext", "## CKKS parameters",
                        "## Cross-validation", "## Environment", "hemi run s.toml", "Confusion matrix"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
}

TEST(reportOutput, FiguresAreSkippedWithAWarningWithoutGnuplot) {
  TempDir dir;
  setenv("HEMI_GNUPLOT", "none", 1);
  Outputs out = write_outputs(sample_report(), dir.path);
  unsetenv("HEMI_GNUPLOT");
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("gnuplot"), std::string::npos);
  for (const char* f : {"results.json", "results.csv", "report.md"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir.path) / f)) << f;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir.path) / "metrics.png"));
  EXPECT_NO_THROW(nlohmann::json::parse(read(dir.path + "/results.json")));
}

TEST(reportOutput, FiguresArePngAndSvg) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot is not installed";
  TempDir dir;
  Outputs out = write_outputs(sample_report(), dir.path);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings[0];
  for (const char* f : {"runtime_breakdown", "evaluation_time", "metrics"}) {
    const std::string png = read(dir.path + "/" + f + ".png");
    const std::string svg = read(dir.path + "/" + f + ".svg");
    EXPECT_EQ(png.substr(0, 4), "\x89PNG") << f;
    EXPECT_NE(svg.find("<svg"), std::string::npos) << f;
  }
  EXPECT_NE(read(dir.path + "/report.md").find("![metrics.svg](metrics.svg)"), std::string::npos);
}

// Per run a confusion matrix and ROC curves; an undefined AUROC is labelled "undefined" in
// metrics.png and in the ROC figure (never a silent gap); a clean gnuplot run leaves no empty log.
TEST(reportOutput, ConfusionAndRocFiguresMarkUndefinedValues) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot is not installed";
  Report rep = sample_report();
  rep.runs.resize(1);
  RunResult& r = rep.runs[0];
  r.truth = {0, 0, 0, 1, 1, 1, 1, 0};
  r.logits = {{2, 1}, {2, 0}, {0, 1}, {0, 2}, {1, 3}, {1, 0}, {0, 2}, {2, 1}};
  RunResult one = r;  // a test set of one class: AUROC undefined
  one.variant = "one-class";
  one.truth.assign(8, 1);
  std::vector<std::vector<double>> probs;
  for (const auto& l : one.logits) probs.push_back(metrics::softmax(l));
  metrics::MetricsOptions mo;
  mo.bootstrap_resamples = 0;
  mo.class_names = {"no", "yes"};
  one.metrics = metrics::evaluate(one.truth, probs, mo);
  ASSERT_FALSE(one.metrics.auroc.defined());
  rep.runs.push_back(one);
  TempDir dir;
  Outputs out = write_outputs(rep, dir.path);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings[0];
  for (const char* f : {"confusion_run1", "roc_run1", "confusion_run2", "roc_run2"}) {
    EXPECT_EQ(read(dir.path + "/" + f + ".png").substr(0, 4), "\x89PNG") << f;
    EXPECT_NE(read(dir.path + "/" + f + ".svg").find("<svg"), std::string::npos) << f;
  }
  const std::string gp = read(dir.path + "/figures.gp");
  EXPECT_NE(gp.find("'AUROC undefined' at 1.290"), std::string::npos) << gp;
  EXPECT_NE(gp.find("undefined: yes: no image outside the positive class"), std::string::npos);
  EXPECT_NE(read(dir.path + "/confusion_run1.dat").find("1 1 3 0.75"), std::string::npos);
  // gnuplot.log stays only when gnuplot said something (here: warnings about equal times).
  if (std::filesystem::exists(dir.path + "/gnuplot.log")) {
    EXPECT_FALSE(read(dir.path + "/gnuplot.log").empty());
  }
  EXPECT_NE(read(dir.path + "/report.md").find("![roc_run2.svg](roc_run2.svg)"), std::string::npos);
}

}  // namespace
}  // namespace hemi::report
