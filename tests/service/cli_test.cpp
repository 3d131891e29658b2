// The file-based flow with the `hemi` executable: keygen (secret key mode 0600) -> encrypt ->
// infer (server: model, plan, evaluation keys and request only) -> decrypt, with predictions
// checked against the plaintext interpreter; and the server refusing a secret key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <sstream>

#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "hemi/service/client.h"
#include "service_test_util.h"
#include "test_data.h"

#ifdef HEMI_EXE
namespace hemi::service {
namespace {

using data::testing::TempDir;

struct CliRun {
  int rc;
  std::string out;  // stdout
  std::string err;  // stderr
};

CliRun run(const std::string& args) {
  const std::string err_path = std::filesystem::temp_directory_path() / ("hemi_cli_err_" + std::to_string(::getpid()));
  const std::string cmd = std::string(HEMI_EXE) + " " + args + " 2>" + err_path;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  std::ifstream ef(err_path);
  std::stringstream err;
  err << ef.rdbuf();
  std::filesystem::remove(err_path);
  return {WEXITSTATUS(status), out, err.str()};
}

TEST(ServiceCli, KeygenEncryptInferDecryptMatchesInterpreter) {
  TempDir dir;
  const nn::Model model = testing::tiny_model();
  nn::save_model(model, dir.file("model.hemi"));
  he::save_plan(testing::tiny_plan(model, he::Packing::kLatency), dir.file("plan.json"));
  std::vector<std::string> images;
  std::mt19937 rng(4);
  for (int i = 0; i < 3; ++i) {
    std::vector<std::uint8_t> px(36);
    for (auto& v : px) v = static_cast<std::uint8_t>(rng() % 256);
    images.push_back(dir.file("img" + std::to_string(i) + ".png"));
    data::testing::write_bytes(images.back(), data::testing::encode_png(6, 6, 1, px));
  }

  CliRun k = run("keygen --insecure --plan " + dir.file("plan.json") + " -o " + dir.file("keys"));
  ASSERT_EQ(k.rc, 0) << k.err;
  struct stat st {};
  ASSERT_EQ(stat(dir.file("keys/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.file("keys/eval.keys").c_str(), &st), 0);

  CliRun e = run("encrypt --insecure --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --model " +
              dir.file("model.hemi") + " " + images[0] + " " + images[1] + " " + images[2] + " -o " + dir.file("req.bin"));
  ASSERT_EQ(e.rc, 0) << e.err;

  // The server is handed the secret key instead of the evaluation keys: refused, by kind.
  CliRun bad = run("infer --model " + dir.file("model.hemi") + " --plan " + dir.file("plan.json") + " --eval-keys " +
                dir.file("keys/secret.key") + " " + dir.file("req.bin") + " -o " + dir.file("res.bin"));
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.err.find("this is secret key, not evaluation keys"), std::string::npos) << bad.err;

  // The server side sees the model, the plan, the evaluation keys and the request only.
  TempDir server;
  for (const char* f : {"model.hemi", "plan.json", "req.bin"}) std::filesystem::copy(dir.file(f), server.file(f));
  std::filesystem::copy(dir.file("keys/eval.keys"), server.file("eval.keys"));
  CliRun i = run("infer --model " + server.file("model.hemi") + " --plan " + server.file("plan.json") + " --eval-keys " +
              server.file("eval.keys") + " " + server.file("req.bin") + " -o " + server.file("res.bin"));
  ASSERT_EQ(i.rc, 0) << i.err;

  CliRun d = run("decrypt --insecure --json --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --names " +
              dir.file("req.bin.names") + " " + server.file("res.bin"));
  ASSERT_EQ(d.rc, 0) << d.err;
  const auto j = nlohmann::json::parse(d.out);
  ASSERT_EQ(j.size(), 3u);
  const auto prepared = prepare_images(images, model.input());
  for (std::size_t n = 0; n < 3; ++n) {
    const auto want = nn::forward(model, prepared.data() + n * 36);
    EXPECT_EQ(j[n].at("image").get<std::string>(), images[n]);
    EXPECT_EQ(j[n].at("class").get<int>(), argmax(want));
    const auto logits = j[n].at("logits").get<std::vector<double>>();
    for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(logits[c], want[c], 1e-3);
  }

  // CSV for several images, and flooding changes the printed logits.
  CliRun csv = run("decrypt --insecure --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " " + server.file("res.bin"));
  ASSERT_EQ(csv.rc, 0) << csv.err;
  // --insecure is stamped on every output: a comment line before the CSV header.
  EXPECT_EQ(csv.out.rfind("# INSECURE: N = ", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("\nimage,class,label,p_0,p_1,p_2\n"), std::string::npos) << csv.out;
  CliRun fl = run("decrypt --insecure --json --flood 1024 --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " " +
               server.file("res.bin"));
  ASSERT_EQ(fl.rc, 0) << fl.err;
  const auto jf = nlohmann::json::parse(fl.out);
  EXPECT_NE(jf[0].at("logits").get<std::vector<double>>(), j[0].at("logits").get<std::vector<double>>());

  // Decrypting with a key for another plan is refused.
  he::save_plan(testing::tiny_plan(testing::tiny_model(3), he::Packing::kLatency), dir.file("other.json"));
  CliRun other = run("decrypt --insecure --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("other.json") + " " + server.file("res.bin"));
  EXPECT_NE(other.rc, 0);
  EXPECT_NE(other.err.find("made for plan"), std::string::npos) << other.err;

  // --insecure is stamped on JSON output too; without it, every client command refuses the
  // plan (its parameters are below 128 bits) before doing anything.
  EXPECT_NE(j[0].at("insecure").get<std::string>().find("INSECURE"), std::string::npos);
  for (const std::string& cmd :
       {"keygen --plan " + dir.file("plan.json") + " -o " + dir.file("strict"),
        "encrypt --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --model " + dir.file("model.hemi") +
            " " + images[0] + " -o " + dir.file("strict.bin"),
        "decrypt --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " " + server.file("res.bin")}) {
    CliRun strict = run(cmd);
    EXPECT_NE(strict.rc, 0) << cmd;
    EXPECT_EQ(strict.out, "") << cmd;
    EXPECT_NE(strict.err.find("below 128-bit security; only --insecure accepts them"), std::string::npos) << strict.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("strict/secret.key")));

  // Another key set for the same plan: its keygen shows the cost and a new fingerprint, and
  // decrypt refuses the result instead of printing confident garbage.
  CliRun k2 = run("keygen --insecure --plan " + dir.file("plan.json") + " -o " + dir.file("keys2"));
  ASSERT_EQ(k2.rc, 0) << k2.err;
  EXPECT_NE(k2.err.find("generating 1 relinearization key + "), std::string::npos) << k2.err;
  EXPECT_NE(k2.out.find("key set "), std::string::npos) << k2.out;
  CliRun wrong = run("decrypt --insecure --keys " + dir.file("keys2/secret.key") + " --plan " + dir.file("plan.json") + " " +
                     server.file("res.bin"));
  EXPECT_NE(wrong.rc, 0);
  EXPECT_EQ(wrong.out, "");
  EXPECT_NE(wrong.err.find("but this secret key belongs to key set"), std::string::npos) << wrong.err;

  // The names file must name as many images as the result holds.
  data::testing::write_bytes(dir.file("two.names"), {'a', '\n', 'b', '\n'});
  CliRun count = run("decrypt --insecure --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --names " +
                     dir.file("two.names") + " " + server.file("res.bin"));
  EXPECT_NE(count.rc, 0);
  EXPECT_NE(count.err.find("the result holds 3 images, but 2 were sent"), std::string::npos) << count.err;
}

}  // namespace
}  // namespace hemi::service
#endif
