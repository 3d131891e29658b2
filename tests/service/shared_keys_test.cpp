// Key sets shared through a real Redis (redis-server on loopback, started and stopped here;
// skipped with the reason if it is not installed): the key file is stored once per key set and
// each key id is an alias of it, so the same keys registered twice give two ids on one stored
// file. Deleting one id must leave the file for the other (a replica without a cached copy
// would answer 404 otherwise); the file goes when its last id does. A few seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "hemi/service/key_store.h"
#include "hemi/service/server.h"
#include "loopback_service.h"

extern char** environ;

namespace hemi::service {
namespace {

using testing::Material;
using testing::tiny_model;
using testing::tiny_plan;

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

// redis-server on 127.0.0.1 (no persistence), killed and reaped when this goes out of scope.
class RedisServer {
 public:
  RedisServer() {
    for (const char* p : {"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"})
      if (::access(p, X_OK) == 0) program_ = p;
    if (program_.empty()) return;
    port_ = free_port();
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv = {program_, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", std::filesystem::temp_directory_path().string(), "--logfile", ""};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 100 && pid_ > 0; ++i) {  // up to 5 s
      try {
        RedisKeyStore(url(), "", 1).ping();
        ready_ = true;
        return;
      } catch (const Error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  ~RedisServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool installed() const { return !program_.empty(); }
  bool ready() const { return ready_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string program_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

std::string key_id_of(const Service::Reply& r) { return nlohmann::json::parse(r.body).at("key_id").get<std::string>(); }

TEST(ServiceSharedKeys, DeletingOneKeyIdKeepsTheKeySetForTheOthers) {
  RedisServer redis;
  if (!redis.installed()) GTEST_SKIP() << "redis-server is not installed (scripts/install-deps)";
  ASSERT_TRUE(redis.ready()) << "redis-server did not answer PING within 5 s";
  const nn::Model m = tiny_model();
  const he::Plan plan = tiny_plan(m, he::Packing::kLatency);
  auto store = std::make_shared<RedisKeyStore>(redis.url(), "hemi:test:");
  // Replica a registers and deletes; replicas b and c have no cached copy of any key set.
  Service a(plan, m), b(plan, m), c(plan, m);
  for (Service* s : {&a, &b, &c}) s->set_shared_keys(store, 600);
  Material mat(a.plan(), m);
  const Service::Reply r1 = a.register_keys(mat.keys), r2 = a.register_keys(mat.keys);  // the same keys, twice
  ASSERT_EQ(r1.status, 201) << r1.body;
  ASSERT_EQ(r2.status, 201) << r2.body;
  const std::string id1 = key_id_of(r1), id2 = key_id_of(r2);
  ASSERT_NE(id1, id2);

  EXPECT_EQ(a.delete_keys(id1).status, 204);
  const Service::Reply on_b = b.infer(id2, mat.request);
  EXPECT_EQ(on_b.status, 200) << "the other key id lost its key set: " << on_b.body;
  EXPECT_EQ(b.infer(id1, mat.request).status, 404);

  EXPECT_EQ(a.delete_keys(id2).status, 204);  // the last id: the key set goes too
  EXPECT_EQ(c.infer(id2, mat.request).status, 404);
  EXPECT_EQ(a.delete_keys(id2).status, 404);
}

TEST(ServiceSharedKeys, AnExpiredAliasNoLongerHoldsTheKeySet) {
  RedisServer redis;
  if (!redis.installed()) GTEST_SKIP() << "redis-server is not installed (scripts/install-deps)";
  ASSERT_TRUE(redis.ready()) << "redis-server did not answer PING within 5 s";
  RedisKeyStore store(redis.url(), "t:");
  const Bytes file = {1, 2, 3}, fp = {'f'};
  store.put_referenced("set:f", file, "id:1", fp, 600);
  store.put_referenced("set:f", file, "id:2", fp, 600);
  store.put_referenced("set:f", file, "id:3", fp, 600);
  EXPECT_TRUE(store.erase("id:3"));  // gone without erase_reference, as an expired entry would be
  EXPECT_TRUE(store.erase_reference("id:1", "set:f"));
  EXPECT_TRUE(store.get("set:f", 16));  // id:2 still refers to it
  EXPECT_FALSE(store.erase_reference("id:1", "set:f"));
  EXPECT_TRUE(store.erase_reference("id:2", "set:f"));
  EXPECT_FALSE(store.get("set:f", 16));  // id:3 (expired) does not keep it
  EXPECT_FALSE(store.get("refs:set:f", 1 << 10));
}

TEST(ServiceSharedKeys, AShortLivedAliasDoesNotCutShortTheKeySetOfALongerOne) {
  RedisServer redis;
  if (!redis.installed()) GTEST_SKIP() << "redis-server is not installed (scripts/install-deps)";
  ASSERT_TRUE(redis.ready()) << "redis-server did not answer PING within 5 s";
  RedisKeyStore store(redis.url(), "t:");
  const Bytes file = {1, 2, 3}, fp = {'f'};
  store.put_referenced("set:f", file, "id:long", fp, 600);
  store.put_referenced("set:f", file, "id:short", fp, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_FALSE(store.get("id:short", 16));  // its own entry expired
  EXPECT_TRUE(store.get("set:f", 16)) << "the key set expired with the short alias while id:long still refers to it";
  EXPECT_TRUE(store.erase_reference("id:long", "set:f"));  // its reference outlived the short alias too
  EXPECT_FALSE(store.get("set:f", 16));
}

// Without a shared store each key id holds its own loaded keys: deleting one leaves the other.
TEST(ServiceSharedKeys, InProcessKeyIdsAreIndependent) {
  const nn::Model m = tiny_model();
  Service a(tiny_plan(m, he::Packing::kLatency), m);
  Material mat(a.plan(), m);
  const std::string id1 = key_id_of(a.register_keys(mat.keys)), id2 = key_id_of(a.register_keys(mat.keys));
  EXPECT_EQ(a.delete_keys(id1).status, 204);
  EXPECT_EQ(a.infer(id2, mat.request).status, 200);
  EXPECT_EQ(a.infer(id1, mat.request).status, 404);
}

}  // namespace
}  // namespace hemi::service
