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
// Whose fault (hemi::InputError vs hemi::InternalError, base/error.h): errors caused by the
// request are 4xx, JSON {"error": "..."}: 400 malformed body or key id, 404 unknown key id or
// path, 408 body sent too slowly, 411 POST without Content-Length or chunked framing,
// 413 body over the limit (refused at the header when Content-Length says so), 415 a
// Content-Encoding, 422 well-formed but for another plan or parameters, 429 too many requests
// at once from one client address. The server's own failures are 500 (and logged with an
// incident number, which the answer names; the message stays in the log), 503 a resource is
// exhausted for now (every evaluation slot busy beyond the queue wait, the memory for bodies
// being received, memory): Retry-After: 1. A plain hemi::Error is blamed on the client while
// its body is being parsed and validated, on the server once the input has been validated.
// A failed request never stops the service.
//
// Abuse (docs/service.md, "Holding under abuse"): one request per connection; a connection
// that sends nothing for idle_timeout_seconds is closed; every read waits at most
// read_timeout_seconds; a body must arrive at min_upload_bytes_per_second after a grace period;
// bodies are counted against body_memory_bytes while they arrive; each client address has at
// most max_requests_per_client requests being received or evaluated; the connection threads
// (http_threads) outnumber the evaluation slots, so idle and slow sockets do not hold the
// evaluations. A slow client can still hold one connection thread until its read timeout per
// byte: in front of untrusted networks, put HAProxy (deploy/) before the service.
//
// Memory: body_memory_bytes for bodies being received, plus key_memory_bytes for stored key
// sets (counted as they sit in memory: expanded, with Shoup factors; least recently used
// evicted, and the memory is returned to the system), plus the evaluations running.
//
// Concurrency: handlers run on cpp-httplib's worker threads; each evaluation runs on the
// thread that received it (the he::Server objects are built without a pool, so they are safe
// to share), at most max_concurrent_evaluations at once. The service holds no state that
// another instance would need, apart from registered keys (docs/service.md: scaling out).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "hemi/he/roles.h"
#include "hemi/nn/model.h"
#include "hemi/service/formats.h"
#include "hemi/service/key_store.h"

namespace hemi::service {

struct Limits {
  std::size_t max_request_bytes = std::size_t{256} << 20;  // a 128-bit throughput batch is ~72 MiB
  std::size_t max_key_bytes = std::size_t{256} << 20;      // 128-bit latency keys are ~91 MiB
  std::size_t max_images_per_request = 64;                 // latency packing
  std::size_t max_concurrent_evaluations = 0;              // 0: one per hardware thread
  std::size_t key_memory_bytes = std::size_t{4} << 30;     // stored key sets, least recently used evicted
  double queue_wait_seconds = 30;                          // then 503
  std::size_t http_threads = 0;                            // 0: max_concurrent_evaluations + 64
  std::size_t max_requests_per_client = 8;                 // per client address, then 429
  std::size_t body_memory_bytes = 0;                       // 0: max(1 GiB, 2 x the largest body)
  int idle_timeout_seconds = 2;                            // a new connection must start its request
  double read_timeout_seconds = 5;                         // each read of a request
  double upload_grace_seconds = 10;                        // then bodies must keep up the rate below
  double min_upload_bytes_per_second = 256 * 1024;
};

// Throws hemi::InputError naming the first limit out of its range (and the range).
void validate(const Limits& limits);

// The memory a key set occupies once loaded (every key-switching polynomial with its Shoup
// factors), in bytes: what the key store counts against its budget.
std::size_t resident_bytes(const he::EvalKeys& keys);

// Registered evaluation keys (as ready he::Server objects) by key id, counted in bytes against
// a budget, least recently used evicted beyond it. Thread-safe. An evicted entry stays alive
// while in use; its memory goes back to the system when the last user lets go.
class KeyStore {
 public:
  explicit KeyStore(std::size_t budget_bytes);
  // Returns a fresh random key id. Throws InputError if `bytes` alone exceed the budget.
  std::string add(std::shared_ptr<const he::Server> server, std::size_t bytes);
  // The same under a given id (a key set another replica registered; replaces one there).
  // `key_set` is the keys' fingerprint (formats.h), which requests must carry.
  void add_as(const std::string& id, std::shared_ptr<const he::Server> server, std::size_t bytes,
              std::string key_set = {});
  static std::string new_id();
  // Null if unknown; `key_set` (if given) receives the keys' fingerprint.
  std::shared_ptr<const he::Server> find(const std::string& key_id, std::string* key_set = nullptr);
  bool erase(const std::string& key_id);
  std::size_t size() const;
  std::size_t bytes() const;
  std::size_t evictions() const;
  std::size_t budget() const { return budget_; }

 private:
  struct Entry {
    std::string id;
    std::shared_ptr<const he::Server> server;
    std::size_t bytes;
    std::string key_set;
  };
  std::size_t budget_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t bytes_ = 0, evictions_ = 0;
};

class Service {
 public:
  // Checks the limits and that the plan belongs to the model. Throws hemi::InputError otherwise.
  Service(he::Plan plan, nn::Model model, Limits limits = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds to host:port (port 0: an ephemeral port) and returns the port. Throws if it cannot,
  // in particular if another process listens there (no SO_REUSEPORT).
  int bind(const std::string& host, int port);
  void run();    // serves until stop(); call after bind
  void start();  // run() on a background thread
  void stop();   // stops serving and joins the background thread (if any)

  // Share registered keys with other replicas through `store` (call before serving): entries
  // expire after ttl_seconds; the in-process KeyStore then caches what this replica uses.
  void set_shared_keys(std::shared_ptr<SharedKeyStore> store, long ttl_seconds);

  // Where internal errors (500) and their incident numbers are logged; stderr by default.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

  // The endpoints without HTTP (tests, fuzzing): status, body, content type.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  Reply health() const;
  Reply model_info() const;
  Reply register_keys(const Bytes& body);
  Reply infer(const std::string& key_id, const Bytes& body);
  Reply register_keys(const std::string& body) { return register_keys(Bytes(body.begin(), body.end())); }
  Reply infer(const std::string& key_id, const std::string& body) { return infer(key_id, Bytes(body.begin(), body.end())); }
  Reply delete_keys(const std::string& key_id);

  // Where an exception came from: while parsing and validating the client's body (a plain
  // hemi::Error is the client's fault), or after (it is the server's).
  enum class Stage { kInput, kEvaluation };
  // The answer for an exception: 4xx for input errors, 500 (logged) for internal ones.
  Reply reply_for(std::exception_ptr error, Stage stage, const std::string& what);

  const PlanContext& plan() const { return ctx_; }
  const Limits& limits() const { return limits_; }
  std::size_t stored_keys() const { return keys_.size(); }
  std::size_t stored_key_bytes() const { return keys_.bytes(); }

 private:
  Reply with_slot(const std::function<Reply()>& work);
  // Loads and validates a key file into a ready he::Server (throws like read_eval_keys).
  // Validated keys with their resident size; `key_set` receives their fingerprint.
  std::pair<std::shared_ptr<const he::Server>, std::size_t> load_keys(const Bytes& body, std::string* key_set) const;
  void log(const std::string& line) const;

  PlanContext ctx_;
  nn::Model model_;
  std::shared_ptr<const he::PreparedModel> prepared_;  // shared by every registered key set
  Limits limits_;
  KeyStore keys_;
  std::shared_ptr<SharedKeyStore> shared_;
  long shared_ttl_ = 0;
  std::mutex slots_mutex_;
  std::condition_variable slots_free_;
  std::size_t slots_used_ = 0;
  std::atomic<std::uint64_t> served_{0}, rejected_{0}, evaluations_{0}, incidents_{0};
  std::function<void(const std::string&)> log_;
  struct Http;
  std::unique_ptr<Http> http_;
  std::thread thread_;
};

}  // namespace hemi::service
