// hemi train / eval / data info on small generated IDX data sets: the model records its split,
// eval scores exactly the held-out images with the full metrics, refuses other classes, warns
// on another data set, and says when there is no test set or when it drew a sample.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;  // stdout (and stderr when merged)
};

Result run(const std::string& args, bool merge_stderr = true) {
  Result r;
  std::string cmd = std::string(HEMI_BINARY) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& v) {
  std::ofstream f(path, std::ios::binary);
  const std::uint8_t magic[4] = {0, 0, 8, static_cast<std::uint8_t>(dims.size())};
  f.write(reinterpret_cast<const char*>(magic), 4);
  for (std::uint32_t d : dims) {
    const std::uint8_t be[4] = {static_cast<std::uint8_t>(d >> 24), static_cast<std::uint8_t>(d >> 16),
                                static_cast<std::uint8_t>(d >> 8), static_cast<std::uint8_t>(d)};
    f.write(reinterpret_cast<const char*>(be), 4);
  }
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
}

// An IDX data set of 28x28 images: class c is a bright band at rows 4c..4c+5, every image
// distinct (a per-image pixel), `per_class` training and `per_class / 2` test images per class.
std::string make_set(const std::string& dir, int classes, int per_class, int salt = 0) {
  fs::create_directories(dir);
  for (bool train : {true, false}) {
    const int n = train ? per_class : per_class / 2;
    std::vector<std::uint8_t> px, labels;
    for (int c = 0; c < classes; ++c)
      for (int i = 0; i < n; ++i) {
        std::vector<std::uint8_t> img(784, 10);
        for (int y = 4 * c; y < 4 * c + 6; ++y)
          for (int x = 0; x < 28; ++x) img[static_cast<std::size_t>(y * 28 + x)] = 230;
        img[static_cast<std::size_t>(700 + i % 80)] = static_cast<std::uint8_t>(100 + (train ? 0 : 50) + salt);
        img[static_cast<std::size_t>(20 + i / 80)] = static_cast<std::uint8_t>(i);
        px.insert(px.end(), img.begin(), img.end());
        labels.push_back(static_cast<std::uint8_t>(c));
      }
    const std::string pre = train ? "train" : "t10k";
    write_idx(dir + "/" + pre + "-images-idx3-ubyte", {static_cast<std::uint32_t>(labels.size()), 28, 28}, px);
    write_idx(dir + "/" + pre + "-labels-idx1-ubyte", {static_cast<std::uint32_t>(labels.size())}, labels);
  }
  return dir;
}

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hemi-eval-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(EvalCli, EvalScoresExactlyTheHeldOutImagesWithTheFullMetrics) {
  const std::string data = make_set(dir_ + "/two", 2, 24);
  const std::string model = dir_ + "/m.hemimodel";
  Result t = run("train --data " + data + " --split 0.75 --seed 3 --epochs 2 --threads 1 --json -o " + model, false);
  ASSERT_EQ(t.code, 0) << t.out;
  auto tj = nlohmann::json::parse(t.out);
  EXPECT_EQ(tj["test_size"], 12);  // a quarter of the 48 images of the train files
  Result info = run("model info " + model + " --json", false);
  ASSERT_EQ(info.code, 0) << info.out;
  auto ij = nlohmann::json::parse(info.out);
  EXPECT_EQ(ij["data"]["split_mode"], "fraction");
  EXPECT_EQ(ij["data"]["train_fraction"], 0.75);
  EXPECT_EQ(ij["data"]["seed"], 3);
  EXPECT_EQ(ij["data"]["test_images"], 12);

  Result e = run("eval --model " + model + " --data " + data + " --mode plain --json", false);
  ASSERT_EQ(e.code, 0) << e.out;
  auto ej = nlohmann::json::parse(e.out);
  EXPECT_EQ(ej["images"], 12);
  EXPECT_DOUBLE_EQ(ej["accuracy"].get<double>(), tj["test_accuracy"].get<double>());
  EXPECT_NE(ej["split"].get<std::string>().find("75% train"), std::string::npos) << ej["split"];
  const auto& m = ej["metrics"];
  ASSERT_EQ(m["per_class"].size(), 2u);
  EXPECT_EQ(m["per_class"][0]["support"], 6);
  for (const char* k : {"precision", "recall", "f1"}) EXPECT_TRUE(m["per_class"][1].contains(k)) << k;
  EXPECT_TRUE(m.contains("precision_macro"));
  EXPECT_TRUE(m.contains("f1_weighted"));
  EXPECT_TRUE(m["auroc"]["value"].is_number());
  ASSERT_EQ(m["confusion"].size(), 2u);
  // The text report has the per-class table and the confusion matrix.
  Result text = run("eval --model " + model + " --data " + data + " --mode plain");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("confusion matrix"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("weighted"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("the images held out when the model was trained"), std::string::npos) << text.out;
  // An explicit choice: the data set's own test files.
  Result named = run("eval --model " + model + " --data " + data + " --mode plain --split test --json", false);
  ASSERT_EQ(named.code, 0) << named.out;
  EXPECT_EQ(nlohmann::json::parse(named.out)["images"], 24);
}

TEST_F(EvalCli, RefusesDataWhoseClassesDifferAndWarnsOnAnotherDataSet) {
  const std::string two = make_set(dir_ + "/two", 2, 16);
  const std::string three = make_set(dir_ + "/three", 3, 16);
  const std::string other = make_set(dir_ + "/other", 2, 16, 7);
  const std::string model = dir_ + "/m.hemimodel";
  ASSERT_EQ(run("train --data " + two + " --epochs 1 --threads 1 -o " + model).code, 0);
  Result r = run("eval --model " + model + " --data " + three + " --mode plain");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("the model's classes are not the data set's: the model has 2 (0, 1)"), std::string::npos)
      << r.out;
  Result w = run("eval --model " + model + " --data " + other + " --mode plain");
  EXPECT_EQ(w.code, 0) << w.out;
  EXPECT_NE(w.out.find("warning: the data set differs from the one the model was trained on"), std::string::npos)
      << w.out;
}

TEST_F(EvalCli, SplitOneMeansNoTestSetAndSaysSo) {
  const std::string data = make_set(dir_ + "/two", 2, 16);
  const std::string model = dir_ + "/m.hemimodel";
  Result t = run("train --data " + data + " --split 1 --epochs 1 --threads 1 -o " + model);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("no test set"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("test accuracy"), std::string::npos) << t.out;
  Result e = run("eval --model " + model + " --data " + data + " --mode plain");
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.out.find("none is held out"), std::string::npos) << e.out;
}

TEST_F(EvalCli, LimitDrawsAStratifiedSampleAndSaysSo) {
  const std::string data = make_set(dir_ + "/two", 2, 40);
  const std::string model = dir_ + "/m.hemimodel";
  ASSERT_EQ(run("train --data " + data + " --epochs 1 --threads 1 -o " + model).code, 0);
  Result e = run("eval --model " + model + " --data " + data + " --mode plain --limit 6 --json", false);
  ASSERT_EQ(e.code, 0) << e.out;
  auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["images"], 6);
  EXPECT_EQ(j["sample"]["sampled"], true);
  EXPECT_EQ(j["sample"]["of"], 40);
  EXPECT_EQ(j["metrics"]["per_class"][0]["support"], 3);
  EXPECT_EQ(j["metrics"]["per_class"][1]["support"], 3);
  bool said = false;
  for (const auto& n : j["notes"]) said |= n.get<std::string>().find("stratified random sample of 6 of the 40") != std::string::npos;
  EXPECT_TRUE(said) << j["notes"];
}

TEST_F(EvalCli, DataInfoShowsSplitsAndDuplicates) {
  const std::string data = make_set(dir_ + "/two", 2, 8);
  Result r = run("data info " + data + " --json", false);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["splits"].size(), 2u);
  EXPECT_EQ(j["splits"][0]["name"], "train");
  EXPECT_EQ(j["splits"][0]["images"], 16);
  EXPECT_EQ(j["splits"][1]["images"], 8);
  EXPECT_EQ(j["duplicates"]["extra_copies"], 0);
  EXPECT_EQ(j["identity"].get<std::string>().substr(0, 7), "sha256:");
  Result text = run("data info " + data);
  EXPECT_NE(text.out.find("the data set's own splits"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("exact duplicates"), std::string::npos) << text.out;
}

}  // namespace

TEST_F(EvalCli, SchemeBfvEvaluatesTheQuantizedTwinAndRefusesBadCombinations) {
  // The encrypted BFV path is tested on the quant layer's fixture (tests/quant/session_test.cpp);
  // here: the plaintext quantized twin through the command, and every refusal of --scheme.
  const std::string data = make_set(dir_ + "/two", 2, 16);
  const std::string model = dir_ + "/m.hemimodel";
  ASSERT_EQ(run("train --data " + data + " --epochs 1 --threads 1 -o " + model).code, 0);
  Result q = run("eval --model " + model + " --data " + data + " --mode plain --scheme bfv --json", false);
  ASSERT_EQ(q.code, 0) << q.out;
  auto qj = nlohmann::json::parse(q.out);
  EXPECT_EQ(qj["scheme"], "bfv");
  EXPECT_EQ(qj["quantization"]["weight_bits"], 5);
  EXPECT_EQ(qj["quantization"]["input_bits"], 3);
  EXPECT_TRUE(qj["quantization"]["log2_bound"].is_number());
  Result f = run("eval --model " + model + " --data " + data + " --mode plain --json", false);
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_EQ(nlohmann::json::parse(f.out)["scheme"], "ckks");
  const std::string base = "eval --model " + model + " --data " + data + " ";
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {Case{"--scheme paillier", "--scheme must be ckks or bfv, not 'paillier'"},
                        Case{"--scheme bfv --packing sideways", "--packing must be auto, throughput or latency, not 'sideways'"},
                        Case{"--scheme bfv --scale-bits 30", "--scale-bits is a CKKS option"},
                        Case{"--scheme bfv --server-memory-mib 100", "--scheme bfv has its own compiler"},
                        Case{"--weight-bits 6", "--weight-bits and --input-bits quantize for --scheme bfv"},
                        Case{"--scheme bfv --mode plain --weight-bits 40", "weight bits 40 outside [2, 24]"}}) {
    Result r = run(base + c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << ": " << r.out;
  }
}
