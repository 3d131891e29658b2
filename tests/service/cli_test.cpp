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

  CliRun k = run("keygen --plan " + dir.file("plan.json") + " -o " + dir.file("keys"));
  ASSERT_EQ(k.rc, 0) << k.out;
  struct stat st {};
  ASSERT_EQ(stat(dir.file("keys/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.file("keys/eval.keys").c_str(), &st), 0);

  CliRun e = run("encrypt --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --model " +
              dir.file("model.hemi") + " " + images[0] + " " + images[1] + " " + images[2] + " -o " + dir.file("req.bin"));
  ASSERT_EQ(e.rc, 0) << e.out;

  // The server is handed the secret key instead of the evaluation keys: refused, by kind.
  CliRun bad = run("infer --model " + dir.file("model.hemi") + " --plan " + dir.file("plan.json") + " --eval-keys " +
                dir.file("keys/secret.key") + " " + dir.file("req.bin") + " -o " + dir.file("res.bin"));
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("this is secret key, not evaluation keys"), std::string::npos) << bad.out;

  // The server side sees the model, the plan, the evaluation keys and the request only.
  TempDir server;
  for (const char* f : {"model.hemi", "plan.json", "req.bin"}) std::filesystem::copy(dir.file(f), server.file(f));
  std::filesystem::copy(dir.file("keys/eval.keys"), server.file("eval.keys"));
  CliRun i = run("infer --model " + server.file("model.hemi") + " --plan " + server.file("plan.json") + " --eval-keys " +
              server.file("eval.keys") + " " + server.file("req.bin") + " -o " + server.file("res.bin"));
  ASSERT_EQ(i.rc, 0) << i.out;

  CliRun d = run("decrypt --json --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " --names " +
              dir.file("req.bin.names") + " " + server.file("res.bin"));
  ASSERT_EQ(d.rc, 0) << d.out;
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
  CliRun csv = run("decrypt --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " " + server.file("res.bin"));
  ASSERT_EQ(csv.rc, 0) << csv.out;
  EXPECT_EQ(csv.out.rfind("image,class,label,p_0,p_1,p_2\n", 0), 0u) << csv.out;
  CliRun fl = run("decrypt --json --flood 1024 --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("plan.json") + " " +
               server.file("res.bin"));
  ASSERT_EQ(fl.rc, 0) << fl.out;
  const auto jf = nlohmann::json::parse(fl.out);
  EXPECT_NE(jf[0].at("logits").get<std::vector<double>>(), j[0].at("logits").get<std::vector<double>>());

  // Decrypting with a key for another plan is refused.
  he::save_plan(testing::tiny_plan(testing::tiny_model(3), he::Packing::kLatency), dir.file("other.json"));
  CliRun other = run("decrypt --keys " + dir.file("keys/secret.key") + " --plan " + dir.file("other.json") + " " + server.file("res.bin"));
  EXPECT_NE(other.rc, 0);
  EXPECT_NE(other.out.find("made for plan"), std::string::npos) << other.out;
}

}  // namespace
}  // namespace hemi::service
#endif
