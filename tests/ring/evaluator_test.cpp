// The ring's evaluation core against slow, obvious oracles on the insecure N = 4096 ring:
// an automorphism of an encryption decrypts to the automorphism of the message (computed on
// the coefficients, X^i -> X^(g i) with the sign of X^N = -1); relinearization keeps the phase
// up to the key-switching noise; division by the last prime divides the phase.
#include "hemi/ring/evaluator.h"

#include <gtest/gtest.h>

#include <random>

#include "hemi/math/ntt.h"
#include "hemi/ring/encryptor.h"
#include "support/error_of.h"
#include "test_util.h"

namespace hemi::ring {
namespace {

using test_support::error_of;

struct Fixture {
  const Params& p = testing::ring_params();
  KeyGenerator kg{p, Seed{21}};
  SecretKey sk = kg.secret_key();
  PublicKey pk = kg.public_key(sk);
  RelinKey rk = kg.relin_key(sk);
  GaloisKeys gk = kg.galois_keys(sk, {1, 3}, true);
  Evaluator ev{p};
  Encryptor enc{p, pk, Seed{22}};
  Decryptor dec{p, sk};
};
Fixture& fx() {
  static Fixture f;
  return f;
}

// delta * m in NTT form over q_0..q_level (delta given by its residues).
RnsPoly embed(const std::vector<std::int64_t>& m, const std::vector<u64>& delta_mod_q, std::size_t level) {
  const auto& ctx = fx().p.ctx();
  RnsPoly out(ctx.n, level + 1);
  for (std::size_t i = 0; i <= level; ++i) {
    for (std::size_t c = 0; c < ctx.n; ++c)
      out.limb(i)[c] = math::mul_mod(math::from_signed(m[c], ctx.q[i].value), delta_mod_q[i], ctx.q[i]);
    math::ntt_forward(out.limb(i), *ctx.ntt[i]);
  }
  return out;
}

// The phase's coefficients modulo q_0, centred.
std::vector<std::int64_t> phase_q0(const std::vector<RnsPoly>& c, std::size_t level) {
  const auto& ctx = fx().p.ctx();
  RnsPoly x = fx().dec.phase(c, level);
  math::ntt_inverse(x.limb(0), *ctx.ntt[0]);
  std::vector<std::int64_t> out(ctx.n);
  const u64 q = ctx.q[0].value;
  for (std::size_t k = 0; k < ctx.n; ++k) {
    const u64 v = x.limb(0)[k];
    out[k] = v > q / 2 ? -static_cast<std::int64_t>(q - v) : static_cast<std::int64_t>(v);
  }
  return out;
}

std::vector<std::int64_t> automorphism(const std::vector<std::int64_t>& m, std::uint32_t g) {
  const std::size_t n = m.size();
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t e = (i * g) % (2 * n);
    if (e < n) out[e] += m[i];
    else out[e - n] -= m[i];
  }
  return out;
}

std::vector<std::int64_t> message(unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> m(fx().p.n());
  for (auto& v : m) v = static_cast<std::int64_t>(rng() % 201) - 100;
  return m;
}

constexpr std::int64_t kDelta = std::int64_t{1} << 24;

void expect_close(const std::vector<std::int64_t>& got, const std::vector<std::int64_t>& m, std::int64_t delta,
                  std::int64_t bound) {
  for (std::size_t k = 0; k < m.size(); ++k)
    ASSERT_LT(std::llabs(got[k] - delta * m[k]), bound) << "coefficient " << k;
}

TEST(RingEvaluator, GaloisAutomorphismsMatchTheCoefficientOracle) {
  Fixture& f = fx();
  const auto m = message(1);
  const std::vector<u64> d(2, kDelta);
  const auto ct = f.enc.encrypt(embed(m, d, 1), 1);
  for (std::uint32_t g : {galois_element_for_step(1, f.p.n()), galois_element_for_step(3, f.p.n()),
                          galois_element_conjugate(f.p.n())}) {
    const auto r = f.ev.apply_galois(ct, 1, g, f.gk, "test");
    expect_close(phase_q0(r, 1), automorphism(m, g), kDelta, 1 << 18);
  }
  // Hoisted: the same messages, element 1 a copy.
  const std::vector<std::uint32_t> elts = {1, 5, 125, galois_element_conjugate(f.p.n())};
  const auto many = f.ev.apply_galois_hoisted(ct, 1, elts, f.gk, "test");
  ASSERT_EQ(many.size(), elts.size());
  EXPECT_TRUE(std::equal(many[0][0].data(), many[0][0].data() + many[0][0].size(), ct[0].data()));
  for (std::size_t k = 1; k < elts.size(); ++k) expect_close(phase_q0(many[k], 1), automorphism(m, elts[k]), kDelta, 1 << 18);
}

TEST(RingEvaluator, RelinearizationKeepsThePhase) {
  Fixture& f = fx();
  const std::vector<u64> d(2, 1);
  const auto a = f.enc.encrypt(embed(message(2), d, 1), 1), b = f.enc.encrypt(embed(message(3), d, 1), 1);
  // The tensor product in NTT form: any 3-part ciphertext will do.
  const auto& ctx = f.p.ctx();
  std::vector<RnsPoly> c(3, RnsPoly(ctx.n, 2));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < ctx.n; ++k) {
      const auto& q = ctx.q[i];
      c[0].limb(i)[k] = math::mul_mod(a[0].limb(i)[k], b[0].limb(i)[k], q);
      c[1].limb(i)[k] = math::add_mod(math::mul_mod(a[0].limb(i)[k], b[1].limb(i)[k], q),
                                      math::mul_mod(a[1].limb(i)[k], b[0].limb(i)[k], q), q.value);
      c[2].limb(i)[k] = math::mul_mod(a[1].limb(i)[k], b[1].limb(i)[k], q);
    }
  const auto before = phase_q0(c, 1);
  f.ev.relinearize_inplace(c, 1, f.rk, "test");
  ASSERT_EQ(c.size(), 2u);
  const auto after = phase_q0(c, 1);
  for (std::size_t k = 0; k < before.size(); ++k) {
    const u64 q = ctx.q[0].value;
    std::int64_t diff = (after[k] - before[k]) % static_cast<std::int64_t>(q);
    if (diff > static_cast<std::int64_t>(q / 2)) diff -= static_cast<std::int64_t>(q);
    if (diff < -static_cast<std::int64_t>(q / 2)) diff += static_cast<std::int64_t>(q);
    ASSERT_LT(std::llabs(diff), 1 << 18) << "coefficient " << k;
  }
}

TEST(RingEvaluator, DivisionByTheLastPrimeDividesThePhase) {
  Fixture& f = fx();
  const auto& ctx = f.p.ctx();
  const auto m = message(4);
  // delta = q_1 * 2^24: after the division the phase is 2^24 m plus the rounding error.
  std::vector<u64> d;
  for (std::size_t i = 0; i < 2; ++i) d.push_back(math::mul_mod(math::reduce_64(ctx.q[1].value, ctx.q[i]), kDelta, ctx.q[i]));
  auto ct = f.enc.encrypt(embed(m, d, 1), 1);
  f.ev.divide_round_by_last_inplace(ct, 1);
  ASSERT_EQ(ct[0].limbs(), 1u);
  expect_close(phase_q0(ct, 0), m, kDelta, 1 << 14);
}

TEST(RingEvaluator, KeyRefusalsNameTheOperation) {
  Fixture& f = fx();
  const std::vector<u64> d(2, 1);
  auto ct = f.enc.encrypt(embed(message(5), d, 1), 1);
  EXPECT_NE(error_of([&] { f.ev.apply_galois(ct, 1, 25 * 25, f.gk, "spin"); }).find("spin: no Galois key for Galois element 625"),
            std::string::npos);
  const Params other = Params::create(RingLiteral{12, {40, 40}, {41}, 0, true}).value();
  KeyGenerator kg2(other, Seed{1});
  const SecretKey sk2 = kg2.secret_key();
  const GaloisKeys gk2 = kg2.galois_keys(sk2, {1}, false);
  EXPECT_NE(error_of([&] { f.ev.apply_galois(ct, 1, 5, gk2, "spin"); }).find("spin: Galois keys from other parameters"),
            std::string::npos);
  const RelinKey rk2 = kg2.relin_key(sk2);
  ct.push_back(ct[1]);
  EXPECT_NE(error_of([&] { f.ev.relinearize_inplace(ct, 1, rk2, "relin"); }).find("relin: relinearization key from other parameters"),
            std::string::npos);
  EXPECT_EQ(ct.size(), 3u);  // refused before anything was written
}

}  // namespace
}  // namespace hemi::ring
