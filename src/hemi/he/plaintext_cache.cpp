#include "hemi/he/plaintext_cache.h"

namespace hemi::he {

std::shared_ptr<const ckks::Plaintext> PlaintextCache::get(std::uint64_t key, const std::function<ckks::Plaintext()>& make) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = kept_.find(key); it != kept_.end()) {
      ++hits_;
      return it->second;
    }
    ++encoded_;
  }
  auto pt = std::make_shared<const ckks::Plaintext>(make());  // outside the lock: encoding is the slow part
  const std::size_t size = pt->poly.n() * pt->poly.limbs() * sizeof(std::uint64_t);
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes_ + size <= max_bytes_ && kept_.emplace(key, pt).second) bytes_ += size;
  return pt;
}

std::size_t PlaintextCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}
std::uint64_t PlaintextCache::encoded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return encoded_;
}
std::uint64_t PlaintextCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

}  // namespace hemi::he
