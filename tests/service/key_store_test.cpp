// The Redis client of the shared key store (RedisKeyStore) against a fake Redis on loopback
// that answers each connection with one canned reply: the store is trusted no more than a
// client (docs/service.md, "Deployment"), so a reply that announces more than the caller's
// limit is refused before anything is allocated for it, and every malformed reply is an
// InternalError that says what was wrong. Every wait is bounded (timeouts of 1 s).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "hemi/service/key_store.h"
#include "support/error_of.h"

namespace hemi::service {
namespace {

using test_support::error_of;

// Accepts connections on 127.0.0.1 and answers each with `reply` after reading the command,
// then closes it.
class FakeRedis {
 public:
  explicit FakeRedis(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) ::close(c);
          return;
        }
        char buf[4096];
        (void)::recv(c, buf, sizeof buf, 0);
        (void)::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~FakeRedis() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string get_error(const std::string& reply, std::size_t max_bytes = 1 << 20) {
  FakeRedis redis(reply);
  RedisKeyStore store(redis.url(), "t:", 1);
  return error_of([&] { store.get("id", max_bytes); });
}

TEST(ServiceKeyStore, AGoodReplyIsReadWhole) {
  FakeRedis redis("$5\r\nhello\r\n");
  RedisKeyStore store(redis.url(), "t:", 1);
  const auto v = store.get("id", 5);
  ASSERT_TRUE(v);
  EXPECT_EQ(std::string(v->begin(), v->end()), "hello");
  FakeRedis nil("$-1\r\n");
  EXPECT_FALSE(RedisKeyStore(nil.url(), "t:", 1).get("id", 5));
}

TEST(ServiceKeyStore, AReplyOverTheCallersLimitIsRefusedFromItsLength) {
  // 64 MiB announced, 1 MiB allowed: refused at the length, nothing allocated or waited for.
  std::string e = get_error("$67108864\r\n");
  EXPECT_NE(e.find("a stored value of 67108864 bytes exceeds the limit of 1048576"), std::string::npos) << e;
  e = get_error("$6\r\nhello!\r\n", 5);
  EXPECT_NE(e.find("exceeds the limit of 5"), std::string::npos) << e;
}

TEST(ServiceKeyStore, MalformedRepliesAreRefusedWithTheReason) {
  EXPECT_NE(get_error("$10\r\nshort").find("connection closed by redis"), std::string::npos);
  EXPECT_NE(get_error("$5\r\nhelloXY").find("malformed bulk reply"), std::string::npos);
  EXPECT_NE(get_error("$1x\r\n").find("malformed integer '1x'"), std::string::npos);
  EXPECT_NE(get_error("$99999999999999999999\r\n").find("malformed integer"), std::string::npos);
  EXPECT_NE(get_error("-ERR wrong\r\n").find("redis answered: ERR wrong"), std::string::npos);
  EXPECT_NE(get_error("!5\r\n").find("unexpected reply type '!'"), std::string::npos);
  EXPECT_NE(get_error(":1\r\n").find("GET answered with type ':'"), std::string::npos);
  EXPECT_NE(get_error("\r\n").find("empty reply"), std::string::npos);
  EXPECT_NE(get_error("$5\n").find("connection closed by redis"), std::string::npos);
  EXPECT_NE(get_error(std::string(2000, '+')).find("reply line too long"), std::string::npos);
}

// Key ids as references to a key file (shared_keys_test.cpp runs them on a real Redis): the
// scripts' replies are checked like any other.
TEST(ServiceKeyStore, ReferenceRepliesAreChecked) {
  FakeRedis ok("+OK\r\n");  // what a plain SET answers, not the script's 1
  EXPECT_NE(error_of([&] { RedisKeyStore(ok.url(), "t:", 1).put_referenced("set:f", {1}, "id:1", {'f'}, 60); })
                .find("storing set:f was not acknowledged"),
            std::string::npos);
  FakeRedis no_eval("-ERR unknown command 'EVAL'\r\n");
  EXPECT_NE(error_of([&] { RedisKeyStore(no_eval.url(), "t:", 1).erase_reference("id:1", "set:f"); })
                .find("redis answered: ERR unknown command 'EVAL'"),
            std::string::npos);
  FakeRedis bulk("$1\r\nx\r\n");
  EXPECT_NE(error_of([&] { RedisKeyStore(bulk.url(), "t:", 1).erase_reference("id:1", "set:f"); })
                .find("erasing id:1 answered with type '$'"),
            std::string::npos);
  FakeRedis gone(":0\r\n"), there(":1\r\n");
  EXPECT_FALSE(RedisKeyStore(gone.url(), "t:", 1).erase_reference("id:1", "set:f"));
  EXPECT_TRUE(RedisKeyStore(there.url(), "t:", 1).erase_reference("id:1", "set:f"));
}

}  // namespace
}  // namespace hemi::service
