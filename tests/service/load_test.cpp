// A bounded loopback load test of the inference service: one in-process server on 127.0.0.1
// (ephemeral port) and many concurrent clients, each with its own keys, sending encrypted
// requests; bounded in clients, requests and seconds. Prints throughput, latency percentiles,
// failures and peak memory (client and server share this process).
//   hemi_service_load [--model FILE] [--packing latency|throughput] [--clients 8]
//                     [--requests 5] [--seconds 120] [--max-concurrent 2] [--images 1] [--json]
// Without --model, a seed-cnn with random weights (the timing does not depend on the weights).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "hemi/he/compiler.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/model_file.h"
#include "hemi/service/client.h"
#include "hemi/service/server.h"

using namespace hemi;
using Clock = std::chrono::steady_clock;

namespace {
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}
}  // namespace

int main(int argc, char** argv) try {
  std::string model_path, packing = "latency";
  int clients = 8, requests = 5, max_concurrent = 2, images = 1;
  double seconds = 120;
  bool json_out = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--model") model_path = next();
    else if (a == "--packing") packing = next();
    else if (a == "--clients") clients = std::stoi(next());
    else if (a == "--requests") requests = std::stoi(next());
    else if (a == "--seconds") seconds = std::stod(next());
    else if (a == "--max-concurrent") max_concurrent = std::stoi(next());
    else if (a == "--images") images = std::stoi(next());
    else if (a == "--json") json_out = true;
    else throw Error("unknown option " + a);
  }
  if (clients < 1 || clients > 64 || requests < 1 || requests > 1000 || seconds <= 0 || seconds > 3600)
    throw Error("bounds: 1..64 clients, 1..1000 requests each, 0..3600 seconds");

  nn::Model model = [&] {
    if (!model_path.empty()) return nn::load_model(model_path);
    nn::ArchitectureOptions o;
    o.input = nn::default_input("seed-cnn");
    for (int c = 0; c < 10; ++c) o.class_names.push_back(std::to_string(c));
    o.seed = 1;
    return nn::build_architecture("seed-cnn", o).value();
  }();
  he::CompileOptions co;
  co.packing = packing == "throughput" ? he::Packing::kThroughput : he::Packing::kLatency;
  he::Plan plan = he::compile(model, co);
  service::Limits lim;
  lim.max_concurrent_evaluations = static_cast<std::size_t>(max_concurrent);
  lim.max_requests_per_client = static_cast<std::size_t>(clients);  // every client is on 127.0.0.1
  lim.key_memory_bytes = static_cast<std::size_t>(clients) << 31;    // every client keeps its keys
  lim.max_images_per_request = static_cast<std::size_t>(images);
  lim.queue_wait_seconds = seconds;
  lim.http_threads = static_cast<std::size_t>(clients) + 2;
  service::Service svc(plan, model, lim);
  const int port = svc.bind("127.0.0.1", 0);
  svc.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const service::PlanContext& ctx = svc.plan();

  // Each client: its own keys, registered; one encrypted request prepared (timed apart).
  std::vector<std::string> key_ids(clients);
  std::vector<Bytes> bodies(clients);
  const auto t_setup = Clock::now();
  {
    std::vector<std::thread> ts;
    std::mutex m;
    std::exception_ptr err;
    for (int c = 0; c < clients; ++c)
      ts.emplace_back([&, c] {
        try {
          he::Client client(ctx.plan());
          service::HttpClient http(url);
          const he::EvalKeys keys = client.eval_keys();
          key_ids[c] = http.register_keys(service::write_eval_keys(keys, ctx));
          std::mt19937 rng(static_cast<unsigned>(c));
          const std::size_t values = model.input_shape().size();
          std::vector<float> img(values * static_cast<std::size_t>(images));
          for (auto& x : img) x = static_cast<float>(rng() % 256) / 127.5f - 1.0f;
          const std::size_t n = co.packing == he::Packing::kLatency ? static_cast<std::size_t>(images) : 1;
          bodies[c] = service::write_request(service::encrypt_images(client, service::key_set_fingerprint(keys, ctx), img.data(), n, n).at(0), ctx);
        } catch (...) {
          std::lock_guard<std::mutex> l(m);
          err = std::current_exception();
        }
      });
    for (auto& t : ts) t.join();
    if (err) std::rethrow_exception(err);
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - t_setup).count();

  std::vector<double> latencies;
  std::mutex lat_mutex;
  std::atomic<int> failures{0}, done{0};
  std::string first_failure;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(seconds);
  {
    std::vector<std::thread> ts;
    for (int c = 0; c < clients; ++c)
      ts.emplace_back([&, c] {
        service::HttpClient http(url);
        for (int r = 0; r < requests && Clock::now() < deadline; ++r) {
          const auto s = Clock::now();
          try {
            const Bytes out = http.infer(key_ids[c], bodies[c]);
            service::read_result(out, ctx);
            const double l = std::chrono::duration<double>(Clock::now() - s).count();
            std::lock_guard<std::mutex> g(lat_mutex);
            latencies.push_back(l);
            ++done;
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> g(lat_mutex);
            if (failures++ == 0) first_failure = e.what();
          }
        }
      });
    for (auto& t : ts) t.join();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  svc.stop();

  const double per_request_images = co.packing == he::Packing::kLatency ? images : 1;
  nlohmann::json j = {{"packing", he::to_string(plan.packing)},
                      {"security_bits", ctx.params().security_bits()},
                      {"clients", clients},
                      {"requests_per_client", requests},
                      {"max_concurrent_evaluations", max_concurrent},
                      {"images_per_request", per_request_images},
                      {"completed", done.load()},
                      {"failed", failures.load()},
                      {"setup_seconds", setup_s},
                      {"wall_seconds", wall},
                      {"requests_per_second", done.load() / wall},
                      {"latency_seconds",
                       {{"p50", percentile(latencies, 0.50)},
                        {"p90", percentile(latencies, 0.90)},
                        {"p99", percentile(latencies, 0.99)},
                        {"max", percentile(latencies, 1.0)}}},
                      {"request_bytes", bodies[0].size()},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"peak_memory_mib", peak_rss_mib()}};
  if (!first_failure.empty()) j["first_failure"] = first_failure;
  if (json_out) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("load test: %s packing, %d-bit, %d clients x %d requests, %d evaluations at once, %u hardware threads\n",
                he::to_string(plan.packing), ctx.params().security_bits(), clients, requests, max_concurrent,
                std::thread::hardware_concurrency());
    std::printf("  setup (keygen, key upload, encryption): %.1f s\n", setup_s);
    std::printf("  %d completed, %d failed in %.1f s: %.2f requests/s\n", done.load(), failures.load(), wall, done.load() / wall);
    std::printf("  latency p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s; request %.1f KiB; peak memory %.0f MiB\n",
                percentile(latencies, 0.5), percentile(latencies, 0.9), percentile(latencies, 0.99),
                percentile(latencies, 1.0), static_cast<double>(bodies[0].size()) / 1024, peak_rss_mib());
    if (!first_failure.empty()) std::printf("  first failure: %s\n", first_failure.c_str());
  }
  return failures.load() == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "hemi_service_load: %s\n", e.what());
  return 2;
}
