// A malicious server: a fake hemi server on loopback (cpp-httplib, in this test) that answers
// like `hemi serve` but lies about one thing at a time: the plan, the input spec, the class
// names, the limits, the key id, or the result. The client (service::query, what `hemi query`
// runs) must refuse every lie with a hemi::Error that says what is wrong, and never crash,
// over-read or over-allocate (this binary also runs under AddressSanitizer: docs/service.md).
// Covers "What was seen" items 1, 2 and 7 of issue 11, and more.
#include <gtest/gtest.h>

#include <set>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "hemi/nn/interpreter.h"
#include "hemi/service/client.h"
#include "loopback_service.h"
#include "support/error_of.h"
#include "test_data.h"

namespace hemi::service {
namespace {

using nlohmann::json;
using test_support::error_of;

// What the fake server does to its answers: `info` edits the GET /v1/model JSON, `result`
// replaces the body of an inference answer (given the honest result), `infer_raw` replaces
// the whole HTTP answer.
struct Lies {
  std::function<void(json&)> info;
  std::function<Bytes(const Result& honest, const Request& req)> result;
  std::function<void(httplib::Response&)> infer_raw;
  std::function<void(httplib::Response&)> delete_raw;  // the answer to DELETE /v1/keys/<id>
  std::function<void(httplib::Response&)> health_raw;  // the answer to GET /v1/health
  std::string key_id = "k1";
  bool fix_plan_id = true;  // a careful liar sends the id of the plan it sends
};

class FakeServer {
 public:
  FakeServer(const nn::Model& model, he::Plan plan, Lies lies, std::size_t max_images = 4)
      : model_(model), ctx_(std::move(plan)), lies_(std::move(lies)) {
    svr_.Get("/v1/model", [this, max_images](const httplib::Request&, httplib::Response& res) {
      const nn::InputSpec& in = model_.input();
      json j;
      j["plan"] = json::parse(ctx_.plan().to_json());
      j["plan_id"] = ctx_.id();
      j["input"] = {{"color", nn::to_string(in.color)}, {"height", in.height}, {"width", in.width}, {"mean", in.mean}, {"std", in.std}};
      j["class_names"] = std::vector<std::string>{"cat", "dog", "bird"};
      j["limits"] = {{"max_images_per_request", max_images}};
      if (lies_.info) {
        lies_.info(j);
        if (lies_.fix_plan_id) try {
          j["plan_id"] = plan_id(he::Plan::from_json(j.at("plan").dump()));
        } catch (...) {
        }
      }
      res.set_content(j.dump(), "application/json");
    });
    svr_.Post("/v1/keys", [this](const httplib::Request& req, httplib::Response& res) {
      keys_ = std::make_unique<he::EvalKeys>(read_eval_keys(Bytes(req.body.begin(), req.body.end()), ctx_));
      res.status = 201;
      res.set_content(json{{"key_id", lies_.key_id}}.dump(), "application/json");
    });
    svr_.Delete(R"(/v1/keys/([^/]+))", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 204;
      if (lies_.delete_raw) lies_.delete_raw(res);
    });
    svr_.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
      if (lies_.health_raw) lies_.health_raw(res);
    });
    svr_.Post(R"(/v1/infer/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++infers_;
      if (lies_.infer_raw) return lies_.infer_raw(res);
      const Request r = read_request(Bytes(req.body.begin(), req.body.end()), ctx_);
      const Result honest = evaluate(he::Server(ctx_.plan(), model_, *keys_), r);
      const Bytes body = lies_.result ? lies_.result(honest, r) : write_result(honest, ctx_);
      res.set_content(std::string(body.begin(), body.end()), "application/octet-stream");
    });
    running_.emplace(svr_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(running_->port()); }
  const PlanContext& ctx() const { return ctx_; }
  const nn::Model& model() const { return model_; }
  const he::EvalKeys& keys() const { return *keys_; }
  int infers() const { return infers_; }

 private:
  const nn::Model& model_;
  PlanContext ctx_;
  Lies lies_;
  std::unique_ptr<he::EvalKeys> keys_;
  std::atomic<int> infers_{0};
  httplib::Server svr_;
  std::optional<testing::ServerThread> running_;
};

// Small grayscale PNGs of the tiny model's size (6 x 6).
std::vector<std::string> write_images(const data::testing::TempDir& dir, int count) {
  std::mt19937 rng(7);
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> px(36);
    for (auto& v : px) v = static_cast<std::uint8_t>(rng() % 256);
    paths.push_back(dir.file("img" + std::to_string(i) + ".png"));
    data::testing::write_bytes(paths.back(), data::testing::encode_png(6, 6, 1, px));
  }
  return paths;
}

// The tiny plans are INSECURE test parameters: the client accepts them only when told so.
ClientLimits test_limits() {
  ClientLimits l;
  l.allow_insecure = true;
  return l;
}

struct Harness {
  explicit Harness(he::Packing packing) : model(testing::tiny_model()), plan(testing::tiny_plan(model, packing)) {}
  // Runs the client against a server telling `lies`; returns the client's error ("(no error)").
  std::string attack(const Lies& lies, int images = 1, ClientLimits limits = test_limits()) {
    FakeServer server(model, plan, lies);
    last_url = server.url();
    HttpClient http(server.url(), HttpOptions{30, ""});
    return error_of([&] { query(http, write_images(dir, images), limits); });
  }
  nn::Model model;
  he::Plan plan;
  data::testing::TempDir dir;
  std::string last_url;
};

#define EXPECT_REFUSED(error, text) EXPECT_NE((error).find(text), std::string::npos) << "error: " << (error)

TEST(MaliciousServer, HonestServerIsAnsweredCorrectly) {
  for (he::Packing packing : {he::Packing::kLatency, he::Packing::kThroughput}) {
    Harness h(packing);
    FakeServer server(h.model, h.plan, {});
    HttpClient http(server.url(), HttpOptions{30, ""});
    const auto paths = write_images(h.dir, 3);
    const QueryOutput q = query(http, paths, test_limits());
    ASSERT_EQ(q.logits.size(), 3u);
    EXPECT_NE(q.insecure_stamp.find("INSECURE"), std::string::npos);
    const auto images = prepare_images(paths, h.model.input());
    for (std::size_t i = 0; i < 3; ++i) {
      const auto want = nn::forward(h.model, images.data() + i * 36);
      for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(q.logits[i][c], want[c], 1e-3);
    }
  }
}

// Item 1: the server switches the client to insecure parameters.
TEST(MaliciousServer, InsecureParametersAreRefusedWithoutInsecure) {
  Harness h(he::Packing::kLatency);
  ClientLimits strict;  // no --insecure
  EXPECT_REFUSED(h.attack({}, 1, strict), "below 128-bit security; only --insecure accepts them");
  // The attack as seen: N = 1024 with allow_insecure: true.
  Lies n1024;
  n1024.info = [](json& j) {
    j["plan"]["params"] = {{"log_n", 10}, {"q_bits", {50, 40, 40, 40, 40}}, {"p_bits", {50}}, {"log_scale", 40},
                           {"security", 0}, {"allow_insecure", true}};
  };
  EXPECT_REFUSED(h.attack(n1024, 1, strict), "(N = 1024, log2(Q*P) = ");
  EXPECT_REFUSED(h.attack(n1024, 1, strict), "below 128-bit security");
}

// Item 2: plans that would crash the client, make it read past its buffers or allocate
// without bound: refused when the plan is parsed, before anything is allocated.
TEST(MaliciousServer, PlansThatWouldCrashOrExhaustTheClientAreRefused) {
  Harness h(he::Packing::kLatency);
  ASSERT_TRUE(h.plan.input_im2col);  // the tiny latency plan sends the first convolution's im2col
  auto plan_lie = [](std::function<void(json&)> f) {
    Lies l;
    l.info = [f](json& j) { f(j["plan"]); };
    return l;
  };
  const std::size_t period = h.plan.period;
  struct Case {
    const char* what;
    Lies lies;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"im2col stride 0 (SIGFPE seen)", plan_lie([](json& p) { p["im2col_conv"][4] = 0; }), "im2col stride 0 x 1"},
      {"im2col kernel larger than the input", plan_lie([](json& p) { p["im2col_conv"][2] = 40; }), "larger than the padded input"},
      {"im2col size not the input values", plan_lie([](json& p) { p["im2col_conv"][5] = 2; }), "im2col expands the input to"},
      {"classes beyond the slots (over-read seen)", plan_lie([](json& p) { p["classes"] = 4000; }), "do not fit the period"},
      {"classes 2^31-1 (16 GiB allocation seen)", plan_lie([](json& p) { p["classes"] = 2147483647; }),
       "class count 2147483647 is outside 1..4096"},
      {"no classes", plan_lie([](json& p) { p["classes"] = 0; }), "class count 0"},
      {"input values beyond the period", plan_lie([&](json& p) { p["input_values"] = period + 1; }), "do not fit the period"},
      {"input shape not the im2col input", plan_lie([](json& p) { p["input"]["height"] = 28; }),
       "im2col expands the input to 1512 values, the plan says 324"},
      {"input shape not the spec (over-read seen)",
       plan_lie([](json& p) { p["input"]["height"] = 16; p["input"]["width"] = 16; p["input_im2col"] = false; p["input_values"] = 256; }),
       "does not match the plan's input"},
      {"period not a power of two", plan_lie([](json& p) { p["period"] = 100; }), "period 100 is not a power of two"},
      {"period beyond the slots", plan_lie([](json& p) { p["period"] = 1 << 20; }), "is not a power of two of at most 1024"},
      {"rotation step beyond the slots", plan_lie([](json& p) { p["rotation_steps"].push_back(5000); }),
       "rotation step 5000 is outside 1..1023"},
      {"negative rotation step", plan_lie([](json& p) { p["rotation_steps"].push_back(-3); }), "rotation step -3"},
      {"duplicate rotation step", plan_lie([](json& p) { p["rotation_steps"].push_back(p["rotation_steps"][0]); }),
       "is listed twice"},
      {"input level above the chain", plan_lie([](json& p) { p["input_level"] = 40; }), "input level 40 is outside the chain"},
      {"depth above the input level", plan_lie([](json& p) { p["depth"] = 5; p["input_level"] = 4; }), "input level 4"},
      {"several images per latency batch", plan_lie([](json& p) { p["images_per_batch"] = 512; }), "latency packing with 512 images"},
      {"four channels", plan_lie([](json& p) { p["input"]["channels"] = 4; }), "input channels 4 (1 or 3 expected)"},
      {"a huge image", plan_lie([](json& p) { p["input"]["width"] = 100000; }), "is outside 1..4096"},
      {"layer levels outside the chain", plan_lie([](json& p) { p["layers"][0]["level_out"] = -1; }), "outside the chain"},
      {"unknown packing", plan_lie([](json& p) { p["packing"] = "magic"; }), "unknown packing 'magic'"},
      {"later plan format", plan_lie([](json& p) { p["version"] = 7; }), "format version 7 is newer"},
      {"plan not a JSON object", plan_lie([](json& p) { p = "plan"; }), "plan: malformed JSON"},
  };
  for (const Case& c : cases) EXPECT_REFUSED(h.attack(c.lies), c.expect) << c.what;
}

TEST(MaliciousServer, ThroughputPlanLiesAreRefused) {
  Harness h(he::Packing::kThroughput);
  auto plan_lie = [](std::function<void(json&)> f) {
    Lies l;
    l.info = [f](json& j) { f(j["plan"]); };
    return l;
  };
  EXPECT_REFUSED(h.attack(plan_lie([](json& p) { p["images_per_batch"] = 4096; })), "batch of 4096 images in 1024 slots");
  EXPECT_REFUSED(h.attack(plan_lie([](json& p) { p["ciphertexts_per_batch"] = 35; })), "throughput input of 35 ciphertexts");
  EXPECT_REFUSED(h.attack(plan_lie([](json& p) { p["rotation_steps"] = {1, 2}; })), "latency-packing fields");
  EXPECT_REFUSED(h.attack(plan_lie([](json& p) { p["classes"] = 5000; })), "class count 5000 is outside 1..4096");
}

// Item 2: 300 rotation steps made `query` generate 4.5 GB of Galois keys. The client bounds
// the keys it generates, by count and by memory.
TEST(MaliciousServer, KeyGenerationIsBounded) {
  Harness h(he::Packing::kLatency);
  Lies many;
  many.info = [](json& j) {
    // 300 steps in all, consistent with the plan's lowered program (Plan::create refuses plan
    // steps that are not its program's): the extra ones on a step without a diagonal layout.
    std::set<int> all;
    for (auto& s : j["plan"]["rotation_steps"]) all.insert(s.get<int>());
    std::vector<int> extra;
    for (int s = 1; all.size() < 300; ++s)
      if (all.insert(s).second) extra.push_back(s);
    j["plan"]["rotation_steps"] = std::vector<int>(all.begin(), all.end());
    for (auto& l : j["plan"]["layers"])
      if (l["layout"].is_null()) {
        l["rotation_steps"] = extra;
        break;
      }
  };
  EXPECT_REFUSED(h.attack(many), "it asks for 300 rotation keys, over the limit of 64 (--max-rotation-keys)");
  ClientLimits small = test_limits();
  small.max_key_memory_mib = 1;
  EXPECT_REFUSED(h.attack({}, 1, small), "MiB to generate, over the limit of 1 MiB (--max-key-mib)");
  // The cost is computed from the parameters and the steps, not from the plan's claims.
  he::Plan claims = h.plan;
  claims.eval_key_bytes = 1;
  claims.server_memory_bytes = 1;
  const KeyCost honest = eval_key_cost(PlanContext(h.plan)), claimed = eval_key_cost(PlanContext(claims));
  EXPECT_EQ(claimed.upload_bytes, honest.upload_bytes);
  EXPECT_EQ(claimed.memory_bytes, honest.memory_bytes);
  EXPECT_EQ(honest.rotation_keys, h.plan.rotation_steps.size());
  EXPECT_GT(honest.memory_bytes, honest.upload_bytes);
  EXPECT_NE(describe(honest).find("1 relinearization key + " + std::to_string(honest.rotation_keys) + " rotation keys"),
            std::string::npos);
}

TEST(MaliciousServer, ModelInfoLiesAreRefused) {
  Harness h(he::Packing::kLatency);
  auto info_lie = [](std::function<void(json&)> f) {
    Lies l;
    l.info = std::move(f);
    return l;
  };
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["input"]["height"] = 28; })), "does not match the plan's input 1 x 6 x 6");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["input"]["color"] = "rgb"; j["input"]["mean"] = {0, 0, 0}; j["input"]["std"] = {1, 1, 1}; })),
                 "input spec 3 x 6 x 6 does not match");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["input"]["std"] = {0}; })), "std must be positive");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["class_names"] = {"a", "b"}; })), "2 class names for 3 classes");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["class_names"][0] = std::string(1000, 'x'); })), "a class name of 1000 bytes");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["limits"]["max_images_per_request"] = 0; })), "max_images_per_request is 0");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j["limits"]["max_images_per_request"] = -1; })), "max_images_per_request");
  Lies wrong_id;
  wrong_id.fix_plan_id = false;
  wrong_id.info = [](json& j) { j["plan_id"] = "00000000000000000000000000000000"; };
  EXPECT_REFUSED(h.attack(wrong_id), "the server's plan id does not match its plan");
  EXPECT_REFUSED(h.attack(info_lie([](json& j) { j.erase("input"); })), "model info: malformed answer");
  Lies raw;
  raw.key_id = "../../v1/keys";
  EXPECT_REFUSED(h.attack(raw), "malformed key id");
}

// Item 2: results holding other images than were sent.
TEST(MaliciousServer, ResultsMustHoldExactlyTheImagesSent) {
  for (he::Packing packing : {he::Packing::kLatency, he::Packing::kThroughput}) {
    Harness h(packing);
    PlanContext ctx(h.plan);
    Lies fifty;  // 50 images for a 1-image request (SIGSEGV seen)
    fifty.result = [&](const Result& honest, const Request&) {
      Result r = honest;
      r.images = 50;
      if (packing == he::Packing::kLatency) r.outputs.assign(50, honest.outputs[0]);
      return write_result(r, ctx);
    };
    EXPECT_REFUSED(h.attack(fifty, 1), "the result holds 50 images, but 1 were sent");
    Lies fewer;  // fewer images than were sent (silently dropped before)
    fewer.result = [&](const Result& honest, const Request&) {
      Result r = honest;
      r.images = 2;
      if (packing == he::Packing::kLatency) r.outputs.resize(2);
      return write_result(r, ctx);
    };
    EXPECT_REFUSED(h.attack(fewer, 3), "the result holds 2 images, but 3 were sent");
    Lies none;
    none.result = [&](const Result& honest, const Request&) {
      Result r = honest;
      r.images = 0;
      if (packing == he::Packing::kLatency) r.outputs.clear();
      return write_result(r, ctx);
    };
    EXPECT_REFUSED(h.attack(none, 1), "no images");
  }
}

// Item 7: a result for another key set is refused instead of decrypting to confident garbage.
TEST(MaliciousServer, ResultsOfAnotherKeySetAreRefused) {
  Harness h(he::Packing::kLatency);
  PlanContext ctx(h.plan);
  he::Client other(ctx.plan(), Seed{42});
  const he::EvalKeys other_keys = other.eval_keys();
  const std::string other_set = key_set_fingerprint(other_keys, ctx);
  Lies swap;  // evaluated with another client's keys, labelled as such
  swap.result = [&](const Result&, const Request& req) {
    Request theirs = req;
    theirs.key_set = other_set;
    return write_result(evaluate(he::Server(ctx.plan(), h.model, other_keys), theirs), ctx);
  };
  EXPECT_REFUSED(h.attack(swap), "the result was made for key set " + other_set);
  EXPECT_REFUSED(h.attack(swap), "decrypting it would give garbage");
}

TEST(MaliciousServer, MalformedResultsAreRefused) {
  Harness h(he::Packing::kLatency);
  PlanContext ctx(h.plan);
  PlanContext other_plan(testing::tiny_plan(testing::tiny_model(5), he::Packing::kLatency));
  auto body_lie = [](std::function<Bytes(const Bytes&)> f, const PlanContext& c) {
    Lies l;
    l.result = [f, &c](const Result& honest, const Request&) { return f(write_result(honest, c)); };
    return l;
  };
  EXPECT_REFUSED(h.attack(body_lie([](const Bytes& b) { return Bytes(b.begin(), b.begin() + 100); }, ctx)),
                 "payload size");
  EXPECT_REFUSED(h.attack(body_lie([](const Bytes&) { return Bytes{'h', 'i'}; }, ctx)), "truncated while reading magic");
  EXPECT_REFUSED(h.attack(body_lie([](const Bytes& b) { Bytes x = b; x[0] = 'X'; return x; }, ctx)), "not a hemi service file");
  EXPECT_REFUSED(h.attack(body_lie([](const Bytes& b) { Bytes x = b; x[8] = 1; return x; }, ctx)),
                 "format version 1 was written by an older hemi");
  EXPECT_REFUSED(h.attack(body_lie([](const Bytes& b) { Bytes x = b; x.push_back(0); return x; }, ctx)), "payload size");
  Lies for_other_plan;
  for_other_plan.result = [&](const Result& honest, const Request&) { return write_result(honest, other_plan); };
  EXPECT_REFUSED(h.attack(for_other_plan), "result: made for plan");
  Lies http_error;  // a server error message with terminal escapes and a fake second line
  http_error.infer_raw = [](httplib::Response& res) {
    res.status = 500;
    res.set_content(json{{"error", "boom\x1b[31m\nhemi: all good"}}.dump(), "application/json");
  };
  const std::string e = h.attack(http_error);
  EXPECT_REFUSED(e, "inference: HTTP 500: boom\\x1b[31m\\x0ahemi: all good");
  EXPECT_EQ(e.find('\n'), std::string::npos);
  Lies huge;  // an answer far beyond what this plan's result can be: refused while it is read
  huge.infer_raw = [](httplib::Response& res) { res.set_content(std::string(std::size_t{64} << 20, 'x'), "application/octet-stream"); };
  EXPECT_REFUSED(h.attack(huge), "inference: the answer is longer than");
}

// Answers the client reads only for their status are read up to 64 KiB, not buffered whole:
// a 16 MiB (or endless) answer to DELETE or to the health check was read to its end.
TEST(MaliciousServer, LongAnswersToDeleteAndHealthAreCutOff) {
  Harness h(he::Packing::kLatency);
  auto sixteen_mib = [](int status) {
    return [status](httplib::Response& res) {
      res.status = status;
      res.set_content(std::string(std::size_t{16} << 20, 'x'), "text/plain");
    };
  };
  Lies del;
  del.delete_raw = sixteen_mib(404);
  EXPECT_REFUSED(h.attack(del), "delete keys: the answer is longer than 64 KiB");
  Lies health;
  health.health_raw = sixteen_mib(200);
  FakeServer server(h.model, h.plan, health);
  EXPECT_FALSE(HttpClient(server.url(), HttpOptions{30, ""}).healthy());
  FakeServer honest(h.model, h.plan, {});
  EXPECT_TRUE(HttpClient(honest.url(), HttpOptions{30, ""}).healthy());
}

// A server that trickles its answer (a byte every 50 ms, each read well within the read
// timeout) held hemi query for as long as it kept trickling: every exchange now has a deadline.
TEST(MaliciousServer, TricklingServerIsCutOffAtTheDeadline) {
  httplib::Server trickle;
  std::atomic<bool> stop{false};
  trickle.Get("/v1/model", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", [&](std::size_t, httplib::DataSink& sink) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return !stop && sink.write("{", 1);
    });
  });
  testing::ServerThread running(trickle);
  HttpOptions o;
  o.timeout_seconds = 1;
  HttpClient http("http://127.0.0.1:" + std::to_string(running.port()), o);
  const auto start = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { http.model_info(); });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  EXPECT_REFUSED(e, "model info: no complete answer within 1 s");
  EXPECT_LT(took, 3.0);
}

// Item 2: class names with a newline injected a fake row into CSV output.
TEST(MaliciousServer, NamesAreEscapedForTextAndCsv) {
  EXPECT_EQ(escape_text("cat"), "cat");
  EXPECT_EQ(escape_text("a\nimg9.png,0,cat,1.0"), "a\\x0aimg9.png,0,cat,1.0");
  EXPECT_EQ(escape_text("\x1b[2J\r\\"), "\\x1b[2J\\x0d\\");
  EXPECT_EQ(escape_text(escape_text("a\nb\x07")), escape_text("a\nb\x07"));  // a names file read back stays as written
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("x\ny,1,fake"), "\"x\\x0ay,1,fake\"");
  EXPECT_EQ(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
  EXPECT_EQ(csv_field("-1+1"), "'-1+1");
}

#ifdef HEMI_EXE
// The same through the `hemi query` executable: CSV and text output keep one line per image
// whatever the server's class names hold, and --insecure is stamped on the output.
TEST(MaliciousServer, HemiQueryEscapesServerNames) {
  Harness h(he::Packing::kLatency);
  Lies names;
  names.info = [](json& j) {
    j["class_names"] = {"cat\nimg9.png,0,FAKE,1.0", "=HYPERLINK(\"x\")\nX,1", "bird,\"x\"\nY,2"};
  };
  FakeServer server(h.model, h.plan, names);
  const auto paths = write_images(h.dir, 2);
  {
    const std::string cmd = std::string(HEMI_EXE) + " query --insecure --server " + server.url() + " " + paths[0] +
                            " " + paths[1] + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ASSERT_EQ(WEXITSTATUS(pclose(p)), 0) << out;
    EXPECT_EQ(out.find("\nimg9.png"), std::string::npos) << out;
    EXPECT_EQ(out.rfind("# INSECURE: N = 2048", 0), 0u) << out;
    std::size_t lines = 0;
    for (char c : out) lines += c == '\n';
    EXPECT_EQ(lines, 4u) << out;  // stamp, header, two images (CSV for several images either way)
    EXPECT_NE(out.find("p_cat\\x0aimg9.png"), std::string::npos) << out;
    EXPECT_NE(out.find("\"p_=HYPERLINK(\"\"x\"\")\\x0aX,1\""), std::string::npos) << out;
  }
  {  // text, one image: whichever class wins, its name stays on its line
    const std::string cmd = std::string(HEMI_EXE) + " query --insecure --server " + server.url() + " " + paths[0] + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ASSERT_EQ(WEXITSTATUS(pclose(p)), 0) << out;
    EXPECT_EQ(out.rfind("INSECURE: N = 2048", 0), 0u) << out;
    std::size_t lines = 0;
    for (char c : out) lines += c == '\n';
    EXPECT_EQ(lines, 3u) << out;  // stamp, prediction, probabilities
    EXPECT_NE(out.find("\\x0a"), std::string::npos) << out;
  }
  // Without --insecure, nothing is printed and the exit status says so.
  const std::string cmd = std::string(HEMI_EXE) + " query --server " + server.url() + " " + paths[0] + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_NE(WEXITSTATUS(pclose(p)), 0);
  EXPECT_NE(out.find("below 128-bit security"), std::string::npos) << out;
}
#endif

}  // namespace
}  // namespace hemi::service
