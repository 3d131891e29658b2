// BFV in `hemi run`: the scheme key of a variant (and a negative test for each rejection), the
// scheme in results.csv / results.json, and the report's "BFV against CKKS" section.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "hemi/base/error.h"
#include "hemi/report/bfv_runs.h"
#include "hemi/report/output.h"
#include "hemi/report/spec.h"

namespace hemi::report {
namespace {

std::string spec_with(const std::string& variant) {
  return "[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\nmodel = \"seed-cnn\"\n[[experiment.variant]]\n" + variant + "\n";
}

std::string rejection(const std::string& variant) {
  try {
    parse_spec(spec_with(variant), "t.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(reportBfv, SchemeIsParsed) {
  const Spec s = parse_spec(spec_with("mode = \"encrypted\"\nscheme = \"bfv\"\nweight_bits = 6\ninput_bits = 4\n"
                                      "[[experiment.variant]]\nname = \"q\"\nmode = \"plain\"\nscheme = \"bfv\"\n"
                                      "[[experiment.variant]]\nname = \"c\"\nmode = \"encrypted\""));
  const auto& v = s.experiments[0].variants;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].scheme, "bfv");
  EXPECT_EQ(v[0].weight_bits, 6);
  EXPECT_EQ(v[0].input_bits, 4);
  EXPECT_EQ(v[1].scheme, "bfv");
  EXPECT_EQ(v[1].weight_bits, 0);  // the quant layer's default
  EXPECT_EQ(v[2].scheme, "ckks");
}

TEST(reportBfv, Rejections) {
  auto has = [](const std::string& what, const std::string& part) { return what.find(part) != std::string::npos; };
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"paillier\""), "must be ckks or bfv, not 'paillier'"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nweight_bits = 5"), "'weight_bits'"));
  EXPECT_TRUE(has(rejection("mode = \"plain\"\ninput_bits = 3"), "applies to scheme = \"bfv\" only"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"bfv\"\npacking = \"latency\""), "only throughput packing"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"bfv\"\nscale_bits = 30"), "BFV has no scale"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"bfv\"\n[experiment.variant.params]\nlog_n = 13"),
                  "the BFV compiler chooses its own ring"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"bfv\"\nweight_bits = 1"), "'weight_bits'"));
  EXPECT_TRUE(has(rejection("mode = \"encrypted\"\nscheme = \"bfv\"\ninput_bits = 9"), "'input_bits'"));
}

Report two_schemes() {
  Report rep;
  RunResult c;
  c.experiment = "e";
  c.variant = "ckks";
  c.mode = "encrypted";
  c.scheme = "ckks";
  c.seconds.inference = 4;
  c.bytes_up_per_image = 1024;
  c.ckks = CkksInfo{"throughput", 8192, 28, {38, 28}, {39}, 133, 128, false, 4, 4096};
  RunResult b = c;
  b.variant = "bfv";
  b.scheme = "bfv";
  b.ckks.reset();
  b.seconds.inference = 10;
  b.bytes_up_per_image = 3072;
  BfvInfo info;
  info.n = 16384;
  info.q_bits = {50, 50};
  info.t = {1, 2};
  info.log2_bound = 69.9;
  info.exact_agreement = 1;
  b.bfv = info;
  RunResult p = c;
  p.variant = "plain";
  p.mode = "plain";
  p.scheme = "float";
  p.ckks.reset();
  rep.runs = {p, c, b};
  return rep;
}

TEST(reportBfv, CsvAndJsonCarryTheScheme) {
  const Report rep = two_schemes();
  const std::string csv = to_csv(rep);
  EXPECT_NE(csv_header().find(",scheme,bfv_exact_agreement,bfv_plaintext_primes"), std::string::npos);
  EXPECT_NE(csv.find(",float,,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",ckks,,\n"), std::string::npos);
  EXPECT_NE(csv.find(",bfv,1,2\n"), std::string::npos);
  const auto j = nlohmann::json::parse(to_json(rep));
  EXPECT_EQ(j["runs"][2]["scheme"], "bfv");
  EXPECT_EQ(j["runs"][2]["bfv"]["n"], 16384);
  EXPECT_TRUE(j["runs"][1]["bfv"].is_null());
}

TEST(reportBfv, MarkdownComparesTheSchemesOnlyWhenBothRan) {
  Report rep = two_schemes();
  const std::string md = bfv_markdown(rep);
  EXPECT_NE(md.find("## BFV against CKKS"), std::string::npos);
  EXPECT_NE(md.find("BFV took 2.5× CKKS's encrypted time and uploaded 3.0× its bytes"), std::string::npos) << md;
  EXPECT_NE(md.find("identical integer logits on 100.00 %"), std::string::npos);
  EXPECT_NE(to_markdown(rep).find("## BFV against CKKS"), std::string::npos);
  rep.runs.pop_back();  // no BFV run: no section, no figure
  EXPECT_EQ(bfv_markdown(rep), "");
  EXPECT_TRUE(write_bfv_figures(rep, "/nonexistent").files.empty());
}

TEST(reportBfv, FigureIsPngAndSvg) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot is not installed";
  const auto dir = std::filesystem::temp_directory_path() / ("hemi-bfv-fig-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const BfvFigures f = write_bfv_figures(two_schemes(), dir.string());
  EXPECT_EQ(f.warning, "");
  EXPECT_EQ(f.files.size(), 2u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hemi::report
