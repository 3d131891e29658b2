#include "hemi/service/server.h"

#include <httplib.h>
#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <new>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>

#include "hemi/base/random.h"
#include "hemi/he/compiler.h"

namespace hemi::service {

using nlohmann::json;

// ---- limits ----

namespace {

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

void check_range(const char* name, double value, double lo, double hi, const char* unit = "") {
  if (!(value >= lo && value <= hi))  // also refuses NaN
    throw InputError(std::string("serve: ") + name + " " + number(value) + unit + " is out of range [" + number(lo) + ", " +
                     number(hi) + "]" + unit);
}

std::size_t largest_body(const Limits& l) { return std::max(l.max_key_bytes, l.max_request_bytes); }

}  // namespace

void validate(const Limits& l) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  check_range("max_request_bytes", static_cast<double>(l.max_request_bytes), 1024, 16 * kGiB);
  check_range("max_key_bytes", static_cast<double>(l.max_key_bytes), 1024, 16 * kGiB);
  check_range("max_images_per_request", static_cast<double>(l.max_images_per_request), 1, 65536);
  check_range("max_concurrent_evaluations", static_cast<double>(l.max_concurrent_evaluations), 0, 1024);
  check_range("key_memory_bytes", static_cast<double>(l.key_memory_bytes), 1 << 20, 1024 * kGiB);
  check_range("queue_wait_seconds", l.queue_wait_seconds, 0, 3600, " s");
  check_range("http_threads", static_cast<double>(l.http_threads), 0, 4096);
  check_range("max_requests_per_client", static_cast<double>(l.max_requests_per_client), 1, 4096);
  if (l.body_memory_bytes != 0 && l.body_memory_bytes < largest_body(l))
    throw InputError("serve: body_memory_bytes " + std::to_string(l.body_memory_bytes) +
                     " is below the largest body allowed (" + std::to_string(largest_body(l)) + ")");
  check_range("idle_timeout_seconds", l.idle_timeout_seconds, 1, 600, " s");
  check_range("read_timeout_seconds", l.read_timeout_seconds, 0.01, 600, " s");
  check_range("upload_grace_seconds", l.upload_grace_seconds, 0, 3600, " s");
  check_range("min_upload_bytes_per_second", l.min_upload_bytes_per_second, 0, 1e12);
}

std::size_t resident_bytes(const he::EvalKeys& keys) {
  std::size_t total = 0;
  auto polys = [&](const std::vector<ckks::RnsPoly>& v) {
    for (const auto& p : v) total += p.n() * p.limbs() * sizeof(math::u64);
  };
  auto key = [&](const ckks::KeySwitchKey& k) {
    polys(k.b);
    polys(k.a);
    polys(k.b_shoup);
    polys(k.a_shoup);
  };
  key(keys.relin.key);
  for (const auto& [g, k] : keys.galois.keys) key(k);
  return total;
}

// ---- key store ----

KeyStore::KeyStore(std::size_t budget_bytes) : budget_(budget_bytes == 0 ? 1 : budget_bytes) {}

std::string KeyStore::new_id() {
  const Seed s = random_seed();
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < 16; ++i) {
    id += hex[s[i] >> 4];
    id += hex[s[i] & 15];
  }
  return id;
}

std::string KeyStore::add(std::shared_ptr<const he::Server> server, std::size_t bytes) {
  std::string id = new_id();
  add_as(id, std::move(server), bytes);
  return id;
}

void KeyStore::add_as(const std::string& id, std::shared_ptr<const he::Server> server, std::size_t bytes,
                      std::string key_set) {
  if (bytes > budget_)
    throw InputError("evaluation keys need " + std::to_string(bytes >> 20) + " MiB in memory, more than the server's key budget of " +
                     std::to_string(budget_ >> 20) + " MiB");
  std::vector<std::shared_ptr<const he::Server>> evicted;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = index_.find(id); it != index_.end()) {  // loaded twice at once: keep one
    bytes_ -= it->second->bytes;
    evicted.push_back(std::move(it->second->server));
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (!lru_.empty() && bytes_ + bytes > budget_) {
    index_.erase(lru_.back().id);
    bytes_ -= lru_.back().bytes;
    evicted.push_back(std::move(lru_.back().server));
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(Entry{id, std::move(server), bytes, std::move(key_set)});
  index_[id] = lru_.begin();
  bytes_ += bytes;
}

std::shared_ptr<const he::Server> KeyStore::find(const std::string& key_id, std::string* key_set) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key_id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  if (key_set) *key_set = it->second->key_set;
  return it->second->server;
}

bool KeyStore::erase(const std::string& key_id) {
  std::shared_ptr<const he::Server> gone;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key_id);
  if (it == index_.end()) return false;
  gone = std::move(it->second->server);
  bytes_ -= it->second->bytes;
  lru_.erase(it->second);
  index_.erase(it);
  return true;
}

std::size_t KeyStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

std::size_t KeyStore::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

std::size_t KeyStore::evictions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evictions_;
}

// ---- service ----

namespace {

Service::Reply error_reply(int status, const std::string& message) {
  return {status, json{{"error", message}}.dump(), "application/json"};
}

// Entry names in the shared store: key sets by fingerprint, key ids as aliases of them.
std::string shared_set_name(const std::string& key_set) { return "set:" + key_set; }
std::string shared_id_name(const std::string& key_id) { return "id:" + key_id; }

constexpr std::size_t kFingerprintChars = 32;  // a key-set fingerprint (formats.h)

bool valid_key_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::size_t hardware_slots() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// A key set's he::Server, whose memory goes back to the system when the last user lets go
// (glibc keeps freed pages of its heap otherwise: RSS would stay at its peak).
std::shared_ptr<const he::Server> returning_memory(he::Server* server) {
  return std::shared_ptr<const he::Server>(server, [](const he::Server* p) {
    delete p;
    malloc_trim(0);
  });
}

}  // namespace

// Requests being received or evaluated, per client address (bounded by
// max_requests_per_client), and the bytes of bodies being received (bounded by
// body_memory_bytes).
class ClientCounter {
 public:
  bool try_enter(const std::string& client, std::size_t max) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t& n = active_[client];
    if (n >= max) return false;
    ++n;
    return true;
  }
  void leave(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(client);
    if (it != active_.end() && --it->second == 0) active_.erase(it);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> active_;
};

struct Service::Http {
  httplib::Server server;
  ClientCounter clients;
  std::atomic<std::size_t> body_bytes{0};
  std::size_t body_budget = 0;
};

Service::Service(he::Plan plan, nn::Model model, Limits limits)
    : ctx_(std::move(plan)), model_(std::move(model)), limits_(limits), keys_(limits.key_memory_bytes) {
  validate(limits_);
  if (ctx_.plan().model_id != he::model_id(model_))
    throw InputError("serve: the plan was made for another model (" + ctx_.plan().model_id + ")");
  prepared_ = std::make_shared<const he::PreparedModel>(ctx_.plan(), model_);
  if (limits_.max_concurrent_evaluations == 0) limits_.max_concurrent_evaluations = hardware_slots();
  if (limits_.http_threads == 0) limits_.http_threads = limits_.max_concurrent_evaluations + 64;
  if (limits_.body_memory_bytes == 0)
    limits_.body_memory_bytes = std::max(std::size_t{1} << 30, 2 * largest_body(limits_));
  log_ = [](const std::string& line) {
    std::fprintf(stderr, "hemi serve: %s\n", line.c_str());
    std::fflush(stderr);
  };
}

Service::~Service() { stop(); }

void Service::log(const std::string& line) const {
  if (log_) log_(line);
}

Service::Reply Service::reply_for(std::exception_ptr error, Stage stage, const std::string& what) {
  auto internal = [&](const std::string& message) {
    const std::uint64_t incident = ++incidents_;
    log("internal error #" + std::to_string(incident) + " in " + what + ": " + message);
    return error_reply(500, "internal error #" + std::to_string(incident) + " in " + what +
                                " (not caused by the request; logged by the server)");
  };
  try {
    std::rethrow_exception(error);
  } catch (const PlanMismatch& e) {
    return error_reply(422, e.what());
  } catch (const InputError& e) {
    return error_reply(400, e.what());
  } catch (const InternalError& e) {
    return internal(e.what());
  } catch (const Error& e) {
    if (stage == Stage::kInput) return error_reply(400, e.what());
    return internal(e.what());
  } catch (const std::bad_alloc&) {
    log("out of memory in " + what);
    return error_reply(503, "server out of memory for this request; retry later");
  } catch (const std::exception& e) {
    return internal(e.what());
  } catch (...) {
    return internal("unknown exception");
  }
}

Service::Reply Service::with_slot(const std::function<Reply()>& work) {
  {
    std::unique_lock<std::mutex> lock(slots_mutex_);
    const auto wait = std::chrono::duration<double>(limits_.queue_wait_seconds);
    if (!slots_free_.wait_for(lock, wait, [&] { return slots_used_ < limits_.max_concurrent_evaluations; })) {
      ++rejected_;
      return error_reply(503, "server busy: " + std::to_string(limits_.max_concurrent_evaluations) +
                                  " evaluations running and no slot freed within " +
                                  std::to_string(limits_.queue_wait_seconds) + " s; retry later");
    }
    ++slots_used_;
  }
  struct Release {
    Service* s;
    ~Release() {
      {
        std::lock_guard<std::mutex> lock(s->slots_mutex_);
        --s->slots_used_;
      }
      s->slots_free_.notify_one();
    }
  } release{this};
  try {
    return work();
  } catch (...) {  // work() classifies its own stages; anything left is the server's
    return reply_for(std::current_exception(), Stage::kEvaluation, "a request");
  }
}

Service::Reply Service::health() const {
  return {200,
          json{{"status", "ok"},
               {"plan_id", ctx_.id()},
               {"stored_keys", keys_.size()},
               {"stored_key_bytes", keys_.bytes()},
               {"key_memory_bytes", keys_.budget()},
               {"evictions", keys_.evictions()},
               {"evaluations", evaluations_.load()},
               {"rejected_busy", rejected_.load()},
               {"internal_errors", incidents_.load()}}
              .dump(),
          "application/json"};
}

Service::Reply Service::model_info() const {
  const he::Plan& plan = ctx_.plan();
  const ckks::Params& p = ctx_.params();
  const nn::InputSpec& in = model_.input();
  json j;
  j["plan"] = json::parse(plan.to_json());
  j["plan_id"] = ctx_.id();
  j["model_id"] = plan.model_id;
  j["architecture"] = model_.architecture();
  j["classes"] = plan.classes;
  j["class_names"] = model_.class_names();
  j["packing"] = he::to_string(plan.packing);
  j["input"] = {{"color", nn::to_string(in.color)}, {"height", in.height}, {"width", in.width}, {"mean", in.mean}, {"std", in.std}};
  j["ckks"] = {{"n", p.n()}, {"log2_qp", p.log2_qp()}, {"security_bits", p.security_bits()}, {"insecure", p.insecure()},
               {"params_id", p.id_hex()}};
  j["request"] = {{"images_per_batch", plan.images_per_batch},
                  {"ciphertexts_per_batch", plan.ciphertexts_per_batch},
                  {"input_level", plan.input_level},
                  {"rotation_steps", plan.rotation_steps}};
  j["limits"] = {{"max_request_bytes", limits_.max_request_bytes},
                 {"max_key_bytes", limits_.max_key_bytes},
                 {"max_images_per_request", limits_.max_images_per_request},
                 {"max_concurrent_evaluations", limits_.max_concurrent_evaluations},
                 {"key_memory_bytes", limits_.key_memory_bytes},
                 {"max_requests_per_client", limits_.max_requests_per_client}};
  return {200, j.dump(), "application/json"};
}

void Service::set_shared_keys(std::shared_ptr<SharedKeyStore> store, long ttl_seconds) {
  if (ttl_seconds < 1 || ttl_seconds > 366L * 86400)
    throw InputError("serve: key expiry " + std::to_string(ttl_seconds) + " s is out of range [1, 31622400]");
  shared_ = std::move(store);
  shared_ttl_ = ttl_seconds;
}

std::pair<std::shared_ptr<const he::Server>, std::size_t> Service::load_keys(const Bytes& body,
                                                                          std::string* key_set) const {
  he::EvalKeys keys = read_eval_keys(body, ctx_, key_set);
  const std::size_t bytes = resident_bytes(keys);
  if (bytes > keys_.budget())
    throw InputError("evaluation keys need " + std::to_string(bytes >> 20) + " MiB in memory, more than the server's key budget of " +
                     std::to_string(keys_.budget() >> 20) + " MiB");
  return {returning_memory(new he::Server(prepared_, std::move(keys), nullptr)), bytes};
}

Service::Reply Service::register_keys(const Bytes& body) {
  if (body.size() > limits_.max_key_bytes)
    return error_reply(413, "evaluation keys of " + std::to_string(body.size()) + " bytes exceed the limit of " +
                                std::to_string(limits_.max_key_bytes));
  if (body.empty()) return error_reply(400, "empty body: expected an evaluation-key file (hemi keygen)");
  return with_slot([&] {
    std::pair<std::shared_ptr<const he::Server>, std::size_t> loaded;
    std::string key_set;
    try {
      loaded = load_keys(body, &key_set);
    } catch (...) {
      return reply_for(std::current_exception(), Stage::kInput, "POST /v1/keys");
    }
    const std::string id = KeyStore::new_id();
    if (shared_) {  // a failure is the server's (500, logged)
      // The key file is stored once per key set, under its fingerprint; the key id, a
      // capability only its client knows, names that fingerprint and counts as a reference to
      // the file (the same keys registered again share it: deleting one id keeps it).
      shared_->put_referenced(shared_set_name(key_set), body, shared_id_name(id), Bytes(key_set.begin(), key_set.end()),
                              shared_ttl_);
    }
    keys_.add_as(id, std::move(loaded.first), loaded.second, key_set);
    return Reply{201, json{{"key_id", id}}.dump(), "application/json"};
  });
}

Service::Reply Service::infer(const std::string& key_id, const Bytes& body) {
  if (!valid_key_id(key_id)) return error_reply(400, "malformed key id (expected 32 lowercase hex digits)");
  if (body.size() > limits_.max_request_bytes)
    return error_reply(413, "request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                                std::to_string(limits_.max_request_bytes));
  if (body.empty()) return error_reply(400, "empty body: expected a request file (hemi encrypt)");
  std::string key_set;  // the fingerprint of the keys under key_id
  std::shared_ptr<const he::Server> server = keys_.find(key_id, &key_set);
  const std::string unknown = "unknown key id " + key_id + " (never registered, deleted, evicted or expired: register the keys again)";
  if (!server && !shared_) return error_reply(404, unknown);
  return with_slot([&] {
    if (!server) {  // registered on another replica, or evicted here: from the shared store
      // What this service stored there: a fingerprint, and a key file within --max-key-mib.
      std::optional<Bytes> alias = shared_->get(shared_id_name(key_id), kFingerprintChars);
      std::optional<Bytes> stored;
      if (alias && valid_key_id(std::string(alias->begin(), alias->end())))
        stored = shared_->get(shared_set_name(std::string(alias->begin(), alias->end())), limits_.max_key_bytes);
      if (!stored) return error_reply(404, unknown);
      // The store is trusted no more than a client: the file is validated again. A bad one is
      // the server side's fault (whoever wrote the store), not this request's.
      try {
        auto loaded = load_keys(*stored, &key_set);
        server = loaded.first;
        keys_.add_as(key_id, std::move(loaded.first), loaded.second, key_set);
      } catch (...) {
        return reply_for(std::current_exception(), Stage::kEvaluation, "loading keys " + key_id + " from " + shared_->describe());
      }
    }
    Request req;
    try {
      req = read_request(body, ctx_, limits_.max_images_per_request);
    } catch (...) {
      return reply_for(std::current_exception(), Stage::kInput, "POST /v1/infer");
    }
    // Evaluating under other keys would return garbage the client cannot tell from an answer.
    if (req.key_set != key_set)
      return error_reply(422, "request encrypted under key set " + req.key_set + ", but key id " + key_id +
                                  " holds key set " + key_set + ": register the keys this request was made with");
    try {
      Result res = evaluate(*server, req);
      ++evaluations_;
      const Bytes out = write_result(res, ctx_);
      return Reply{200, std::string(out.begin(), out.end()), "application/octet-stream"};
    } catch (...) {
      return reply_for(std::current_exception(), Stage::kEvaluation, "POST /v1/infer");
    }
  });
}

Service::Reply Service::delete_keys(const std::string& key_id) {
  if (!valid_key_id(key_id)) return error_reply(400, "malformed key id (expected 32 lowercase hex digits)");
  bool found = keys_.erase(key_id);
  if (shared_) {
    try {
      if (std::optional<Bytes> alias = shared_->get(shared_id_name(key_id), kFingerprintChars)) {
        // The key file goes only with its last key id.
        found = shared_->erase_reference(shared_id_name(key_id), shared_set_name(std::string(alias->begin(), alias->end()))) ||
                found;
      }
    } catch (...) {
      return reply_for(std::current_exception(), Stage::kEvaluation, "DELETE /v1/keys");
    }
  }
  if (!found) return error_reply(404, "unknown key id " + key_id);
  return {204, "", "application/json"};
}

// ---- the HTTP front ----

namespace {

// The body limit of an endpoint: 0 for those that take no body, -1 for no such endpoint.
bool one_segment_after(const std::string& path, const std::string& prefix) {
  return path.size() > prefix.size() && path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos;
}

long long body_limit(const std::string& method, const std::string& path, const Limits& l) {
  if (method == "POST" && path == "/v1/keys") return static_cast<long long>(l.max_key_bytes);
  if (method == "POST" && one_segment_after(path, "/v1/infer/")) return static_cast<long long>(l.max_request_bytes);
  if (method == "DELETE" && one_segment_after(path, "/v1/keys/")) return 0;
  if ((method == "GET" || method == "HEAD") && (path == "/v1/health" || path == "/v1/model")) return 0;
  return -1;
}

// Content-Length as digits only (no sign, no space), saturating at LLONG_MAX; -1 if malformed.
long long parse_length(const std::string& v) {
  if (v.empty()) return -1;
  long long n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    const int d = c - '0';
    n = n > (LLONG_MAX - d) / 10 ? LLONG_MAX : n * 10 + d;
  }
  return n;
}

void send_json(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  if (status == 503 || status == 429) res.set_header("Retry-After", "1");
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

}  // namespace

int Service::bind(const std::string& host, int port) {
  if (http_) throw Error("serve: already bound");
  if (port < 0 || port > 65535) throw InputError("serve: port " + std::to_string(port) + " is out of range [0, 65535]");
  http_ = std::make_unique<Http>();
  Http& http = *http_;
  http.body_budget = limits_.body_memory_bytes;
  httplib::Server& s = http.server;
  const std::size_t threads = limits_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // cpp-httplib's default socket options add SO_REUSEPORT, with which a second server on the
  // same port starts and the kernel splits the clients between the two. SO_REUSEADDR alone
  // only allows a restart while old connections linger in TIME_WAIT.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // One request per connection: a body refused at its header is never read, and the
  // connection closes instead of parsing the unread body as the next request.
  s.set_keep_alive_max_count(1);
  s.set_keep_alive_timeout(limits_.idle_timeout_seconds);  // before the request line
  const auto read_sec = static_cast<time_t>(limits_.read_timeout_seconds);
  s.set_read_timeout(read_sec, static_cast<time_t>((limits_.read_timeout_seconds - static_cast<double>(read_sec)) * 1e6));
  s.set_write_timeout(60, 0);
  s.set_payload_max_length(largest_body(limits_));
  auto send = [](httplib::Response& res, Reply r) {
    res.status = r.status;
    if (r.status == 503 || r.status == 429) res.set_header("Retry-After", "1");
    if (!r.body.empty() || r.status != 204) res.set_content(std::move(r.body), r.content_type.c_str());
  };

  // At the header, before any body is read: unknown endpoints, encodings, framing and sizes.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const long long limit = body_limit(req.method, req.path, limits_);
    if (limit < 0) {
      send_json(res, 404, "no such endpoint: " + req.method + " " + req.path + " (see GET /v1/model)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity") {
      send_json(res, 415, "Content-Encoding '" + encoding + "' is not accepted: send the file as it is");
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool chunked = req.has_header("Transfer-Encoding");
    if (chunked && req.get_header_value("Transfer-Encoding") != "chunked") {
      send_json(res, 400, "Transfer-Encoding '" + req.get_header_value("Transfer-Encoding") + "' is not accepted");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length")) {
      if (chunked || req.get_header_value_count("Content-Length") != 1) {
        send_json(res, 400, "ambiguous body framing (Content-Length with Transfer-Encoding, or twice)");
        return httplib::Server::HandlerResponse::Handled;
      }
      const long long n = parse_length(req.get_header_value("Content-Length"));
      if (n < 0) {
        send_json(res, 400, "malformed Content-Length '" + req.get_header_value("Content-Length") + "'");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (n > limit) {
        send_json(res, 413, limit == 0 ? req.method + " " + req.path + " takes no body"
                                       : "body of " + std::to_string(n) + " bytes exceeds the limit of " +
                                             std::to_string(limit) + " bytes for " + req.method + " " + req.path);
        return httplib::Server::HandlerResponse::Handled;
      }
    } else if (chunked && limit == 0) {
      send_json(res, 413, req.method + " " + req.path + " takes no body");
      return httplib::Server::HandlerResponse::Handled;
    } else if (!chunked && req.method == "POST") {
      send_json(res, 411, "POST needs a Content-Length (or chunked transfer encoding)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Reads a body into `body` within its limit, the body-memory budget and the upload rate;
  // on failure fills `res` and returns false. The caller holds the client's request slot.
  auto read_body = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                          std::size_t limit, Bytes& body) {
    Http& h = *http_;
    std::size_t reserved = 0;
    struct Unreserve {
      Http& h;
      std::size_t& n;
      ~Unreserve() { h.body_bytes -= n; }
    } unreserve{h, reserved};
    auto reserve = [&](std::size_t n) {
      if (h.body_bytes.fetch_add(n) + n > h.body_budget) {
        h.body_bytes -= n;
        return false;
      }
      reserved += n;
      return true;
    };
    const long long declared = req.has_header("Content-Length") ? parse_length(req.get_header_value("Content-Length")) : -1;
    if (declared > 0) {
      if (!reserve(static_cast<std::size_t>(declared))) {
        send_json(res, 503, "server busy receiving other uploads (memory for bodies in use); retry later");
        return false;
      }
      body.reserve(static_cast<std::size_t>(declared));
    }
    enum class Stop { kNone, kTooLarge, kTooSlow, kBusy } stop = Stop::kNone;
    const auto started = std::chrono::steady_clock::now();
    const bool ok = reader([&](const char* data, std::size_t n) {
      if (body.size() + n > limit) return stop = Stop::kTooLarge, false;
      // Chunked bodies reserve as they grow (doubling), within the limit.
      if (body.size() + n > reserved && !reserve(std::min(std::max(n, reserved), limit - reserved)))
        return stop = Stop::kBusy, false;
      body.insert(body.end(), reinterpret_cast<const std::uint8_t*>(data), reinterpret_cast<const std::uint8_t*>(data) + n);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (elapsed > limits_.upload_grace_seconds &&
          static_cast<double>(body.size()) < limits_.min_upload_bytes_per_second * (elapsed - limits_.upload_grace_seconds))
        return stop = Stop::kTooSlow, false;
      return true;
    });
    if (ok) return true;
    switch (stop) {
      case Stop::kTooLarge: send_json(res, 413, "body exceeds the limit of " + std::to_string(limit) + " bytes"); break;
      case Stop::kTooSlow:
        send_json(res, 408, "body sent too slowly (under " + std::to_string(static_cast<long long>(limits_.min_upload_bytes_per_second)) +
                                " bytes/s after " + std::to_string(limits_.upload_grace_seconds) + " s)");
        break;
      case Stop::kBusy: send_json(res, 503, "server busy receiving other uploads (memory for bodies in use); retry later"); break;
      case Stop::kNone: send_json(res, 400, "incomplete or malformed body (connection closed, read timed out or bad chunk framing)"); break;
    }
    return false;
  };

  // One request slot per client address while a body is received and evaluated.
  auto with_client = [this](const httplib::Request& req, httplib::Response& res, const std::function<void()>& f) {
    Http& h = *http_;
    if (!h.clients.try_enter(req.remote_addr, limits_.max_requests_per_client)) {
      send_json(res, 429, "too many requests at once from " + req.remote_addr + " (limit " +
                              std::to_string(limits_.max_requests_per_client) + "); retry later");
      return;
    }
    struct Leave {
      Http& h;
      const std::string& who;
      ~Leave() { h.clients.leave(who); }
    } leave{h, req.remote_addr};
    f();
  };

  s.Get("/v1/health", [this, send](const httplib::Request&, httplib::Response& res) { send(res, health()); });
  s.Get("/v1/model", [this, send](const httplib::Request&, httplib::Response& res) { send(res, model_info()); });
  s.Post("/v1/keys", [this, send, read_body, with_client](const httplib::Request& req, httplib::Response& res,
                                                          const httplib::ContentReader& reader) {
    with_client(req, res, [&] {
      Bytes body;
      if (read_body(req, res, reader, limits_.max_key_bytes, body)) send(res, register_keys(body));
    });
  });
  s.Delete(R"(/v1/keys/([^/]+))", [this, send](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
    send(res, delete_keys(req.matches[1]));
  });
  s.Post(R"(/v1/infer/([^/]+))", [this, send, read_body, with_client](const httplib::Request& req, httplib::Response& res,
                                                                    const httplib::ContentReader& reader) {
    with_client(req, res, [&] {
      Bytes body;
      if (read_body(req, res, reader, limits_.max_request_bytes, body)) send(res, infer(req.matches[1], body));
    });
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg;
    switch (res.status) {
      case 404: msg = "no such endpoint: " + req.method + " " + req.path + " (see GET /v1/model)"; break;
      case 413: msg = "body exceeds the limit"; break;
      case 414: msg = "request line too long"; break;
      case 400: msg = "malformed HTTP request"; break;
      default: msg = "HTTP error " + std::to_string(res.status); break;
    }
    res.set_content(json{{"error", msg}}.dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
    Reply r = reply_for(e, Stage::kEvaluation, req.method + " " + req.path);
    res.status = r.status;
    res.set_content(r.body, "application/json");
  });
  int bound = -1;
  if (port == 0) bound = s.bind_to_any_port(host);
  else bound = s.bind_to_port(host, port) ? port : -1;
  if (bound < 0) {
    http_.reset();
    throw InputError("serve: cannot listen on " + host + ":" + std::to_string(port) +
                     " (another process listens there, or the address is not local)");
  }
  return bound;
}

void Service::run() {
  if (!http_) throw Error("serve: bind before run");
  http_->server.listen_after_bind();
}

void Service::start() {
  if (!http_) throw Error("serve: bind before start");
  thread_ = std::thread([this] { http_->server.listen_after_bind(); });
  while (!http_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Service::stop() {
  if (http_) http_->server.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hemi::service
