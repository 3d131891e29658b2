#include "hemi/base/random.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <bit>
#include <cstring>

#include "hemi/base/error.h"

namespace hemi {

Seed random_seed() {
  Seed s;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1)
    throw Error("random: the operating system's CSPRNG is unavailable (RAND_bytes failed)");
  return s;
}

void secure_wipe(void* data, std::size_t bytes) {
  if (data && bytes) OPENSSL_cleanse(data, bytes);
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

Prng::Prng() : Prng(random_seed()) {}

Prng::Prng(const Seed& seed) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_CIPHER_CTX_new();
  std::uint8_t iv[16] = {0};
  if (!impl_->ctx ||
      EVP_EncryptInit_ex(impl_->ctx, EVP_aes_256_ctr(), nullptr, seed.data(), iv) != 1)
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

void Prng::fill(void* out, std::size_t bytes) {
  auto* dst = static_cast<std::uint8_t*>(out);
  while (bytes) {
    if (impl_->pos == sizeof(impl_->buf)) refill();
    std::size_t take = std::min(bytes, sizeof(impl_->buf) - impl_->pos);
    std::memcpy(dst, impl_->buf + impl_->pos, take);
    secure_wipe(impl_->buf + impl_->pos, take);
    impl_->pos += take;
    dst += take;
    bytes -= take;
  }
}

std::uint64_t Prng::next_u64() {
  std::uint64_t v;
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
