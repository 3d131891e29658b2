// A bounded store of encoded plaintexts (weights encoded on demand at the level they are used).
// Plaintexts are kept in the order they are first encoded until the byte budget is spent; after
// that, new ones are encoded for each use and dropped. For the latency executor, which asks for
// the same plaintexts in the same order for every image, this keeps a fixed part of them and
// never thrashes (an LRU smaller than the working set would miss every time).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "hemi/ckks/ciphertext.h"

namespace hemi::he {

class PlaintextCache {
 public:
  explicit PlaintextCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  // The plaintext under `key`, made by `make` unless kept. `encoded` counts the calls of make.
  std::shared_ptr<const ckks::Plaintext> get(std::uint64_t key, const std::function<ckks::Plaintext()>& make);
  std::size_t bytes() const;
  std::size_t max_bytes() const { return max_bytes_; }
  std::uint64_t encoded() const;
  std::uint64_t hits() const;

 private:
  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const ckks::Plaintext>> kept_;
  std::size_t bytes_ = 0;
  std::uint64_t encoded_ = 0, hits_ = 0;
};

}  // namespace hemi::he
