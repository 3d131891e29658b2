// The HTTP service over loopback: a client registers keys, sends encrypted requests and
// decrypts correct predictions (checked against the plaintext interpreter); every malformed
// or rejected request gets its status and a message, and the server keeps serving.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "hemi/service/client.h"
#include "hemi/service/server.h"
#include "loopback_service.h"

namespace hemi::service {
namespace {

using nlohmann::json;
using testing::Material;
using testing::random_images;
using testing::Running;
using testing::tiny_model;
using testing::tiny_plan;

// Runs `count` images through the service and checks each prediction against the interpreter.
void expect_correct(const std::string& url, const nn::Model& model, std::size_t count, unsigned seed, double tol) {
  HttpClient http(url);
  ModelInfo info = http.model_info();
  PlanContext ctx(info.plan);
  he::Client client(ctx.plan(), Seed{static_cast<std::uint8_t>(seed)});
  const he::EvalKeys keys = client.eval_keys();
  const std::string key_set = key_set_fingerprint(keys, ctx);
  const std::string id = http.register_keys(write_eval_keys(keys, ctx));
  const std::size_t values = model.input_shape().size();
  const auto images = random_images(count, values, seed);
  std::size_t done = 0;
  for (const Request& req : encrypt_images(client, key_set, images.data(), count, info.max_images_per_request)) {
    const auto logits = decrypt_result(client, key_set, read_result(http.infer(id, write_request(req, ctx)), ctx), req.images);
    ASSERT_EQ(logits.size(), req.images);
    for (const auto& l : logits) {
      const auto want = nn::forward(model, images.data() + done * values);
      for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(l[c], want[c], tol);
      EXPECT_EQ(argmax(l), argmax(want));
      ++done;
    }
  }
  EXPECT_EQ(done, count);
  http.delete_keys(id);
}

class ServiceHttp : public ::testing::TestWithParam<he::Packing> {};

TEST_P(ServiceHttp, EndToEndOverLoopbackMatchesInterpreter) {
  nn::Model m = tiny_model();
  Limits lim;
  lim.max_images_per_request = 2;  // latency: 5 images go in 3 requests
  Running r(m, tiny_plan(m, GetParam()), lim);
  expect_correct(r.url, r.model, 5, 1, 1e-3);
  EXPECT_EQ(r.service.stored_keys(), 0u);  // deleted by the client
}

INSTANTIATE_TEST_SUITE_P(Packings, ServiceHttp, ::testing::Values(he::Packing::kThroughput, he::Packing::kLatency),
                         [](const auto& info) { return std::string(he::to_string(info.param)); });

std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::string error_message(const httplib::Result& res) { return json::parse(res->body).at("error").get<std::string>(); }

TEST(ServiceHttpRejections, EveryMalformedRequestGetsItsStatusAndTheServerKeepsServing) {
  nn::Model m = tiny_model();
  Limits lim;
  lim.max_request_bytes = 4 << 20;
  lim.max_key_bytes = 8 << 20;
  Running r(m, tiny_plan(m, he::Packing::kLatency), lim);
  Material mat(r.service.plan(), m);
  httplib::Client c(r.url);
  auto post = [&](const std::string& path, const std::string& body) { return c.Post(path.c_str(), body, "application/octet-stream"); };

  auto ok = post("/v1/keys", str(mat.keys));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 201);
  const std::string id = json::parse(ok->body).at("key_id");

  // keys: empty, garbled, truncated, a request instead of keys, keys for another plan
  auto res = post("/v1/keys", "");
  EXPECT_EQ(res->status, 400);
  res = post("/v1/keys", "hello, this is not a key file at all");
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(error_message(res).find("not a hemi service file"), std::string::npos);
  res = post("/v1/keys", str(mat.keys).substr(0, mat.keys.size() / 2));
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(error_message(res).find("payload size"), std::string::npos);
  res = post("/v1/keys", str(mat.request));
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(error_message(res).find("this is request, not evaluation keys"), std::string::npos);
  nn::Model other = tiny_model(7);
  PlanContext other_ctx(tiny_plan(other, he::Packing::kLatency));
  Material other_mat(other_ctx, other);
  res = post("/v1/keys", str(other_mat.keys));
  EXPECT_EQ(res->status, 422);
  EXPECT_NE(error_message(res).find("made for plan"), std::string::npos);

  // inference under a key id whose keys are not the request's: 422, never garbage
  Material other_keys(r.service.plan(), m, 5);
  res = post("/v1/infer/" + id, str(other_keys.request));
  EXPECT_EQ(res->status, 422);
  EXPECT_NE(error_message(res).find("holds key set"), std::string::npos);

  // inference: unknown key id, malformed key id, garbled, truncated, other plan, empty
  res = post("/v1/infer/0123456789abcdef0123456789abcdef", str(mat.request));
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(error_message(res).find("unknown key id"), std::string::npos);
  res = post("/v1/infer/../../etc", str(mat.request));
  EXPECT_TRUE(res->status == 400 || res->status == 404);
  res = post("/v1/infer/XYZ", str(mat.request));
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(error_message(res).find("malformed key id"), std::string::npos);
  std::string garbled = str(mat.request);
  for (std::size_t i = 101; i < 134; ++i) garbled[i] = static_cast<char>(garbled[i] ^ 0x5a);  // blob length, ckks header
  res = post("/v1/infer/" + id, garbled);
  EXPECT_EQ(res->status, 400);
  res = post("/v1/infer/" + id, str(mat.request).substr(0, 1000));
  EXPECT_EQ(res->status, 400);
  res = post("/v1/infer/" + id, str(other_mat.request));
  EXPECT_EQ(res->status, 422);
  res = post("/v1/infer/" + id, "");
  EXPECT_EQ(res->status, 400);

  // oversized: refused at the header, before the body is read. The server then closes the
  // connection, so a client still sending may see a reset instead of the answer; the 413
  // itself is checked on a raw socket in abuse_test.cpp.
  for (auto [path, size] : {std::pair<std::string, int>{"/v1/infer/" + id, (4 << 20) + 1}, {"/v1/keys", (8 << 20) + 1}}) {
    httplib::Client c2(r.url);
    res = c2.Post(path.c_str(), std::string(static_cast<std::size_t>(size), 'x'), "application/octet-stream");
    if (res) {
      EXPECT_EQ(res->status, 413);
      EXPECT_NE(error_message(res).find("exceeds the limit"), std::string::npos);
    }
  }

  // unknown endpoints and methods
  res = c.Get("/v1/nothing");
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(error_message(res).find("no such endpoint"), std::string::npos);
  EXPECT_EQ(c.Delete("/v1/keys/0123456789abcdef0123456789abcdef")->status, 404);

  // still serving: the registered key works after all of that
  res = post("/v1/infer/" + id, str(mat.request));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const Result out = read_result(Bytes(res->body.begin(), res->body.end()), r.service.plan());
  EXPECT_EQ(out.images, 1u);
  EXPECT_EQ(c.Get("/v1/health")->status, 200);
}

// Eviction by the key memory budget: abuse_test.cpp (ServiceKeys).

TEST(ServiceHttpLimits, ConcurrentClientsAllSucceedWithBoundedEvaluations) {
  nn::Model m = tiny_model();
  Limits lim;
  lim.max_concurrent_evaluations = 2;
  Running r(m, tiny_plan(m, he::Packing::kLatency), lim);
  Material mat(r.service.plan(), m);
  const std::string id = HttpClient(r.url).register_keys(mat.keys);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      HttpClient http(r.url);
      for (int i = 0; i < 3; ++i) {
        read_result(http.infer(id, mat.request), r.service.plan());
        ++ok;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 18);
}

TEST(ServiceHttpLimits, BusyServerAnswers503) {
  nn::Model m = tiny_model();
  Limits lim;
  lim.max_concurrent_evaluations = 1;
  lim.queue_wait_seconds = 0;
  Running r(m, tiny_plan(m, he::Packing::kLatency), lim);
  Material mat(r.service.plan(), m);
  const std::string id = HttpClient(r.url).register_keys(mat.keys);
  // Many simultaneous requests with one slot and no queue: some are refused with 503 and a
  // message, none fails otherwise, and the service then serves again.
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> threads;
  const std::string body = str(mat.request);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      httplib::Client c(r.url);
      for (int i = 0; i < 4; ++i) {
        auto res = c.Post(("/v1/infer/" + id).c_str(), body, "application/octet-stream");
        if (res && res->status == 200) ++ok;
        else if (res && res->status == 503 && res->get_header_value("Retry-After") == "1") ++busy;
        else ++other;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(ok.load() + busy.load(), 16);
  EXPECT_NO_THROW(HttpClient(r.url).infer(id, mat.request));
}

TEST(ServiceHttpInfo, ModelInfoAndHealth) {
  nn::Model m = tiny_model();
  Running r(m, tiny_plan(m, he::Packing::kLatency));
  httplib::Client c(r.url);
  auto res = c.Get("/v1/model");
  ASSERT_EQ(res->status, 200);
  const json j = json::parse(res->body);
  EXPECT_EQ(j.at("plan_id").get<std::string>(), r.service.plan().id());
  EXPECT_EQ(j.at("classes").get<int>(), 3);
  EXPECT_EQ(j.at("input").at("height").get<int>(), 6);
  EXPECT_TRUE(j.at("ckks").at("insecure").get<bool>());
  EXPECT_EQ(j.at("packing").get<std::string>(), "latency");
  const ModelInfo info = HttpClient(r.url).model_info();
  EXPECT_EQ(info.plan_id, r.service.plan().id());
  EXPECT_EQ(info.class_names.size(), 3u);
  res = c.Get("/v1/health");
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body).at("status").get<std::string>(), "ok");
}

TEST(ServiceHttpInfo, ServerIsBoundToLoopbackOnly) {
  nn::Model m = tiny_model();
  Running r(m, tiny_plan(m, he::Packing::kLatency));
  // The port is bound on 127.0.0.1 and nowhere else: 127.0.0.2 (another loopback address,
  // not the bound one) cannot connect.
  httplib::Client c("127.0.0.2", r.port);
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/v1/health"));
}

// The real thing: a seed-cnn (random weights) at the compiler's 128-bit parameters, latency
// packing, one image through HTTP.
TEST(ServiceHttp128, SeedCnnLatencyAt128Bits) {
  nn::ArchitectureOptions o;
  o.input = nn::default_input("seed-cnn");
  for (int c = 0; c < 10; ++c) o.class_names.push_back(std::to_string(c));
  o.seed = 5;
  nn::Model m = nn::build_architecture("seed-cnn", o).value();
  he::CompileOptions co;
  co.packing = he::Packing::kLatency;
  he::Plan plan = he::compile(m, co);
  ASSERT_GE(ckks::Params::create(plan.params).value().security_bits(), 128);
  Running r(m, plan);
  expect_correct(r.url, r.model, 1, 3, 5e-2);
}

}  // namespace
}  // namespace hemi::service
