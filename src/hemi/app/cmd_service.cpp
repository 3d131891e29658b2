// The client and server programs of encrypted inference (docs/service.md):
//   client: hemi keygen, hemi encrypt, hemi decrypt, hemi query (over HTTP or HTTPS)
//   server: hemi infer (files), hemi serve (HTTP)
// The server commands never open a secret key: they take the model, the plan, the public
// evaluation keys and requests only.
#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/base/bytes.h"
#include "hemi/he/compiler.h"
#include "hemi/nn/model_file.h"
#include "hemi/service/client.h"
#include "hemi/service/formats.h"
#include "hemi/service/key_store.h"
#include "hemi/service/server.h"

namespace hemi::app {
namespace {

namespace fs = std::filesystem;
using service::PlanContext;

// ---- printing predictions (client side) ----

struct PrintOptions {
  bool json = false, csv = false;
};

// Every name (image paths, class names from a server) is escaped: one name stays one line and
// one CSV field. `stamp` (insecure parameters) goes on every output.
void print_predictions(const std::vector<std::string>& names, const std::vector<std::vector<double>>& logits,
                       const std::vector<std::string>& class_names, const PrintOptions& o, const std::string& stamp) {
  if (names.size() != logits.size())
    throw Error("print: " + std::to_string(names.size()) + " image names for " + std::to_string(logits.size()) + " results");
  auto label = [&](int c) { return c < static_cast<int>(class_names.size()) ? class_names[c] : std::to_string(c); };
  if (!stamp.empty()) std::fprintf(stderr, "hemi: %s\n", stamp.c_str());
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const auto p = service::softmax(logits[i]);
      const int c = service::argmax(logits[i]);
      nlohmann::json row = {{"image", names[i]}, {"class", c}, {"label", label(c)}, {"probabilities", p}, {"logits", logits[i]}};
      if (!stamp.empty()) row["insecure"] = stamp;
      arr.push_back(std::move(row));
    }
    // Invalid UTF-8 in a name becomes U+FFFD instead of an exception.
    std::printf("%s\n", arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  if (o.csv || logits.size() > 1) {
    if (!stamp.empty()) std::printf("# %s\n", stamp.c_str());
    std::printf("image,class,label");
    const std::size_t k = logits.empty() ? 0 : logits[0].size();
    for (std::size_t c = 0; c < k; ++c) std::printf(",%s", service::csv_field("p_" + label(static_cast<int>(c))).c_str());
    std::printf("\n");
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const auto p = service::softmax(logits[i]);
      const int c = service::argmax(logits[i]);
      std::printf("%s,%d,%s", service::csv_field(names[i]).c_str(), c, service::csv_field(label(c)).c_str());
      for (double x : p) std::printf(",%.6f", x);
      std::printf("\n");
    }
    return;
  }
  if (!stamp.empty()) std::printf("%s\n", stamp.c_str());
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const auto p = service::softmax(logits[i]);
    const int c = service::argmax(logits[i]);
    std::printf("%s: class %d (%s), probability %.4f\n  probabilities:", service::escape_text(names[i]).c_str(), c,
                service::escape_text(label(c)).c_str(), p[c]);
    for (double x : p) std::printf(" %.4f", x);
    std::printf("\n");
  }
}

// The options every client command shares: what it accepts from a server's plan.
void add_client_limits(CLI::App* app, service::ClientLimits& l) {
  app->add_flag("--insecure", l.allow_insecure,
                "accept a plan below 128-bit security (tests only; every output is stamped INSECURE)");
  app->add_option("--max-rotation-keys", l.max_rotation_keys, "refuse a plan that needs more rotation keys (default 64)");
  app->add_option("--max-key-mib", l.max_key_memory_mib,
                  "refuse a plan whose evaluation keys take more memory to generate, in MiB (default 4096)");
}

// Checks the plan against the client's limits; returns the insecure stamp ("" if secure).
std::string accept_plan(const PlanContext& ctx, const service::ClientLimits& limits) {
  service::check_plan(ctx, limits);
  return service::insecure_stamp(ctx);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error("cannot read '" + path + "'");
  std::vector<std::string> lines;
  for (std::string s; std::getline(f, s);)
    if (!s.empty()) lines.push_back(s);
  return lines;
}

nn::InputSpec input_spec_for(const std::string& model, const std::string& spec) {
  if (!model.empty()) return nn::load_model(model).input();
  if (!spec.empty()) {
    const Bytes b = read_file(spec, 1 << 20);
    return service::input_spec_from_json(std::string(b.begin(), b.end()));
  }
  throw Error("encrypt: give --model (the model file) or --input (its input spec as JSON, from GET /v1/model)");
}

// ---- hemi keygen ----

struct KeygenArgs {
  std::string plan, dir = ".";
  service::ClientLimits limits;
};

void run_keygen(const KeygenArgs& a) {
  PlanContext ctx(he::load_plan(a.plan));
  const std::string stamp = accept_plan(ctx, a.limits);
  if (!stamp.empty()) std::fprintf(stderr, "hemi keygen: %s\n", stamp.c_str());
  std::fprintf(stderr, "hemi keygen: generating %s\n", service::describe(service::eval_key_cost(ctx)).c_str());
  fs::create_directories(a.dir);
  const std::string sk_path = (fs::path(a.dir) / "secret.key").string();
  const std::string ek_path = (fs::path(a.dir) / "eval.keys").string();
  check_secret_destination(sk_path);  // before the work, and again when written
  he::Client client(ctx.plan());
  const he::EvalKeys keys = client.eval_keys();
  const std::string key_set = service::key_set_fingerprint(keys, ctx);
  Bytes sk = service::write_secret_key(client.secret_key(), key_set, ctx);
  try {
    write_secret_file(sk_path, sk);
  } catch (...) {
    secure_wipe(sk.data(), sk.size());
    throw;
  }
  secure_wipe(sk.data(), sk.size());
  const Bytes ek = service::write_eval_keys(keys, ctx);
  write_file(ek_path, ek);
  if (!stamp.empty()) std::printf("%s\n", stamp.c_str());
  std::printf("secret key      %s (mode 0600; keep it on this machine)\nevaluation keys %s (%.1f MiB; for the server)\n"
              "plan id %s\nkey set %s\n",
              sk_path.c_str(), ek_path.c_str(), static_cast<double>(ek.size()) / 1048576.0, ctx.id().c_str(), key_set.c_str());
}

// ---- hemi encrypt ----

struct EncryptArgs {
  std::string keys, plan, model, input, output;
  std::vector<std::string> images;
  service::ClientLimits limits;
};

void run_encrypt(const EncryptArgs& a) {
  PlanContext ctx(he::load_plan(a.plan));
  const std::string stamp = accept_plan(ctx, a.limits);
  const nn::InputSpec spec = input_spec_for(a.model, a.input);
  try {
    service::check_input_spec(spec, ctx.plan());
  } catch (const Error& e) {
    throw Error(std::string("encrypt: ") + e.what());
  }
  std::string key_set;
  he::Client client(ctx.plan(), service::read_secret_key(read_file(a.keys, 1 << 28), ctx, &key_set));
  std::vector<std::string> names;
  const std::vector<float> images = service::prepare_images(a.images, spec, &names);
  const std::size_t count = names.size();
  if (ctx.plan().packing == he::Packing::kThroughput && count > ctx.plan().images_per_batch)
    throw Error("encrypt: " + std::to_string(count) + " images exceed the plan's batch of " +
                std::to_string(ctx.plan().images_per_batch) + "; encrypt them in several requests");
  auto requests = service::encrypt_images(client, key_set, images.data(), count, count);
  const Bytes out = service::write_request(requests.at(0), ctx);
  write_file(a.output, out);
  std::string listing;
  for (const auto& n : names) listing += service::escape_text(n) + '\n';
  write_file(a.output + ".names", Bytes(listing.begin(), listing.end()));
  if (!stamp.empty()) std::printf("%s\n", stamp.c_str());
  std::printf("request %s: %zu images, %zu ciphertexts, %.1f KiB (image names in %s.names)\n", a.output.c_str(), count,
              requests[0].inputs.size(), static_cast<double>(out.size()) / 1024.0, a.output.c_str());
}

// ---- hemi infer (server; never opens a secret key) ----

struct InferArgs {
  std::string model, plan, eval_keys, request, output;
  std::size_t max_images = 1 << 20;
};

void run_infer(const InferArgs& a) {
  nn::Model model = nn::load_model(a.model);
  PlanContext ctx(he::load_plan(a.plan));
  he::EvalKeys keys = service::read_eval_keys(read_file(a.eval_keys, std::size_t{1} << 32), ctx);
  const service::Request req = service::read_request(read_file(a.request, std::size_t{1} << 33), ctx, a.max_images);
  ThreadPool pool(0);
  he::Server server(ctx.plan(), model, std::move(keys), &pool);
  const service::Result res = service::evaluate(server, req);
  const Bytes out = service::write_result(res, ctx);
  write_file(a.output, out);
  std::printf("result %s: %u images, %zu ciphertexts, %.1f KiB\n", a.output.c_str(), res.images, res.outputs.size(),
              static_cast<double>(out.size()) / 1024.0);
}

// ---- hemi decrypt ----

struct DecryptArgs {
  std::string keys, plan, result, names;
  std::uint64_t flood = 0;
  PrintOptions print;
  service::ClientLimits limits;
};

void run_decrypt(const DecryptArgs& a) {
  PlanContext ctx(he::load_plan(a.plan));
  const std::string stamp = accept_plan(ctx, a.limits);
  std::string key_set;
  he::Client client(ctx.plan(), service::read_secret_key(read_file(a.keys, 1 << 28), ctx, &key_set));
  const service::Result res = service::read_result(read_file(a.result, std::size_t{1} << 33), ctx);
  client.set_flooding(ckks::flooding_for_budget(a.flood));
  std::vector<std::string> names;
  if (!a.names.empty()) names = read_lines(a.names);
  auto logits = service::decrypt_result(client, key_set, res, names.size());
  if (a.names.empty())
    for (std::size_t i = 0; i < logits.size(); ++i) names.push_back(std::to_string(i));
  print_predictions(names, logits, {}, a.print, stamp);
}

// ---- hemi serve ----

struct ServeArgs {
  std::string model, plan, packing = "auto", host = "127.0.0.1";
  int port = 8080;
  std::size_t max_request_mib = 256, max_key_mib = 256, max_images = 64, max_concurrent = 0, key_memory_mib = 4096,
              max_requests_per_client = 8, http_threads = 0;
  double queue_wait = 30, read_timeout = 5;
  int idle_timeout = 2;
  std::string key_store;  // empty: in-process only
  long key_ttl = 86400;
};

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

void run_serve(const ServeArgs& a) {
  service::Limits lim;
  lim.max_request_bytes = a.max_request_mib << 20;  // the options' ranges keep these shifts in range
  lim.max_key_bytes = a.max_key_mib << 20;
  lim.max_images_per_request = a.max_images;
  lim.max_concurrent_evaluations = a.max_concurrent;
  lim.key_memory_bytes = a.key_memory_mib << 20;
  lim.max_requests_per_client = a.max_requests_per_client;
  lim.http_threads = a.http_threads;
  lim.queue_wait_seconds = a.queue_wait;
  lim.read_timeout_seconds = a.read_timeout;
  lim.idle_timeout_seconds = a.idle_timeout;
  service::validate(lim);  // before loading the model: a bad option fails fast
  nn::Model model = nn::load_model(a.model);
  he::Plan plan;
  if (!a.plan.empty()) {
    plan = he::load_plan(a.plan);
  } else {
    he::CompileOptions o;
    if (a.packing == "throughput") o.packing = he::Packing::kThroughput;
    else if (a.packing == "latency") o.packing = he::Packing::kLatency;
    else if (a.packing != "auto") throw Error("--packing must be auto, throughput or latency, not '" + a.packing + "'");
    plan = he::compile(model, o);
  }
  service::Service svc(std::move(plan), std::move(model), lim);
  if (!a.key_store.empty()) {
    // Entries are named by plan, so that replicas of different plans can share one Redis.
    auto store = std::make_shared<service::RedisKeyStore>(a.key_store, "hemi:keys:" + svc.plan().id() + ":");
    store->ping();  // fail at startup, not at the first request
    svc.set_shared_keys(store, a.key_ttl);
  }
  if (!is_loopback(a.host))
    std::fprintf(stderr, "hemi serve: listening on %s, not loopback: this server speaks plain HTTP; put a TLS proxy in front "
                 "(docs/service.md)\n", a.host.c_str());
  // SIGINT/SIGTERM are taken by one thread (sigwait) so that the server stops cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  const int port = svc.bind(a.host, a.port);
  std::printf("hemi serve: %s packing, plan %s, on http://%s:%d (limits: %zu MiB request, %zu MiB keys, %zu evaluations "
              "at once, %zu MiB of stored keys, %zu requests per client)\n",
              he::to_string(svc.plan().plan().packing), svc.plan().id().c_str(), a.host.c_str(), port,
              a.max_request_mib, a.max_key_mib, svc.limits().max_concurrent_evaluations, a.key_memory_mib,
              a.max_requests_per_client);
  std::fflush(stdout);
  svc.start();
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("hemi serve: signal %d, stopping\n", sig);
  svc.stop();
}

// ---- hemi query ----

struct QueryArgs {
  std::string server;
  std::string ca_file;
  double timeout = 600;
  std::vector<std::string> images;
  std::uint64_t flood = 0;
  PrintOptions print;
  service::ClientLimits limits;
};

void run_query(const QueryArgs& a) {
  service::HttpOptions http_options;
  http_options.ca_file = a.ca_file;
  http_options.timeout_seconds = a.timeout;
  service::HttpClient http(a.server, http_options);
  service::QueryOutput q = service::query(http, a.images, a.limits, ckks::flooding_for_budget(a.flood),
                                          [](const std::string& s) { std::fprintf(stderr, "hemi query: %s\n", s.c_str()); });
  print_predictions(q.names, q.logits, q.info.class_names, a.print, q.insecure_stamp);
}

// A range check that also refuses NaN and infinities (CLI::Range lets NaN through).
CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        double x = 0;
        try {
          std::size_t used = 0;
          x = std::stod(v, &used);
          if (used != v.size()) return "'" + v + "' is not a number";
        } catch (const std::exception&) {
          return "'" + v + "' is not a number";
        }
        if (!std::isfinite(x) || x < lo || x > hi)
          return "value " + v + " is not in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        return {};
      },
      "[" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

void setup(CLI::App& root) {
  auto ka = std::make_shared<KeygenArgs>();
  auto* kg = root.add_subcommand("keygen", "Client: make a secret key (mode 0600) and the evaluation keys for a plan");
  kg->add_option("--plan", ka->plan, "plan file (hemi plan -o)")->required();
  kg->add_option("-o,--output", ka->dir, "directory for secret.key and eval.keys (default: .)");
  add_client_limits(kg, ka->limits);
  kg->callback([ka] { run_keygen(*ka); });

  auto ea = std::make_shared<EncryptArgs>();
  auto* en = root.add_subcommand("encrypt", "Client: encrypt images into a request file (seeded ciphertexts)");
  en->add_option("--keys", ea->keys, "secret key file (hemi keygen)")->required();
  en->add_option("--plan", ea->plan, "plan file")->required();
  en->add_option("--model", ea->model, "model file, for its input spec (size, channels, normalization)");
  en->add_option("--input", ea->input, "the input spec as JSON instead of --model (\"input\" of GET /v1/model)");
  en->add_option("images", ea->images, "image files (PNG, JPEG) or directories of them")->required();
  en->add_option("-o,--output", ea->output, "request file to write")->required();
  add_client_limits(en, ea->limits);
  en->callback([ea] { run_encrypt(*ea); });

  auto ia = std::make_shared<InferArgs>();
  auto* in = root.add_subcommand("infer", "Server: evaluate a request file with evaluation keys (no secret key)");
  in->add_option("--model", ia->model, "model file")->required();
  in->add_option("--plan", ia->plan, "plan file")->required();
  in->add_option("--eval-keys", ia->eval_keys, "evaluation-key file (hemi keygen)")->required();
  in->add_option("request", ia->request, "request file (hemi encrypt)")->required();
  in->add_option("-o,--output", ia->output, "result file to write")->required();
  in->add_option("--max-images", ia->max_images, "refuse latency requests with more images");
  in->callback([ia] { run_infer(*ia); });

  auto da = std::make_shared<DecryptArgs>();
  auto* de = root.add_subcommand("decrypt", "Client: decrypt a result file: class and probabilities (CSV for several images)");
  de->add_option("--keys", da->keys, "secret key file")->required();
  de->add_option("--plan", da->plan, "plan file")->required();
  de->add_option("result", da->result, "result file (hemi infer)")->required();
  de->add_option("--names", da->names, "image names, one a line (REQUEST.names from hemi encrypt)");
  de->add_option("--flood", da->flood, "flood the decryptions for results shared with others: the number of shared "
                                        "decryptions to cover (e.g. 1024; statistical security 30 bits; 0: exact, local "
                                        "only; docs/ckks.md)");
  de->add_flag("--csv", da->print.csv, "CSV even for one image");
  de->add_flag("--json", da->print.json, "print JSON");
  add_client_limits(de, da->limits);
  de->callback([da] { run_decrypt(*da); });

  auto sa = std::make_shared<ServeArgs>();
  auto* sv = root.add_subcommand("serve", "Server: encrypted inference over HTTP (bound to loopback by default)");
  sv->add_option("--model", sa->model, "model file")->required();
  sv->add_option("--plan", sa->plan, "plan file (default: compiled from the model with --packing)");
  sv->add_option("--packing", sa->packing, "auto (default), throughput or latency, when no --plan is given");
  sv->add_option("--host", sa->host, "address to listen on (default 127.0.0.1)");
  sv->add_option("--port", sa->port, "port (default 8080; 0: any free port)")->check(CLI::Range(0, 65535));
  sv->add_option("--max-request-mib", sa->max_request_mib, "largest inference request (default 256)")
      ->check(CLI::Range(1, 16384));
  sv->add_option("--max-key-mib", sa->max_key_mib, "largest evaluation-key upload (default 256)")->check(CLI::Range(1, 16384));
  sv->add_option("--max-images", sa->max_images, "images per latency request (default 64)")->check(CLI::Range(1, 65536));
  sv->add_option("--max-concurrent", sa->max_concurrent, "evaluations at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  sv->add_option("--key-memory-mib", sa->key_memory_mib,
                 "memory for stored evaluation keys, as loaded; least recently used evicted (default 4096)")
      ->check(CLI::Range(1, 1 << 20));
  sv->add_option("--max-requests-per-client", sa->max_requests_per_client,
                 "requests being received or evaluated at once per client address, then 429 (default 8)")
      ->check(CLI::Range(1, 4096));
  sv->add_option("--http-threads", sa->http_threads, "connection threads (default 0: --max-concurrent + 64)")
      ->check(CLI::Range(0, 4096));
  sv->add_option("--queue-wait", sa->queue_wait, "seconds a request waits for a free slot before 503 (default 30)")
      ->check(finite_range(0, 3600));
  sv->add_option("--read-timeout", sa->read_timeout, "seconds each read of a request may wait (default 5)")
      ->check(finite_range(0.01, 600));
  sv->add_option("--idle-timeout", sa->idle_timeout, "seconds a new connection may stay silent (default 2)")
      ->check(CLI::Range(1, 600));
  sv->add_option("--key-store", sa->key_store,
                 "share registered keys with other replicas through Redis: redis://HOST:PORT (default: in this process only)");
  sv->add_option("--key-ttl", sa->key_ttl, "seconds a key set stays in the shared key store (default 86400)")
      ->check(CLI::Range(1L, 366L * 86400));
  sv->callback([sa] { run_serve(*sa); });

  auto qa = std::make_shared<QueryArgs>();
  auto* qu = root.add_subcommand("query", "Client: keygen, register keys, encrypt, send, decrypt and print, over HTTP or HTTPS");
  qu->add_option("--server", qa->server,
                 "server URL: http://HOST:PORT, or https://HOST:PORT (the certificate is verified: chain and host name)")
      ->required();
  qu->add_option("--ca-file", qa->ca_file,
                 "https: trust the certificates in this PEM file instead of the system's (e.g. a private CA)");
  qu->add_option("images", qa->images, "image files (PNG, JPEG) or directories of them")->required();
  qu->add_option("--timeout", qa->timeout,
                 "seconds each exchange with the server may take in all (connect, send, answer; default 600)")
      ->check(finite_range(1, 86400));
  qu->add_option("--flood", qa->flood, "flood the decryptions: the number of shared decryptions to cover (0: exact)");
  qu->add_flag("--csv", qa->print.csv, "CSV even for one image");
  qu->add_flag("--json", qa->print.json, "print JSON");
  add_client_limits(qu, qa->limits);
  qu->callback([qa] { run_query(*qa); });
}

HEMI_REGISTER_COMMAND("keygen", 60, setup);

}  // namespace
}  // namespace hemi::app
