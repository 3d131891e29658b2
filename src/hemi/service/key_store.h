// Where registered evaluation keys live beyond one process (docs/service.md, "Scaling out").
// One server keeps them in memory only (KeyStore, server.h). Several replicas behind a load
// balancer share them through a SharedKeyStore: the validated key file is stored once per key
// set, under its fingerprint (formats.h), and each key id the service hands out is an entry
// naming that fingerprint, both with an expiry; a replica that has not seen a key id fetches
// the file, validates it again (it trusts nobody, not even the store) and keeps the loaded keys
// in its own KeyStore.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"

namespace hemi::service {

class SharedKeyStore {
 public:
  virtual ~SharedKeyStore() = default;
  // Stores `keys` under `id` for `ttl_seconds`. Throws InternalError if the store fails.
  virtual void put(const std::string& id, const Bytes& keys, long ttl_seconds) = 0;
  // The value stored under `id`, or nothing if unknown or expired. A value longer than
  // `max_bytes` (the caller's limit for what it stored there) is an InternalError, refused from
  // its announced length before anything is allocated for it.
  virtual std::optional<Bytes> get(const std::string& id, std::size_t max_bytes) = 0;
  virtual bool erase(const std::string& id) = 0;  // false if it was not there
  // Stores `value` under `target` and `alias_value` under `alias`, and records `alias` as a
  // reference to `target`, all at once, every entry for `ttl_seconds`. Several aliases may
  // name one target (the same key set registered again: under new key ids, one stored file).
  virtual void put_referenced(const std::string& target, const Bytes& value, const std::string& alias,
                              const Bytes& alias_value, long ttl_seconds) = 0;
  // Erases `alias` and its reference, and `target` too when no alias that still exists refers
  // to it (so deleting one key id never takes the key file from the others), all at once.
  // False if `alias` was not there.
  virtual bool erase_reference(const std::string& alias, const std::string& target) = 0;
  virtual std::string describe() const = 0;
};

// A Redis server (redis-server, RESP2 over TCP), one short connection per command. The memory
// budget and eviction policy are Redis's own (maxmemory, volatile-lru: deploy/redis.conf);
// every entry carries an expiry. Entries are named "<prefix><id>"; a target's references are the
// set "<prefix>refs:<target>" of its aliases' entry names, kept by Lua scripts (EVAL), which
// Redis runs atomically.
class RedisKeyStore : public SharedKeyStore {
 public:
  // url: redis://HOST:PORT (no credentials). Throws InputError for anything else.
  RedisKeyStore(const std::string& url, std::string prefix, double timeout_seconds = 5);
  void put(const std::string& id, const Bytes& keys, long ttl_seconds) override;
  std::optional<Bytes> get(const std::string& id, std::size_t max_bytes) override;
  bool erase(const std::string& id) override;
  void put_referenced(const std::string& target, const Bytes& value, const std::string& alias, const Bytes& alias_value,
                      long ttl_seconds) override;
  bool erase_reference(const std::string& alias, const std::string& target) override;
  std::string describe() const override;
  void ping();  // throws InternalError if Redis does not answer

 private:
  struct Reply {
    char type = 0;  // '+', '-', ':', '$' (bulk; nil has is_nil)
    std::string text;
    long long integer = 0;
    bool is_nil = false;
  };
  Reply command(const std::vector<std::string>& args, std::size_t max_reply_bytes);

  std::string host_;
  int port_ = 0;
  std::string prefix_;
  double timeout_;
};

}  // namespace hemi::service
