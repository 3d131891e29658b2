// Scale-out on real components, on loopback (label: slow; about a minute on a loaded machine):
// Redis (deploy/redis.conf) as the shared key store, 3 `hemi serve` replicas, HAProxy
// (deploy/haproxy.cfg, plain HTTP) in front. Clients register one key set through HAProxy and
// send encrypted requests from several threads; mid-run one replica is killed (SIGKILL) and
// then restarted on its port. No request is lost: only those in flight on the killed replica
// fail, the client retries them, and every answer equals the plaintext model's. Everything
// started here is stopped here, also when an assertion fails. A second test runs `hemi query`'s
// TLS through deploy/up itself (HAProxy terminating TLS with deploy/up's certificate).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "hemi/service/client.h"
#include "service_test_util.h"
#include "test_data.h"

extern char** environ;

#ifdef HEMI_EXE
namespace hemi::service {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"})
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return std::string(dir) + "/" + name;
  return {};
}

// Child processes, each killed (SIGTERM, then SIGKILL) and reaped when the set is destroyed.
class Processes {
 public:
  ~Processes() {
    while (!pids_.empty()) stop(pids_.back(), SIGTERM);  // stop() erases from pids_
  }
  pid_t start(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    pids_.push_back(pid);
    return pid;
  }
  void stop(pid_t pid, int sig) {
    if (std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) return;
    ::kill(pid, sig);
    const auto start = Clock::now();
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {  // -1 (not our child any more) also ends it
      if (seconds_since(start) > 5) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pids_.erase(std::find(pids_.begin(), pids_.end(), pid));
  }

 private:
  std::vector<pid_t> pids_;
};

// GET url/v1/health answers 200 within `seconds`.
bool healthy_within(const std::string& host, int port, double seconds) {
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    httplib::Client c(host, port);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(2, 0);
    if (auto r = c.Get("/v1/health"); r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// A fresh temporary directory (removed at the end) holding the tiny model and its latency plan
// as model.hemi and plan.json.
struct TinyModelDir {
  explicit TinyModelDir(const std::string& tag) : dir(fs::temp_directory_path() / (tag + std::to_string(::getpid()))) {
    fs::create_directories(dir);
    nn::save_model(model, file("model.hemi"));
    he::save_plan(plan, file("plan.json"));
  }
  ~TinyModelDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  fs::path dir;
  nn::Model model = testing::tiny_model();
  he::Plan plan = testing::tiny_plan(model, he::Packing::kLatency);
};

std::uint64_t evaluations_of(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  auto r = c.Get("/v1/health");
  if (!r || r->status != 200) return 0;
  return nlohmann::json::parse(r->body).at("evaluations").get<std::uint64_t>();
}

TEST(ServiceScaleOut, ThreeReplicasBehindHAProxyWithRedisSurviveAKilledReplica) {
  const std::string haproxy = find_program("haproxy"), redis = find_program("redis-server");
  if (haproxy.empty() || redis.empty()) GTEST_SKIP() << "haproxy or redis-server is not installed (scripts/install-deps)";
  const std::string source = HEMI_SOURCE_DIR;
  const TinyModelDir tiny("hemi_scaleout_");
  const nn::Model& model = tiny.model;
  const he::Plan& plan = tiny.plan;
  const fs::path& dir = tiny.dir;
  auto file = [&](const std::string& name) { return tiny.file(name); };

  Processes procs;
  const int redis_port = free_port(), front_port = free_port();
  const int ports[3] = {free_port(), free_port(), free_port()};
  ASSERT_GT(procs.start({redis, source + "/deploy/redis.conf", "--port", std::to_string(redis_port), "--dir", dir.string()},
                        file("redis.log")),
            0);
  auto start_replica = [&](int i) {
    return procs.start({HEMI_EXE, "serve", "--model", file("model.hemi"), "--plan", file("plan.json"), "--port",
                        std::to_string(ports[i]), "--key-store", "redis://127.0.0.1:" + std::to_string(redis_port),
                        "--max-concurrent", "1", "--max-requests-per-client", "64"},
                       file("replica" + std::to_string(i) + ".log"));
  };
  pid_t replica[3];
  for (int i = 0; i < 3; ++i) ASSERT_GT(replica[i] = start_replica(i), 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(healthy_within("127.0.0.1", ports[i], 60)) << "replica " << i << " did not start";
  ::setenv("HEMI_LISTEN", ("127.0.0.1:" + std::to_string(front_port)).c_str(), 1);
  ::unsetenv("HEMI_TLS_CERT");
  for (int i = 0; i < 3; ++i)
    ::setenv(("HEMI_REPLICA_" + std::to_string(i + 1)).c_str(), ("127.0.0.1:" + std::to_string(ports[i])).c_str(), 1);
  ::setenv("HEMI_MAX_BODY", "268435456", 1);
  ::setenv("HEMI_MAX_CONN", "64", 1);  // every client thread here comes from 127.0.0.1
  ::setenv("HEMI_MAX_RATE", "100000", 1);
  ASSERT_GT(procs.start({haproxy, "-db", "-f", source + "/deploy/haproxy.cfg"}, file("haproxy.log")), 0);
  ASSERT_TRUE(healthy_within("127.0.0.1", front_port, 20)) << "HAProxy did not start";
  const std::string front = "http://127.0.0.1:" + std::to_string(front_port);

  // One key set, registered through HAProxy (so on one replica, and in Redis for the others).
  PlanContext ctx(plan);
  he::Client client(ctx.plan(), Seed{11});
  const he::EvalKeys eval = client.eval_keys();
  const std::string key_set = key_set_fingerprint(eval, ctx);
  const std::string key_id = HttpClient(front).register_keys(write_eval_keys(eval, ctx));
  const std::size_t values = model.input_shape().size();

  // Load: 4 threads, each request one image, retried (up to 5 times) when it fails without a
  // client error: a connection reset or a 5xx from HAProxy while the replica dies.
  constexpr int kThreads = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, answered{0}, wrong{0}, lost{0}, retries{0};
  std::mutex mu, crypto_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      httplib::Client c(front);
      c.set_read_timeout(60, 0);
      for (unsigned i = 0; !stop; ++i) {
        const auto image = testing::random_images(1, values, 1000 * t + i);
        Bytes body;
        {
          std::lock_guard<std::mutex> lock(crypto_mu);  // one he::Client for every thread
          body = write_request(encrypt_images(client, key_set, image.data(), 1).at(0), ctx);
        }
        ++sent;
        bool done = false;
        std::string last;
        for (int attempt = 0; attempt < 6 && !done; ++attempt) {
          if (attempt > 0) {
            ++retries;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
          auto r = c.Post(("/v1/infer/" + key_id).c_str(), std::string(body.begin(), body.end()), "application/octet-stream");
          if (!r) {
            last = "no response: " + httplib::to_string(r.error());
            continue;
          }
          if (r->status >= 500 || r->status == 429) {  // "retry later", from HAProxy or a replica
            last = "HTTP " + std::to_string(r->status) + ": " + r->body;
            continue;
          }
          if (r->status != 200) {
            last = "HTTP " + std::to_string(r->status) + ": " + r->body;
            break;  // a client error is not retried
          }
          std::vector<double> logits;
          {
            std::lock_guard<std::mutex> lock(crypto_mu);
            logits = decrypt_result(client, key_set, read_result(Bytes(r->body.begin(), r->body.end()), ctx), 1).at(0);
          }
          const auto want = nn::forward(model, image.data());
          bool equal = argmax(logits) == argmax(want);
          for (std::size_t k = 0; k < want.size(); ++k) equal = equal && std::abs(logits[k] - want[k]) < 1e-3;
          if (!equal) ++wrong;
          ++answered;
          done = true;
        }
        if (!done) {
          ++lost;
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(last);
        }
      }
    });
  auto wait_for = [&](auto pred, double seconds) {
    const auto start = Clock::now();
    while (!pred() && seconds_since(start) < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return pred();
  };
  const auto t0 = Clock::now();
  EXPECT_TRUE(wait_for([&] { return answered >= 100; }, 60));
  const int before_kill = answered;
  procs.stop(replica[0], SIGKILL);  // in flight on it: lost there, retried by the client
  const double killed_at = seconds_since(t0);
  EXPECT_TRUE(wait_for([&] { return answered >= before_kill + 100; }, 60)) << "the two other replicas did not carry the load";
  ASSERT_GT(replica[0] = start_replica(0), 0);  // the same port again: no SO_REUSEPORT, SO_REUSEADDR
  EXPECT_TRUE(healthy_within("127.0.0.1", ports[0], 60)) << "the replica did not restart";
  // HAProxy sends it work again; it has not seen the key id, and fetches the keys from Redis.
  EXPECT_TRUE(wait_for([&] { return evaluations_of(ports[0]) >= 5; }, 60)) << "the restarted replica got no work";
  stop = true;
  for (auto& t : threads) t.join();
  const double total = seconds_since(t0);

  std::uint64_t per_replica[3];
  for (int i = 0; i < 3; ++i) per_replica[i] = evaluations_of(ports[i]);
  std::printf("scale-out: %d requests, %d answered, %d wrong, %d lost, %d retries, %.1f s (%.1f requests/s), replica 0 killed at "
              "%.1f s and restarted; evaluations per replica after the restart: %llu / %llu / %llu\n",
              sent.load(), answered.load(), wrong.load(), lost.load(), retries.load(), total, answered / total, killed_at,
              static_cast<unsigned long long>(per_replica[0]), static_cast<unsigned long long>(per_replica[1]),
              static_cast<unsigned long long>(per_replica[2]));
  EXPECT_EQ(lost.load(), 0) << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), sent.load());
  // Only the requests in flight on the killed replica needed a retry: at most one per thread
  // (HAProxy itself redispatches connection failures while its health check notices).
  EXPECT_LE(retries.load(), kThreads);
  EXPECT_GT(per_replica[1] + per_replica[2], 0u);
}

// `hemi query`'s TLS against deploy/up as a user runs it: HAProxy terminating TLS with the
// self-signed certificate deploy/up makes (it names localhost and 127.0.0.1), Redis and three
// replicas. With --ca-file the whole query goes through and matches the interpreter; without
// it the certificate is refused (not in the system's store) and nothing is registered.
TEST(ServiceScaleOut, QueryOverTlsThroughDeployUp) {
  if (find_program("haproxy").empty() || find_program("redis-server").empty() || find_program("openssl").empty())
    GTEST_SKIP() << "haproxy, redis-server or openssl is not installed (scripts/install-deps)";
  const TinyModelDir tiny("hemi_tls_up_");
  const nn::Model& model = tiny.model;
  auto file = [&](const std::string& name) { return tiny.file(name); };
  std::vector<std::uint8_t> px(36);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(7 * i);
  data::testing::write_bytes(file("img.png"), data::testing::encode_png(6, 6, 1, px));

  const int front = free_port();
  const int replicas[3] = {free_port(), free_port(), free_port()};
  ::setenv("HEMI_LISTEN", ("127.0.0.1:" + std::to_string(front)).c_str(), 1);
  ::unsetenv("HEMI_TLS_CERT");  // deploy/up makes the self-signed certificate
  ::setenv("HEMI_RUN", file("run").c_str(), 1);
  ::setenv("HEMI", HEMI_EXE, 1);
  ::setenv("HEMI_REDIS_PORT", std::to_string(free_port()).c_str(), 1);
  ::setenv("HEMI_REPLICA_PORTS",
           (std::to_string(replicas[0]) + " " + std::to_string(replicas[1]) + " " + std::to_string(replicas[2])).c_str(), 1);
  fs::create_directories(file("run"));
  Processes procs;
  ASSERT_GT(procs.start({std::string(HEMI_SOURCE_DIR) + "/deploy/up", file("model.hemi"), file("plan.json")}, file("up.log")), 0);
  for (int port : replicas) ASSERT_TRUE(healthy_within("127.0.0.1", port, 60)) << "a replica did not start";
  const std::string url = "https://127.0.0.1:" + std::to_string(front);
  ClientLimits limits;
  limits.allow_insecure = true;  // the tiny plan's INSECURE test parameters
  // HAProxy is up once its TLS port answers the health check (with the certificate trusted).
  HttpOptions trusted{30, file("run/tls.crt")};
  const auto start = Clock::now();
  while (seconds_since(start) < 20 && !HttpClient(url, trusted).healthy()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient http(url, trusted);
  const QueryOutput q = query(http, {file("img.png")}, limits);
  ASSERT_EQ(q.logits.size(), 1u);
  const auto image = prepare_images({file("img.png")}, model.input());
  const auto want = nn::forward(model, image.data());
  for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(q.logits[0][c], want[c], 1e-3);

  HttpClient untrusted(url, HttpOptions{30, ""});
  std::string e;
  try {
    query(untrusted, {file("img.png")}, limits);
  } catch (const Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("the server's certificate was refused: self-signed certificate"), std::string::npos) << e;
}

}  // namespace
}  // namespace hemi::service
#endif
