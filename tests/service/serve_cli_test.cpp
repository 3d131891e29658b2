// `hemi serve` and `hemi params` refuse options out of range, naming the option, before any
// model is loaded (the model path given here does not exist).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#ifdef HEMI_EXE
namespace {

struct CliRun {
  int rc;
  std::string out;
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(HEMI_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

TEST(ServeCli, OptionsOutOfRangeAreRefusedByName) {
  struct Case {
    std::string option, value;
  };
  // The cases (each run starts the executable, about 2 s on a loaded machine); every
  // limit's range is tested in-process in abuse_test.cpp (ServiceLimits).
  for (const Case& c : {Case{"--port", "70000"}, Case{"--max-request-mib", "17592186044416"},
                        Case{"--max-concurrent", "100000"}, Case{"--queue-wait", "nan"}, Case{"--queue-wait", "-1"}}) {
    const CliRun r = run("serve --model /nonexistent/model.hemi " + c.option + " " + c.value);
    EXPECT_NE(r.rc, 0) << c.option << " " << c.value << ": " << r.out;
    EXPECT_NE(r.out.find(c.option), std::string::npos) << c.option << " " << c.value << ": " << r.out;
    EXPECT_EQ(r.out.find("nonexistent"), std::string::npos) << "the model was opened first: " << r.out;
  }
}

TEST(ServeCli, QueryOptionsAreCheckedBeforeConnecting) {
  // Port 1 on loopback: nothing listens there, so only an option check can answer.
  for (const std::string& opts : {std::string("--timeout nan"), std::string("--timeout 0"),
                                  std::string("--ca-file /nonexistent/ca.pem --server https://127.0.0.1:1"),
                                  std::string("--ca-file /nonexistent/ca.pem --server http://127.0.0.1:1"),
                                  std::string("--server ftp://127.0.0.1:1")}) {
    const std::string server = opts.find("--server") == std::string::npos ? " --server http://127.0.0.1:1" : "";
    const CliRun r = run("query " + opts + server + " /nonexistent/x.png");
    EXPECT_NE(r.rc, 0) << opts << ": " << r.out;
    const std::string named = opts.substr(0, opts.find(' '));
    EXPECT_NE(r.out.find(named == "--server" ? "http:// or https://" : named), std::string::npos) << opts << ": " << r.out;
    EXPECT_EQ(r.out.find("no answer"), std::string::npos) << "connected first: " << r.out;
  }
}

TEST(ServeCli, ParamsDepthMustBeInRange) {
  for (const char* v : {"-1"}) {
    const CliRun r = run(std::string("params --depth ") + v);
    EXPECT_NE(r.rc, 0) << v << ": " << r.out;
    EXPECT_NE(r.out.find("--depth"), std::string::npos) << v << ": " << r.out;
  }
}

}  // namespace
#endif
