// The command line as a user meets it: exit codes, JSON output, and refusals with reasons.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args, const std::string& env = "") {
  Result r;
  std::string cmd = (env.empty() ? "" : env + " ") + std::string(HEMI_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(CliParams, ExplainsTheStudysParametersAsJson) {
  Result r = run("params --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n"], 8192);
  EXPECT_EQ(j["total_bits"], 218);
  EXPECT_EQ(j["security_bits"], 128);
  EXPECT_EQ(j["insecure"], false);
  EXPECT_EQ(j["levels"], 6);
  EXPECT_EQ(j["q"].size(), 7u);
}

TEST(CliParams, RefusesInsecureParametersWithTheReason) {
  Result r = run("params --bits 31,26,26,26,26,26,26,32");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("219 bits exceeds 218"), std::string::npos) << r.out;
  Result j = run("params --bits 31,26,26,26,26,26,26,32 --json");
  EXPECT_EQ(j.code, 2);
  EXPECT_EQ(nlohmann::json::parse(j.out)["ok"], false);
}

TEST(CliParams, InsecureOptInIsStampedOnTheOutput) {
  Result r = run("params --log-n 11 --bits 40,30,40 --insecure");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("INSECURE"), std::string::npos) << r.out;
}

TEST(CliParams, FromDepth) {
  Result r = run("params --depth 5 --scale-bits 28 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["levels"], 5);
  EXPECT_GE(j["security_bits"].get<int>(), 128);
}

TEST(CliDemo, DecryptsCloseToThePlaintextResult) {
  Result r = run("demo-ckks --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["max_abs_error"].get<double>(), 0.01);
  EXPECT_EQ(j["security_bits"], 128);
}

TEST(CliErrors, UnknownCommandsAndBadFilesAreClearErrors) {
  EXPECT_NE(run("no-such-command").code, 0);
  Result r = run("plan --model /nonexistent/model.hemi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("hemi: error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/model.hemi"), std::string::npos) << r.out;
}

// The cost model's pinned CPU factor (docs/he.md, "Cost") is checked first, before the model is
// read: a bad value is a clear error that names the variable and the value.
TEST(CliErrors, BadPinnedCostFactorIsRefused) {
  for (const std::string bad : {"abc", "0", "-1", "9"}) {
    Result r = run("plan --model /nonexistent/model.hemi", "HEMI_COST_CPU_FACTOR=" + bad);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("HEMI_COST_CPU_FACTOR"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("'" + bad + "'"), std::string::npos) << r.out;
  }
}

}  // namespace
