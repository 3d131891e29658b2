#include "hemi/base/json_numbers.h"
#include "hemi/service/client.h"
#include "hemi/service/exchange_outcome.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hemi/data/image.h"

namespace hemi::service {

using nlohmann::json;

std::string input_spec_to_json(const nn::InputSpec& s) {
  return json{{"color", nn::to_string(s.color)}, {"height", s.height}, {"width", s.width}, {"mean", s.mean}, {"std", s.std}}.dump();
}

nn::InputSpec input_spec_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    nn::InputSpec s;
    const std::string color = j.at("color").get<std::string>();
    if (color == "gray") s.color = nn::ColorMode::kGray;
    else if (color == "rgb") s.color = nn::ColorMode::kRgb;
    else throw Error("color must be gray or rgb, not '" + color + "'");
    s.height = json_int(j.at("height"), "height");
    s.width = json_int(j.at("width"), "width");
    s.mean = j.at("mean").get<std::vector<double>>();
    s.std = j.at("std").get<std::vector<double>>();
    if (s.height <= 0 || s.width <= 0 || s.height > 4096 || s.width > 4096) throw Error("image size out of range");
    const std::size_t c = static_cast<std::size_t>(s.channels());
    if (s.mean.size() != c || s.std.size() != c) throw Error("mean and std need one value per channel");
    for (double v : s.std)
      if (!(v > 0) || !std::isfinite(v)) throw Error("std must be positive");
    for (double v : s.mean)
      if (!std::isfinite(v)) throw Error("mean must be finite");
    return s;
  } catch (const json::exception& e) {
    throw Error(std::string("input spec: malformed JSON: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("input spec: ") + e.what());
  }
}

std::vector<float> prepare_images(const std::vector<std::string>& paths, const nn::InputSpec& spec,
                                  std::vector<std::string>* names) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(p)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) throw Error(p + ": no image files (*.png, *.jpg, *.jpeg) in this directory");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) throw Error("no images given");
  data::LoadOptions o;
  o.height = spec.height;
  o.width = spec.width;
  o.channels = spec.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  o.mean.assign(spec.mean.begin(), spec.mean.end());
  o.stddev.assign(spec.std.begin(), spec.std.end());
  const std::size_t values = static_cast<std::size_t>(spec.channels()) * spec.height * spec.width;
  std::vector<float> out(files.size() * values);
  for (std::size_t i = 0; i < files.size(); ++i) {
    data::DecodedImage img = data::decode_image(files[i]);
    data::prepare_image(img.pixels.data(), img.height, img.width, img.channels, o, out.data() + i * values);
  }
  if (names) *names = files;
  return out;
}

// ---- what the client accepts ----

KeyCost eval_key_cost(const PlanContext& ctx) {
  const ckks::Params& p = ctx.params();
  KeyCost c;
  c.rotation_keys = ctx.plan().rotation_steps.size();
  c.upload_bytes = p.relin_key_bytes() + c.rotation_keys * p.galois_key_bytes();
  // One key-switching key: b and a per digit over Q and P, each with its Shoup factors.
  const std::size_t key_words = p.digit_count() * (p.max_level() + 1 + p.special_count()) * p.n();
  c.memory_bytes = (1 + c.rotation_keys) * key_words * 4 * sizeof(std::uint64_t);
  return c;
}

std::string describe(const KeyCost& c) {
  char line[200];
  std::snprintf(line, sizeof line, "1 relinearization key + %zu rotation keys: %.1f MiB to upload, about %.1f MiB in memory",
                c.rotation_keys, static_cast<double>(c.upload_bytes) / 1048576.0, static_cast<double>(c.memory_bytes) / 1048576.0);
  return line;
}

void check_plan(const PlanContext& ctx, const ClientLimits& limits) {
  const ckks::Params& p = ctx.params();
  if (p.security_bits() < 128 && !limits.allow_insecure)
    throw Error("plan refused: its CKKS parameters (N = " + std::to_string(p.n()) + ", log2(Q*P) = " +
                std::to_string(p.total_bits()) + ") are below 128-bit security; only --insecure accepts them, for tests");
  const KeyCost c = eval_key_cost(ctx);
  if (c.rotation_keys > limits.max_rotation_keys)
    throw Error("plan refused: it asks for " + std::to_string(c.rotation_keys) + " rotation keys, over the limit of " +
                std::to_string(limits.max_rotation_keys) + " (--max-rotation-keys)");
  if (c.memory_bytes > (limits.max_key_memory_mib << 20))
    throw Error("plan refused: its evaluation keys would take about " + std::to_string(c.memory_bytes >> 20) +
                " MiB to generate, over the limit of " + std::to_string(limits.max_key_memory_mib) + " MiB (--max-key-mib)");
}

void check_input_spec(const nn::InputSpec& spec, const he::Plan& plan) {
  if (spec.channels() != plan.input_channels || spec.height != plan.input_height || spec.width != plan.input_width)
    throw Error("input spec " + std::to_string(spec.channels()) + " x " + std::to_string(spec.height) + " x " +
                std::to_string(spec.width) + " does not match the plan's input " + std::to_string(plan.input_channels) + " x " +
                std::to_string(plan.input_height) + " x " + std::to_string(plan.input_width));
}

std::string insecure_stamp(const PlanContext& ctx) {
  const ckks::Params& p = ctx.params();
  if (p.security_bits() >= 128) return "";
  return "INSECURE: N = " + std::to_string(p.n()) + ", log2(Q*P) = " + std::to_string(p.total_bits()) +
         ", below 128-bit security (--insecure; for tests only)";
}

std::string escape_text(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string csv_field(const std::string& name) {
  std::string s = escape_text(name);
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s.insert(0, "'");
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// ---- encryption and decryption ----

std::vector<Request> encrypt_images(he::Client& client, const std::string& key_set, const float* images, std::size_t count,
                                    std::size_t max_images_per_request) {
  const he::Plan& plan = client.plan();
  const std::size_t values = static_cast<std::size_t>(plan.input_channels) * plan.input_height * plan.input_width;
  std::vector<Request> out;
  if (plan.packing == he::Packing::kThroughput) {
    for (std::size_t start = 0; start < count; start += plan.images_per_batch) {
      const std::size_t n = std::min(plan.images_per_batch, count - start);
      std::vector<const float*> ptrs(n);
      for (std::size_t i = 0; i < n; ++i) ptrs[i] = images + (start + i) * values;
      Request r;
      r.images = static_cast<std::uint32_t>(n);
      r.key_set = key_set;
      r.inputs.reserve(plan.ciphertexts_per_batch);
      for (std::size_t k = 0; k < plan.ciphertexts_per_batch; ++k) r.inputs.push_back(client.encrypt_value(ptrs, k));
      out.push_back(std::move(r));
    }
  } else {
    const std::size_t per = std::max<std::size_t>(1, max_images_per_request);
    for (std::size_t start = 0; start < count; start += per) {
      const std::size_t n = std::min(per, count - start);
      Request r;
      r.images = static_cast<std::uint32_t>(n);
      r.key_set = key_set;
      for (std::size_t i = 0; i < n; ++i) r.inputs.push_back(client.encrypt_image(images + (start + i) * values));
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<std::vector<double>> decrypt_result(const he::Client& client, const std::string& key_set, const Result& result,
                                                std::size_t images_sent) {
  if (result.key_set != key_set)
    throw Error("decrypt: the result was made for key set " + result.key_set + ", but this secret key belongs to key set " +
                key_set + " (another hemi keygen): decrypting it would give garbage");
  if (images_sent != 0 && result.images != images_sent)
    throw Error("decrypt: the result holds " + std::to_string(result.images) + " images, but " + std::to_string(images_sent) +
                " were sent");
  std::vector<std::vector<double>> logits;
  if (client.plan().packing == he::Packing::kThroughput) {
    logits = client.decrypt_logits(result.outputs, result.images);
  } else {
    if (result.outputs.size() != result.images) throw Error("result: one ciphertext per image expected");
    for (const auto& ct : result.outputs) logits.push_back(client.decrypt_logits({ct}, 1)[0]);
  }
  // A well-formed ciphertext can still hold anything: at the top level of a large ring its
  // coefficients decode beyond the range of a double (softmax would print NaN probabilities).
  for (std::size_t i = 0; i < logits.size(); ++i)
    for (std::size_t c = 0; c < logits[i].size(); ++c)
      if (!std::isfinite(logits[i][c]))
        throw Error("decrypt: the result decrypts to a value that is not a finite number (image " + std::to_string(i) +
                    ", class " + std::to_string(c) + "): it is not the plan's evaluation of the request (corrupted or forged)");
  return logits;
}

std::vector<double> softmax(const std::vector<double>& logits) {
  if (logits.empty()) return {};
  const double m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(logits[i] - m);
  for (auto& x : p) x /= sum;
  return p;
}

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// ---- HTTP client ----

struct HttpClient::Impl {
  explicit Impl(const std::string& url) : cli(url) {
    const std::size_t start = url.find("://") + 3;
    host = url.substr(start, url.find_first_of(":/", start) - start);
  }
  // Throws the client's error for a failed exchange: no answer (with the TLS reason when the
  // handshake or the certificate failed) or an error status (the server's message, escaped).
  [[noreturn]] void fail(const std::string& what, const httplib::Result& res) const;
  // Sends a request and reads at most `max_bytes` of the answer's body: a longer answer is cut
  // off and refused (not buffered whole), whatever its Content-Length says; so is an exchange
  // that has not finished within the deadline (a server trickling bytes, each read within the
  // read timeout, would hold the client otherwise). Both throw, naming `what`.
  httplib::Result exchange(const std::string& what, const std::string& method, const std::string& path,
                           const std::string* body, std::size_t max_bytes);
  httplib::Client cli;
  std::string host;
  std::string ca_file;
  double deadline_seconds = 600;
};

httplib::Result HttpClient::Impl::exchange(const std::string& what, const std::string& method, const std::string& path,
                                           const std::string* body, std::size_t max_bytes) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  if (body) {
    req.body = *body;
    req.set_header("Content-Type", "application/octet-stream");
  }
  auto res = std::make_unique<httplib::Response>();
  bool too_long = false;
  // The deadline and the completion exclude each other (exchange_outcome.h). An answer with a
  // Content-Length is complete at its last byte, claimed there, before cpp-httplib returns.
  ExchangeOutcome outcome;
  std::uint64_t announced = 0;
  bool has_length = false;
  req.response_handler = [&](const httplib::Response& head) {
    if (head.has_header("Content-Length") && !head.has_header("Transfer-Encoding")) {
      try {
        announced = std::stoull(head.get_header_value("Content-Length"));
        has_length = true;
      } catch (...) {  // cpp-httplib refuses a malformed length itself
      }
    }
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (n > max_bytes - res->body.size()) {
      too_long = true;
      return false;
    }
    res->body.append(data, n);
    if (has_length && res->body.size() == announced) return outcome.complete();  // false: the deadline won
    return true;
  };
  // The deadline: a watchdog shuts the connection down (cpp-httplib's stop() is meant to be
  // called from another thread), which ends the read in progress, unless the exchange was
  // claimed complete first.
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(m);
    if (!cv.wait_for(lock, std::chrono::duration<double>(deadline_seconds), [&] { return done; }) && outcome.expire())
      cli.stop();
  });
  httplib::Error err = httplib::Error::Success;
  const bool ok = cli.send(req, *res, err);
  const bool completed = outcome.complete();  // false if the deadline was claimed first
  {
    std::lock_guard<std::mutex> lock(m);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  const bool expired = !completed;
  if (too_long)
    throw Error(what + ": the answer is longer than " +
                (max_bytes % 1024 == 0 ? std::to_string(max_bytes >> 10) + " KiB" : std::to_string(max_bytes) + " bytes") +
                ", more than it can be; refused");
  if (expired) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", deadline_seconds);
    throw Error(what + ": no complete answer within " + std::string(secs) + " s (the client's deadline for one exchange)");
  }
  if (!ok) return httplib::Result(nullptr, err);
  return httplib::Result(std::move(res), err);
}

void HttpClient::Impl::fail(const std::string& what, const httplib::Result& res) const {
  if (!res) {
    const httplib::Error e = res.error();
    std::string why = httplib::to_string(e);
    if (e == httplib::Error::SSLServerVerification) {
      const long v = cli.get_openssl_verify_result();
      const std::string trusted = ca_file.empty() ? "the system's trusted certificates" : "--ca-file " + ca_file;
      why = v != X509_V_OK ? std::string("TLS: the server's certificate was refused: ") + X509_verify_cert_error_string(v) +
                                 " (verified against " + trusted + ")"
                           : "TLS: the server's certificate does not name the host '" + escape_text(host) + "'";
    } else if (e == httplib::Error::SSLConnection) {
      why = "TLS handshake failed: not a TLS server, or no common protocol version (TLS 1.2 or later)";
    } else if (e == httplib::Error::SSLLoadingCerts) {
      why = "TLS: cannot load the trusted certificates from " + (ca_file.empty() ? std::string("the system store") : ca_file);
    }
    throw Error(what + ": no answer from the server (" + why + ")");
  }
  std::string msg = res->body;
  try {
    msg = json::parse(res->body).at("error").get<std::string>();
  } catch (...) {
  }
  if (msg.size() > 500) msg = msg.substr(0, 500) + "...";
  throw Error(what + ": HTTP " + std::to_string(res->status) + ": " + escape_text(msg));
}

HttpClient::HttpClient(const std::string& url, const HttpOptions& options) {
  const bool tls = url.rfind("https://", 0) == 0;
  if (!tls && url.rfind("http://", 0) != 0)
    throw Error("--server must be an http:// or https:// URL, not '" + escape_text(url) + "'");
  if (!tls && !options.ca_file.empty())
    throw Error("--ca-file " + options.ca_file + " applies to https:// servers only; " + url + " is plain HTTP");
  if (!options.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.ca_file, ec))
      throw Error("--ca-file " + options.ca_file + ": no such file (a PEM file of trusted certificates)");
  }
  if (!(options.timeout_seconds >= 1 && options.timeout_seconds <= 86400))
    throw Error("HTTP client: a timeout of " + std::to_string(options.timeout_seconds) + " s is outside [1, 86400]");
  impl_ = std::make_unique<Impl>(url);
  if (!impl_->cli.is_valid()) throw Error("cannot use server URL " + url);
  if (tls) {
    // On by default in cpp-httplib: said here rather than relied upon. Chain and host name.
    impl_->cli.enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) impl_->cli.set_ca_cert_path(options.ca_file);
    impl_->ca_file = options.ca_file;
    SSL_CTX_set_min_proto_version(impl_->cli.ssl_context(), TLS1_2_VERSION);
  }
  impl_->deadline_seconds = options.timeout_seconds;
  const auto secs = static_cast<time_t>(options.timeout_seconds);
  impl_->cli.set_connection_timeout(10, 0);
  impl_->cli.set_read_timeout(secs, 0);
  impl_->cli.set_write_timeout(secs, 0);
}

HttpClient::~HttpClient() = default;

namespace {
constexpr std::size_t kMaxJsonAnswer = std::size_t{64} << 20;
constexpr std::size_t kMaxStatusAnswer = std::size_t{64} << 10;  // DELETE and health: read for their status
constexpr std::size_t kMaxClassName = 256;
}  // namespace

ModelInfo parse_model_info(const std::string& body) {
  try {
    const json j = json::parse(body);
    ModelInfo m;
    m.plan = he::Plan::from_json(j.at("plan").dump());  // validated (Plan::validation_error)
    m.plan_id = j.at("plan_id").get<std::string>();
    if (m.plan_id != plan_id(m.plan)) throw Error("the server's plan id does not match its plan");
    m.input = input_spec_from_json(j.at("input").dump());
    check_input_spec(m.input, m.plan);
    m.class_names = j.at("class_names").get<std::vector<std::string>>();
    if (!m.class_names.empty() && m.class_names.size() != static_cast<std::size_t>(m.plan.classes))
      throw Error(std::to_string(m.class_names.size()) + " class names for " + std::to_string(m.plan.classes) + " classes");
    for (const auto& name : m.class_names)
      if (name.size() > kMaxClassName)
        throw Error("a class name of " + std::to_string(name.size()) + " bytes (at most " + std::to_string(kMaxClassName) + ")");
    m.max_images_per_request = json_count(j.at("limits").at("max_images_per_request"), "max_images_per_request");
    if (m.max_images_per_request < 1) throw Error("max_images_per_request is 0");
    return m;
  } catch (const json::exception& e) {
    throw Error(std::string("model info: malformed answer: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("model info: ") + e.what());
  }
}

ModelInfo HttpClient::model_info() {
  auto res = impl_->exchange("model info", "GET", "/v1/model", nullptr, kMaxJsonAnswer);
  if (!res || res->status != 200) impl_->fail("model info", res);
  return parse_model_info(res->body);
}

std::string HttpClient::register_keys(const Bytes& eval_keys) {
  std::string body(eval_keys.begin(), eval_keys.end());
  auto res = impl_->exchange("register keys", "POST", "/v1/keys", &body, kMaxJsonAnswer);
  if (!res || res->status != 201) impl_->fail("register keys", res);
  try {
    const std::string id = json::parse(res->body).at("key_id").get<std::string>();
    // The id goes into a URL path: accept a plain token only.
    if (id.empty() || id.size() > 128 ||
        id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != std::string::npos)
      throw Error("register keys: the server answered a malformed key id '" + escape_text(id.substr(0, 64)) + "'");
    return id;
  } catch (const json::exception& e) {
    throw Error(std::string("register keys: malformed answer: ") + e.what());
  }
}

Bytes HttpClient::infer(const std::string& key_id, const Bytes& request) {
  std::string body(request.begin(), request.end());
  // Bounded by what this plan's results can take (query sets it from the plan).
  auto res = impl_->exchange("inference", "POST", "/v1/infer/" + key_id, &body, max_result_bytes_);
  if (!res || res->status != 200) impl_->fail("inference", res);
  return Bytes(res->body.begin(), res->body.end());
}

void HttpClient::delete_keys(const std::string& key_id) {
  auto res = impl_->exchange("delete keys", "DELETE", "/v1/keys/" + key_id, nullptr, kMaxStatusAnswer);
  if (!res || (res->status != 204 && res->status != 404)) impl_->fail("delete keys", res);
}

bool HttpClient::healthy() {
  try {
    auto res = impl_->exchange("health", "GET", "/v1/health", nullptr, kMaxStatusAnswer);
    return res && res->status == 200;
  } catch (const Error&) {
    return false;
  }
}

// ---- hemi query ----

QueryOutput query(HttpClient& http, const std::vector<std::string>& image_paths, const ClientLimits& limits,
                  std::optional<ckks::FloodingPolicy> flooding, const std::function<void(const std::string&)>& note) {
  QueryOutput q;
  q.info = http.model_info();  // validated: plan, input spec, class names
  const PlanContext ctx(q.info.plan);
  check_plan(ctx, limits);
  q.insecure_stamp = insecure_stamp(ctx);
  if (note && !q.insecure_stamp.empty()) note(q.insecure_stamp);
  const std::vector<float> images = prepare_images(image_paths, q.info.input, &q.names);
  if (note) note("generating " + describe(eval_key_cost(ctx)));
  he::Client client(ctx.plan());  // a fresh secret key, kept in this process only
  client.set_flooding(flooding);
  const he::EvalKeys keys = client.eval_keys();
  const std::string key_set = key_set_fingerprint(keys, ctx);
  // A result holds `classes` ciphertexts (throughput) or one per image (latency), at most at
  // the top level: anything longer is refused while it is read.
  const std::size_t per_result = ctx.plan().packing == he::Packing::kThroughput
                                     ? static_cast<std::size_t>(ctx.plan().classes)
                                     : std::min(q.info.max_images_per_request, q.names.size());
  http.set_max_result_bytes((per_result + 1) * ctx.params().ciphertext_bytes(ctx.params().max_level()) + (1 << 20));
  const std::string key_id = http.register_keys(write_eval_keys(keys, ctx));
  try {
    for (const auto& req : encrypt_images(client, key_set, images.data(), q.names.size(), q.info.max_images_per_request)) {
      const Bytes out = http.infer(key_id, write_request(req, ctx));
      auto l = decrypt_result(client, key_set, read_result(out, ctx), req.images);
      q.logits.insert(q.logits.end(), l.begin(), l.end());
    }
  } catch (...) {
    try {
      http.delete_keys(key_id);
    } catch (...) {
    }
    throw;
  }
  http.delete_keys(key_id);
  if (q.logits.size() != q.names.size())
    throw Error("query: " + std::to_string(q.logits.size()) + " results for " + std::to_string(q.names.size()) + " images");
  return q;
}

}  // namespace hemi::service
