// The inference service behind `hemi serve`: an HTTP server (cpp-httplib) for one model and
// one plan. Clients register their public evaluation keys (a key id comes back) and then send
// encrypted requests for that key id; the service never sees a secret key.
//
//   GET    /v1/health            200 {"status": "ok", ...counters}
//   GET    /v1/model             200 plan, plan id, CKKS parameters, expected input, limits
//   POST   /v1/keys              body: evaluation-key file -> 201 {"key_id": "<32 hex>"}
//   DELETE /v1/keys/<key id>     204, or 404 if unknown
//   POST   /v1/infer/<key id>    body: request file -> 200 result file (application/octet-stream)
//
// Errors are JSON {"error": "..."}: 400 malformed body or key id, 404 unknown key id or path,
// 413 body over the limit, 422 well-formed but for another plan or parameters, 503 every
// evaluation slot busy for longer than the queue wait (Retry-After: 1), 500 anything else.
// A failed request never stops the service.
//
// Limits: the body size (per endpoint), the images per latency request, the evaluations (and
// key registrations) running at once, and the key sets stored, with least-recently-used
// eviction. Memory is bounded by http_threads × the largest body, plus the stored key sets.
//
// Concurrency: handlers run on cpp-httplib's worker threads; each evaluation runs on the
// thread that received it (the he::Server objects are built without a pool, so they are safe
// to share), at most max_concurrent_evaluations at once. The service holds no state that
// another instance would need, apart from registered keys (docs/service.md: scaling out).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "hemi/he/roles.h"
#include "hemi/nn/model.h"
#include "hemi/service/formats.h"

namespace hemi::service {

struct Limits {
  std::size_t max_request_bytes = std::size_t{256} << 20;  // a 128-bit throughput batch is ~72 MiB
  std::size_t max_key_bytes = std::size_t{256} << 20;      // 128-bit latency keys are ~91 MiB
  std::size_t max_images_per_request = 64;                 // latency packing
  std::size_t max_concurrent_evaluations = 0;              // 0: one per hardware thread
  std::size_t max_stored_keys = 16;                        // least recently used evicted
  double queue_wait_seconds = 30;                          // then 503
  std::size_t http_threads = 0;                            // 0: max_concurrent_evaluations + 4
};

// Registered evaluation keys (as ready he::Server objects) by key id, least recently used
// evicted beyond the capacity. Thread-safe. An evicted entry stays alive while in use.
class KeyStore {
 public:
  explicit KeyStore(std::size_t capacity);
  std::string add(std::shared_ptr<const he::Server> server);  // returns a fresh random key id
  std::shared_ptr<const he::Server> find(const std::string& key_id);  // null if unknown
  bool erase(const std::string& key_id);
  std::size_t size() const;
  std::size_t evictions() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const he::Server>>;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t evictions_ = 0;
};

class Service {
 public:
  // Checks that the plan belongs to the model. Throws hemi::Error otherwise.
  Service(he::Plan plan, nn::Model model, Limits limits = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds to host:port (port 0: an ephemeral port) and returns the port. Throws if it cannot.
  int bind(const std::string& host, int port);
  void run();    // serves until stop(); call after bind
  void start();  // run() on a background thread
  void stop();   // stops serving and joins the background thread (if any)

  // The endpoints without HTTP (tests, fuzzing): status, body, content type.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  Reply health() const;
  Reply model_info() const;
  Reply register_keys(const std::string& body);
  Reply infer(const std::string& key_id, const std::string& body);
  Reply delete_keys(const std::string& key_id);

  const PlanContext& plan() const { return ctx_; }
  const Limits& limits() const { return limits_; }
  std::size_t stored_keys() const { return keys_.size(); }

 private:
  Reply with_slot(const std::function<Reply()>& work);

  PlanContext ctx_;
  nn::Model model_;
  std::shared_ptr<const he::PreparedModel> prepared_;  // shared by every registered key set
  Limits limits_;
  KeyStore keys_;
  std::mutex slots_mutex_;
  std::condition_variable slots_free_;
  std::size_t slots_used_ = 0;
  std::atomic<std::uint64_t> served_{0}, rejected_{0}, evaluations_{0};
  struct Http;
  std::unique_ptr<Http> http_;
  std::thread thread_;
};

}  // namespace hemi::service
