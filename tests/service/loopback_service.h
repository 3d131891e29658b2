// The loopback harness shared by the HTTP tests: a `Service` running on 127.0.0.1 at an
// ephemeral port, with its log captured, the bodies a client would send (evaluation keys and
// one encrypted request), and a thread serving any cpp-httplib server (the fake servers).
#pragma once

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <thread>
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

// Serves `server` (plain or TLS, its handlers already set) on 127.0.0.1 at an ephemeral port
// from a thread, until this goes out of scope.
class ServerThread {
 public:
  explicit ServerThread(httplib::Server& server) : server_(server), port_(server.bind_to_any_port("127.0.0.1")) {
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ServerThread() {
    server_.stop();
    thread_.join();
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  int port() const { return port_; }

 private:
  httplib::Server& server_;
  int port_;
  std::thread thread_;
};

}  // namespace hemi::service::testing
