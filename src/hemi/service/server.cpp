#include "hemi/service/server.h"

#include <httplib.h>

#include <chrono>
#include <new>
#include <nlohmann/json.hpp>

#include "hemi/base/random.h"
#include "hemi/he/compiler.h"

namespace hemi::service {

using nlohmann::json;

// ---- key store ----

KeyStore::KeyStore(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::string KeyStore::add(std::shared_ptr<const he::Server> server) {
  const Seed s = random_seed();
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < 16; ++i) {
    id += hex[s[i] >> 4];
    id += hex[s[i] & 15];
  }
  std::shared_ptr<const he::Server> evicted;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  lru_.emplace_front(id, std::move(server));
  index_[id] = lru_.begin();
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    evicted = std::move(lru_.back().second);
    lru_.pop_back();
    ++evictions_;
  }
  return id;
}

std::shared_ptr<const he::Server> KeyStore::find(const std::string& key_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key_id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

bool KeyStore::erase(const std::string& key_id) {
  std::shared_ptr<const he::Server> gone;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key_id);
  if (it == index_.end()) return false;
  gone = std::move(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
  return true;
}

std::size_t KeyStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
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

}  // namespace

struct Service::Http {
  httplib::Server server;
};

Service::Service(he::Plan plan, nn::Model model, Limits limits)
    : ctx_(std::move(plan)), model_(std::move(model)), limits_(limits), keys_(limits.max_stored_keys) {
  if (ctx_.plan().model_id != he::model_id(model_))
    throw Error("serve: the plan was made for another model (" + ctx_.plan().model_id + ")");
  prepared_ = std::make_shared<const he::PreparedModel>(ctx_.plan(), model_);
  if (limits_.max_concurrent_evaluations == 0) limits_.max_concurrent_evaluations = hardware_slots();
  if (limits_.http_threads == 0) limits_.http_threads = limits_.max_concurrent_evaluations + 4;
  if (limits_.max_stored_keys == 0) limits_.max_stored_keys = 1;
}

Service::~Service() { stop(); }

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
  } catch (const PlanMismatch& e) {
    return error_reply(422, e.what());
  } catch (const Error& e) {
    return error_reply(400, e.what());
  } catch (const std::bad_alloc&) {
    return error_reply(503, "server out of memory for this request; retry later");
  } catch (const std::exception& e) {
    return error_reply(500, std::string("internal error: ") + e.what());
  }
}

Service::Reply Service::health() const {
  return {200,
          json{{"status", "ok"},
               {"plan_id", ctx_.id()},
               {"stored_keys", keys_.size()},
               {"evictions", keys_.evictions()},
               {"evaluations", evaluations_.load()},
               {"rejected_busy", rejected_.load()}}
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
                 {"max_stored_keys", limits_.max_stored_keys}};
  return {200, j.dump(), "application/json"};
}

Service::Reply Service::register_keys(const std::string& body) {
  if (body.size() > limits_.max_key_bytes)
    return error_reply(413, "evaluation keys of " + std::to_string(body.size()) + " bytes exceed the limit of " +
                                std::to_string(limits_.max_key_bytes));
  if (body.empty()) return error_reply(400, "empty body: expected an evaluation-key file (hemi keygen)");
  return with_slot([&] {
    he::EvalKeys keys = read_eval_keys(Bytes(body.begin(), body.end()), ctx_);
    auto server = std::make_shared<const he::Server>(prepared_, std::move(keys), nullptr);
    const std::string id = keys_.add(std::move(server));
    return Reply{201, json{{"key_id", id}}.dump(), "application/json"};
  });
}

Service::Reply Service::infer(const std::string& key_id, const std::string& body) {
  if (!valid_key_id(key_id)) return error_reply(400, "malformed key id (expected 32 lowercase hex digits)");
  if (body.size() > limits_.max_request_bytes)
    return error_reply(413, "request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                                std::to_string(limits_.max_request_bytes));
  std::shared_ptr<const he::Server> server = keys_.find(key_id);
  if (!server) return error_reply(404, "unknown key id " + key_id + " (never registered, deleted or evicted: register the keys again)");
  if (body.empty()) return error_reply(400, "empty body: expected a request file (hemi encrypt)");
  return with_slot([&] {
    Request req = read_request(Bytes(body.begin(), body.end()), ctx_, limits_.max_images_per_request);
    Result res = evaluate(*server, req);
    ++evaluations_;
    const Bytes out = write_result(res, ctx_);
    return Reply{200, std::string(out.begin(), out.end()), "application/octet-stream"};
  });
}

Service::Reply Service::delete_keys(const std::string& key_id) {
  if (!valid_key_id(key_id)) return error_reply(400, "malformed key id (expected 32 lowercase hex digits)");
  if (!keys_.erase(key_id)) return error_reply(404, "unknown key id " + key_id);
  return {204, "", "application/json"};
}

int Service::bind(const std::string& host, int port) {
  if (http_) throw Error("serve: already bound");
  http_ = std::make_unique<Http>();
  httplib::Server& s = http_->server;
  const std::size_t threads = limits_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(std::max(limits_.max_key_bytes, limits_.max_request_bytes));
  s.set_read_timeout(60, 0);
  s.set_write_timeout(60, 0);
  auto send = [](httplib::Response& res, Reply r) {
    res.status = r.status;
    if (r.status == 503) res.set_header("Retry-After", "1");
    if (!r.body.empty() || r.status != 204) res.set_content(std::move(r.body), r.content_type.c_str());
  };
  s.Get("/v1/health", [this, send](const httplib::Request&, httplib::Response& res) { send(res, health()); });
  s.Get("/v1/model", [this, send](const httplib::Request&, httplib::Response& res) { send(res, model_info()); });
  s.Post("/v1/keys", [this, send](const httplib::Request& req, httplib::Response& res) { send(res, register_keys(req.body)); });
  s.Delete(R"(/v1/keys/([^/]+))", [this, send](const httplib::Request& req, httplib::Response& res) {
    send(res, delete_keys(req.matches[1]));
  });
  s.Post(R"(/v1/infer/([^/]+))", [this, send](const httplib::Request& req, httplib::Response& res) {
    send(res, infer(req.matches[1], req.body));
  });
  const std::size_t max_body = std::max(limits_.max_key_bytes, limits_.max_request_bytes);
  s.set_error_handler(httplib::Server::HandlerWithResponse([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg;
    switch (res.status) {
      case 404: msg = "no such endpoint: " + req.method + " " + req.path + " (see GET /v1/model)"; break;
      case 413:
        // cpp-httplib caps form-encoded bodies (curl's default content type) at 8 KiB.
        msg = req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0
                  ? "form-encoded body too large: send files as application/octet-stream"
                  : "body exceeds the limit of " + std::to_string(max_body) + " bytes";
        break;
      case 400: msg = "malformed HTTP request"; break;
      default: msg = "HTTP error " + std::to_string(res.status); break;
    }
    res.set_content(json{{"error", msg}}.dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(json{{"error", "internal error"}}.dump(), "application/json");
  });
  int bound = -1;
  if (port == 0) bound = s.bind_to_any_port(host);
  else bound = s.bind_to_port(host, port) ? port : -1;
  if (bound < 0) {
    http_.reset();
    throw Error("serve: cannot listen on " + host + ":" + std::to_string(port) + " (address in use or not local?)");
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
