#include "hemi/base/random.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <bit>
#include <cstring>
#include <string>

#include "hemi/base/error.h"

namespace hemi {

Seed random_seed() {
  Seed s;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1)
    throw Error("random: the operating system's CSPRNG is unavailable (RAND_bytes failed)");
  return s;
}

struct Prng::Impl {
  EVP_CIPHER_CTX* ctx = nullptr;
  std::uint8_t buf[4096];
  std::size_t pos = sizeof(buf);
  ~Impl() {
    secure_wipe(buf, sizeof(buf));
    if (ctx) EVP_CIPHER_CTX_free(ctx);
  }
};

// The OS seed is a temporary here: it is wiped as soon as the cipher holds it (the key
// schedule inside the EVP context is cleansed by EVP_CIPHER_CTX_free).
Prng::Prng() : impl_(std::make_unique<Impl>()) {
  Seed seed = random_seed();
  try {
    init(seed.data());
  } catch (...) {
    secure_wipe(seed.data(), seed.size());
    throw;
  }
  secure_wipe(seed.data(), seed.size());
}

Prng::Prng(const Seed& seed) : impl_(std::make_unique<Impl>()) { init(seed.data()); }

Prng::Prng(const Seed& seed, std::string_view label) : impl_(std::make_unique<Impl>()) {
  static constexpr char kPrefix[] = "hemi-prng-v1";
  const std::uint32_t len = static_cast<std::uint32_t>(label.size());
  const std::uint8_t len_le[4] = {static_cast<std::uint8_t>(len), static_cast<std::uint8_t>(len >> 8),
                                  static_cast<std::uint8_t>(len >> 16), static_cast<std::uint8_t>(len >> 24)};
  std::string buf;  // reserved once, so no reallocation leaves a copy of the seed
  buf.reserve(sizeof(kPrefix) - 1 + sizeof(len_le) + label.size() + seed.size());
  buf.append(kPrefix, sizeof(kPrefix) - 1);
  buf.append(reinterpret_cast<const char*>(len_le), sizeof(len_le));
  buf.append(label);
  buf.append(reinterpret_cast<const char*>(seed.data()), seed.size());
  std::uint8_t key[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), key);
  secure_wipe(buf.data(), buf.size());
  try {
    init(key);
  } catch (...) {
    secure_wipe(key, sizeof(key));
    throw;
  }
  secure_wipe(key, sizeof(key));
}

void Prng::init(const std::uint8_t* key) {
  impl_->ctx = EVP_CIPHER_CTX_new();
  std::uint8_t iv[16] = {0};
  if (!impl_->ctx || EVP_EncryptInit_ex(impl_->ctx, EVP_aes_256_ctr(), nullptr, key, iv) != 1)
    throw Error("random: cannot initialise AES-256-CTR");
}

Prng::~Prng() = default;
Prng::Prng(Prng&&) noexcept = default;
Prng& Prng::operator=(Prng&&) noexcept = default;

void Prng::refill() {
  static const std::uint8_t zeros[sizeof(Impl::buf)] = {0};
  int len = 0;
  if (EVP_EncryptUpdate(impl_->ctx, impl_->buf, &len, zeros, sizeof(zeros)) != 1 ||
      len != static_cast<int>(sizeof(zeros)))
    throw Error("random: AES-256-CTR keystream failed");
  impl_->pos = 0;
}

// Consumed keystream is not wiped byte by byte: while the cipher context (which holds the key
// schedule) is alive, the whole stream can be regenerated from it anyway. The buffer is
// overwritten by each refill and wiped with the context when the Prng is destroyed.
void Prng::fill(void* out, std::size_t bytes) {
  auto* dst = static_cast<std::uint8_t*>(out);
  while (bytes) {
    if (impl_->pos == sizeof(impl_->buf)) refill();
    std::size_t take = std::min(bytes, sizeof(impl_->buf) - impl_->pos);
    std::memcpy(dst, impl_->buf + impl_->pos, take);
    impl_->pos += take;
    dst += take;
    bytes -= take;
  }
}

std::uint64_t Prng::next_u64() {
  std::uint64_t v;
  if (impl_->pos + sizeof(v) <= sizeof(impl_->buf)) {  // the common case, without the loop
    std::memcpy(&v, impl_->buf + impl_->pos, sizeof(v));
    impl_->pos += sizeof(v);
    return v;
  }
  fill(&v, sizeof(v));
  return v;
}

std::uint64_t Prng::uniform(std::uint64_t bound) {
  HEMI_ASSERT(bound > 0);
  if ((bound & (bound - 1)) == 0) return next_u64() & (bound - 1);
  const std::uint64_t mask = ~std::uint64_t{0} >> std::countl_zero(bound);
  for (;;) {
    std::uint64_t v = next_u64() & mask;
    if (v < bound) return v;
  }
}

}  // namespace hemi
