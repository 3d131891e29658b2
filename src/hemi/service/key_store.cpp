#include "hemi/service/key_store.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hemi/base/error.h"

namespace hemi::service {

namespace {

// One TCP connection, closed on destruction; reads buffered; every call bounded by the socket
// timeouts.
class Connection {
 public:
  Connection(const std::string& host, int port, double timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || !res)
      throw InternalError("key store: cannot resolve " + host);
    for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0) continue;
      timeval tv{};
      tv.tv_sec = static_cast<long>(timeout);
      tv.tv_usec = static_cast<long>((timeout - static_cast<double>(tv.tv_sec)) * 1e6);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) fd_ = fd;
      else ::close(fd);
    }
    freeaddrinfo(res);
    if (fd_ < 0) throw InternalError("key store: cannot connect to redis://" + host + ":" + service + ": " + std::strerror(errno));
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void write(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw InternalError(std::string("key store: write failed: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  }
  std::string line(std::size_t max) {
    std::string out;
    for (;;) {
      const char c = byte();
      if (c == '\r') {
        if (byte() != '\n') throw InternalError("key store: malformed reply line");
        return out;
      }
      if (out.size() >= max) throw InternalError("key store: reply line too long");
      out += c;
    }
  }
  void read_exact(char* dst, std::size_t n) {
    while (n > 0) {
      if (pos_ == end_) fill();
      const std::size_t k = std::min(n, end_ - pos_);
      std::memcpy(dst, buf_ + pos_, k);
      pos_ += k;
      dst += k;
      n -= k;
    }
  }

 private:
  char byte() {
    if (pos_ == end_) fill();
    return buf_[pos_++];
  }
  void fill() {
    for (;;) {
      const ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) throw InternalError("key store: connection closed by redis");
      if (n < 0) throw InternalError(std::string("key store: read failed: ") + std::strerror(errno));
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
      return;
    }
  }
  int fd_ = -1;
  char buf_[65536];
  std::size_t pos_ = 0, end_ = 0;
};

long long to_integer(const std::string& s) {
  if (s.empty() || s.size() > 18) throw InternalError("key store: malformed integer '" + s + "'");
  std::size_t i = s[0] == '-' ? 1 : 0;
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') throw InternalError("key store: malformed integer '" + s + "'");
    v = v * 10 + (s[i] - '0');
  }
  return s[0] == '-' ? -v : v;
}

}  // namespace

RedisKeyStore::RedisKeyStore(const std::string& url, std::string prefix, double timeout_seconds)
    : prefix_(std::move(prefix)), timeout_(timeout_seconds) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) throw InputError("key store: '" + url + "' is not redis://HOST:PORT");
  const std::string rest = url.substr(scheme.size());
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('@') != std::string::npos || rest.find('/') != std::string::npos)
    throw InputError("key store: '" + url + "' is not redis://HOST:PORT");
  host_ = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw InputError("key store: port '" + port + "' in '" + url + "' is not a number");
  port_ = std::stoi(port);
  if (port_ < 1 || port_ > 65535) throw InputError("key store: port " + port + " is out of range [1, 65535]");
  if (!(timeout_ > 0 && timeout_ <= 600)) throw InputError("key store: timeout out of range (0, 600] s");
}

RedisKeyStore::Reply RedisKeyStore::command(const std::vector<std::string>& args, std::size_t max_reply_bytes) {
  Connection c(host_, port_, timeout_);
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  c.write(out);
  Reply r;
  const std::string head = c.line(1024);
  if (head.empty()) throw InternalError("key store: empty reply");
  r.type = head[0];
  const std::string body = head.substr(1);
  switch (r.type) {
    case '+': r.text = body; break;
    case '-': throw InternalError("key store: redis answered: " + body);
    case ':': r.integer = to_integer(body); break;
    case '$': {
      const long long n = to_integer(body);
      if (n < 0) {
        r.is_nil = true;
        break;
      }
      if (static_cast<unsigned long long>(n) > max_reply_bytes)
        throw InternalError("key store: a stored value of " + body + " bytes exceeds the limit of " +
                            std::to_string(max_reply_bytes));
      // Grown as the bytes arrive (1 MiB at a time), not from the announced length alone.
      const std::size_t want = static_cast<std::size_t>(n) + 2;
      while (r.text.size() < want) {
        const std::size_t have = r.text.size(), k = std::min(want - have, std::size_t{1} << 20);
        r.text.resize(have + k);
        c.read_exact(r.text.data() + have, k);
      }
      if (r.text.compare(r.text.size() - 2, 2, "\r\n") != 0) throw InternalError("key store: malformed bulk reply");
      r.text.resize(static_cast<std::size_t>(n));
      break;
    }
    default: throw InternalError("key store: unexpected reply type '" + std::string(1, r.type) + "'");
  }
  return r;
}

void RedisKeyStore::put(const std::string& id, const Bytes& keys, long ttl_seconds) {
  const Reply r = command({"SET", prefix_ + id, std::string(keys.begin(), keys.end()), "EX", std::to_string(ttl_seconds)}, 1024);
  if (r.type != '+') throw InternalError("key store: SET was not acknowledged");
}

std::optional<Bytes> RedisKeyStore::get(const std::string& id, std::size_t max_bytes) {
  const Reply r = command({"GET", prefix_ + id}, max_bytes);
  if (r.is_nil) return std::nullopt;
  if (r.type != '$') throw InternalError("key store: GET answered with type '" + std::string(1, r.type) + "'");
  return Bytes(r.text.begin(), r.text.end());
}

bool RedisKeyStore::erase(const std::string& id) { return command({"DEL", prefix_ + id}, 1024).integer > 0; }

namespace {
// KEYS: target, alias, references. ARGV: value, alias value, ttl. The target and its
// reference set live as long as their longest-lived alias: a later alias with a shorter ttl
// must not cut short an earlier one's.
constexpr const char* kPutReferenced = R"lua(
local ttl = tonumber(ARGV[3])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('EXPIRE', KEYS[3], ttl)
return 1
)lua";
// KEYS: alias, target, references. References whose alias expired are dropped first.
constexpr const char* kEraseReference = R"lua(
local had = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], KEYS[1])
for _, a in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('EXISTS', a) == 0 then redis.call('SREM', KEYS[3], a) end
end
if redis.call('SCARD', KEYS[3]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return had
)lua";
}  // namespace

void RedisKeyStore::put_referenced(const std::string& target, const Bytes& value, const std::string& alias,
                                   const Bytes& alias_value, long ttl_seconds) {
  const Reply r = command({"EVAL", kPutReferenced, "3", prefix_ + target, prefix_ + alias, prefix_ + "refs:" + target,
                           std::string(value.begin(), value.end()), std::string(alias_value.begin(), alias_value.end()),
                           std::to_string(ttl_seconds)},
                          1024);
  if (r.type != ':' || r.integer != 1) throw InternalError("key store: storing " + target + " was not acknowledged");
}

bool RedisKeyStore::erase_reference(const std::string& alias, const std::string& target) {
  const Reply r = command({"EVAL", kEraseReference, "3", prefix_ + alias, prefix_ + target, prefix_ + "refs:" + target}, 1024);
  if (r.type != ':') throw InternalError("key store: erasing " + alias + " answered with type '" + std::string(1, r.type) + "'");
  return r.integer > 0;
}

void RedisKeyStore::ping() {
  const Reply r = command({"PING"}, 1024);
  if (r.type != '+' || r.text != "PONG") throw InternalError("key store: redis did not answer PING");
}

std::string RedisKeyStore::describe() const { return "redis://" + host_ + ":" + std::to_string(port_); }

}  // namespace hemi::service
