#include "hemi/math/rns.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <cmath>
#include <memory>
#include <random>

#include "hemi/math/primes.h"
#include "hemi/math/simd.h"

namespace hemi::math {
namespace {

// OpenSSL's BIGNUM is the big-integer oracle.
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
BnPtr bn(u64 v) {
  BnPtr b(BN_new(), &BN_free);
  BN_set_word(b.get(), v);
  return b;
}
u64 bn_mod_word(const BIGNUM* x, u64 m) { return BN_mod_word(x, m); }

// Wide primes take the 128-bit sums; primes of at most 32 bits the lazy vector sums (on every
// SIMD path the CPU has). n = 67 leaves vector tails.
void check_conversion(const std::vector<int>& bits) {
  const std::size_t n = 67;
  auto primes = generate_ntt_primes(bits, 64);
  std::vector<Modulus> from = {Modulus(primes[0]), Modulus(primes[1]), Modulus(primes[2])};
  std::vector<Modulus> to = {Modulus(primes[3]), Modulus(primes[4])};
  BaseConverter conv(from, to);
  BN_CTX* ctx = BN_CTX_new();
  BnPtr A = bn(1);
  for (auto& m : from) BN_mul(A.get(), A.get(), bn(m.value).get(), ctx);
  std::mt19937_64 rng(3);
  std::vector<u64> in(3 * n), out(2 * n);
  std::vector<BnPtr> xs;
  for (std::size_t c = 0; c < n; ++c) {
    BnPtr x(BN_new(), &BN_free);
    BN_rand_range(x.get(), A.get());
    for (std::size_t i = 0; i < 3; ++i) in[i * n + c] = bn_mod_word(x.get(), from[i].value);
    xs.push_back(std::move(x));
  }
  conv.convert(in.data(), out.data(), n);
  for (std::size_t c = 0; c < n; ++c) {
    bool found = false;
    for (u64 u = 0; u < 3 && !found; ++u) {
      BnPtr y(BN_dup(xs[c].get()), &BN_free);
      BnPtr uA(BN_new(), &BN_free);
      BN_mul(uA.get(), A.get(), bn(u).get(), ctx);
      BN_add(y.get(), y.get(), uA.get());
      found = bn_mod_word(y.get(), to[0].value) == out[c] && bn_mod_word(y.get(), to[1].value) == out[n + c];
    }
    ASSERT_TRUE(found) << c;
  }
  BN_CTX_free(ctx);
}

TEST(BaseConverter, ResultIsXPlusSmallMultipleOfSourceProduct) {
  for (auto path : simd::supported_paths()) {
    simd::ScopedPath scoped(path);
    SCOPED_TRACE(simd::path_name(path));
    check_conversion({50, 50, 50, 60, 60});
    check_conversion({31, 26, 30, 26, 31});
  }
}

TEST(CrtReconstructor, CentredValueMatchesBigInteger) {
  auto primes = generate_ntt_primes({60, 60, 60, 60}, 64);
  std::vector<Modulus> mods;
  for (u64 p : primes) mods.emplace_back(p);
  CrtReconstructor crt(mods);
  BN_CTX* ctx = BN_CTX_new();
  BnPtr A = bn(1);
  for (auto& m : mods) BN_mul(A.get(), A.get(), bn(m.value).get(), ctx);
  std::mt19937_64 rng(5);
  for (int rep = 0; rep < 500; ++rep) {
    // Small signed values (what decoding sees) and values anywhere in [0, A).
    BnPtr x(BN_new(), &BN_free);
    if (rep % 2) {
      BN_rand_range(x.get(), A.get());
    } else {
      BN_set_word(x.get(), rng() >> (rng() % 60));
      if (rep % 4 == 0) BN_set_negative(x.get(), 1);
    }
    u64 res[4];
    for (int i = 0; i < 4; ++i) {
      BnPtr r(BN_new(), &BN_free);
      BN_nnmod(r.get(), x.get(), bn(mods[i].value).get(), ctx);
      res[i] = BN_get_word(r.get());
    }
    // centred oracle
    BnPtr c(BN_new(), &BN_free);
    BN_nnmod(c.get(), x.get(), A.get(), ctx);
    BnPtr half(BN_new(), &BN_free);
    BN_rshift1(half.get(), A.get());
    if (BN_cmp(c.get(), half.get()) > 0) BN_sub(c.get(), c.get(), A.get());
    char* dec = BN_bn2dec(c.get());
    long double expect = std::strtold(dec, nullptr);
    OPENSSL_free(dec);
    long double got = crt.centered(res);
    ASSERT_LE(std::fabs(static_cast<double>((got - expect) / (expect == 0 ? 1 : expect))), 1e-15) << rep;
  }
  BN_CTX_free(ctx);
}

}  // namespace
}  // namespace hemi::math

namespace hemi::math {
namespace {

TEST(BaseConverter, SinglePrimeIsTheCentredRepresentative) {
  auto primes = generate_ntt_primes({31, 26, 50}, 64);
  BaseConverter conv({Modulus(primes[0])}, {Modulus(primes[1]), Modulus(primes[2])});
  const u64 a = primes[0];
  std::vector<u64> in = {0, 1, a / 2, a / 2 + 1, a - 1, 12345};
  std::vector<u64> out(2 * in.size());
  conv.convert(in.data(), out.data(), in.size());
  for (std::size_t c = 0; c < in.size(); ++c) {
    const std::int64_t centred = in[c] > a / 2 ? static_cast<std::int64_t>(in[c]) - static_cast<std::int64_t>(a)
                                               : static_cast<std::int64_t>(in[c]);
    EXPECT_EQ(out[c], from_signed(centred, primes[1])) << c;
    EXPECT_EQ(out[in.size() + c], from_signed(centred, primes[2])) << c;
  }
}

}  // namespace
}  // namespace hemi::math
