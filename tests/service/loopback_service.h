// The loopback harness shared by the HTTP tests (http_test.cpp, abuse_test.cpp): a `Service`
// running on 127.0.0.1 at an ephemeral port, with its log captured, and the bodies a client
// would send (evaluation keys and one encrypted request).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "hemi/service/client.h"
#include "hemi/service/server.h"
#include "service_test_util.h"

namespace hemi::service::testing {

// A server on 127.0.0.1 (ephemeral port), stopped when this goes out of scope. What the server
// logs (500s with their incident numbers) goes to `log` instead of stderr.
struct Running {
  Running(nn::Model m, he::Plan plan, Limits limits = {}) : model(std::move(m)), service(std::move(plan), model, limits) {
    service.set_log([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex);
      log.push_back(line);
    });
    port = service.bind("127.0.0.1", 0);
    service.start();
    url = "http://127.0.0.1:" + std::to_string(port);
  }
  ~Running() { service.stop(); }
  nn::Model model;
  Service service;
  int port = 0;
  std::string url;
  std::mutex log_mutex;
  std::vector<std::string> log;
};

// A client's key set (from `seed`) and the bodies it would send: its evaluation-key file and a
// request with one random image.
struct Material {
  explicit Material(const PlanContext& ctx, const nn::Model& model, unsigned seed = 4)
      : client(ctx.plan(), Seed{static_cast<std::uint8_t>(seed)}) {
    const he::EvalKeys eval = client.eval_keys();
    keys = write_eval_keys(eval, ctx);
    const auto img = random_images(1, model.input_shape().size(), 2);
    request = write_request(encrypt_images(client, key_set_fingerprint(eval, ctx), img.data(), 1).at(0), ctx);
  }
  he::Client client;
  Bytes keys, request;
};

}  // namespace hemi::service::testing
