// BFV operations at the default 128-bit parameters (N = 8192, 218-bit Q*P, t = 1032193):
// exact agreement with plaintext arithmetic mod t, known-answer slot moves, measured invariant
// noise within the NoiseEstimator's bounds, and a negative test for every rejection.
#include <gtest/gtest.h>

#include "support/error_of.h"
#include "test_util.h"

namespace hemi::bfv {
namespace {

using test_support::error_of;
using testing::Bundle;
using testing::default_bundle;
using i128 = __int128;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(BfvEncoder, RoundTripAndKnownAnswers) {
  Bundle& b = default_bundle();
  const auto v = b.random_values(1);
  EXPECT_EQ(b.encoder.decode(b.encoder.encode(v)), v);
  // All slots equal to k is the constant polynomial k.
  const Plaintext ones = b.encoder.encode(std::vector<std::int64_t>(b.params.slots(), 1));
  EXPECT_EQ(ones.coeffs[0], 1u);
  for (std::size_t i = 1; i < ones.coeffs.size(); ++i) ASSERT_EQ(ones.coeffs[i], 0u) << i;
  const auto c = b.encoder.decode(b.encoder.encode_constant(-7));
  for (auto x : c) ASSERT_EQ(x, -7);
  // The extreme values survive.
  const std::int64_t half = static_cast<std::int64_t>((b.params.t().value - 1) / 2);
  std::vector<std::int64_t> edges{half, -half, 0, 1, -1};
  auto back = b.encoder.decode(b.encoder.encode(edges));
  back.resize(edges.size());
  EXPECT_EQ(back, edges);
}

TEST(BfvEncoder, Rejections) {
  Bundle& b = default_bundle();
  const std::int64_t half = static_cast<std::int64_t>((b.params.t().value - 1) / 2);
  EXPECT_TRUE(contains(error_of([&] { b.encoder.encode(std::vector<std::int64_t>{0, half + 1}); }),
                       "value 516097 at slot 1 is outside the plaintext range [-516096, 516096] of t = 1032193"));
  EXPECT_TRUE(contains(error_of([&] { b.encoder.encode(std::vector<std::int64_t>(b.params.n() + 1, 0)); }),
                       "8193 values exceed the 8192 slots"));
  EXPECT_TRUE(contains(error_of([&] { b.encoder.encode_constant(-half - 1); }), "outside the plaintext range"));
  Plaintext p = b.encoder.encode_constant(1);
  p.params_id[0] ^= 1;
  EXPECT_TRUE(contains(error_of([&] { b.encoder.decode(p); }), "plaintext from other parameters"));
  p = b.encoder.encode_constant(1);
  p.coeffs[3] = b.params.t().value;
  EXPECT_TRUE(contains(error_of([&] { b.encoder.decode(p); }), "coefficient 3 is not below t"));
  p.coeffs.pop_back();
  EXPECT_TRUE(contains(error_of([&] { b.encoder.decode(p); }), "8191 coefficients"));
}

TEST(BfvEncrypt, PublicAndSeededSymmetricDecrypt) {
  Bundle& b = default_bundle();
  const auto v = b.random_values(2);
  EXPECT_EQ(b.decrypt(b.encrypt(v)), v);
  SymmetricEncryptor sym(b.params, b.sk, Seed{3});
  const SeededCiphertext s = sym.encrypt_seeded(b.encoder.encode(v));
  EXPECT_EQ(s.c0.limbs(), b.params.max_level() + 1);
  EXPECT_EQ(b.decrypt(SymmetricEncryptor::expand(b.params, s)), v);
  // At a lower level.
  EXPECT_EQ(b.decrypt(b.encryptor.encrypt(b.encoder.encode(v), 1)), v);
}

TEST(BfvEncrypt, FreshNoiseWithinTheEstimate) {
  Bundle& b = default_bundle();
  const Ciphertext pub = b.encrypt(b.random_values(4));
  SymmetricEncryptor sym(b.params, b.sk, Seed{5});
  const Ciphertext symc = sym.encrypt(b.encoder.encode(b.random_values(6)));
  const std::size_t top = b.params.max_level();
  EXPECT_LE(b.decryptor.invariant_noise_log2(pub), b.noise.fresh_public(top));
  EXPECT_LE(b.decryptor.invariant_noise_log2(symc), b.noise.fresh_symmetric(top));
  // The default set gives more than 130 bits of fresh budget (docs/bfv.md).
  EXPECT_GT(b.decryptor.noise_budget(pub), 130);
  EXPECT_GT(NoiseEstimator::budget(b.noise.fresh_public(top)), 125);
}

TEST(BfvEncrypt, Rejections) {
  Bundle& b = default_bundle();
  ParamsLiteral other_lit = default_literal();
  other_lit.t_bits = 17;
  const Params other = Params::create(other_lit).value();
  const Plaintext pt = b.encoder.encode_constant(1);
  EXPECT_TRUE(contains(error_of([&] { Encoder(other).decode(pt); }), "plaintext from other parameters"));
  EXPECT_TRUE(contains(error_of([&] { b.encryptor.encrypt(Encoder(other).encode_constant(1)); }),
                       "encrypt: plaintext from other parameters"));
  EXPECT_TRUE(contains(error_of([&] { b.encryptor.encrypt(pt, 4); }), "encrypt: level 4 is above the top level 3"));
  Ciphertext ct = b.encryptor.encrypt(pt);
  Decryptor d_other(other, b.sk);  // the ring is the same, the plaintext modulus is not
  EXPECT_TRUE(contains(error_of([&] { d_other.decrypt(ct); }), "decrypt: ciphertext from other parameters"));
  Ciphertext bad = ct;
  bad.polys.resize(1);
  EXPECT_TRUE(contains(error_of([&] { b.decryptor.decrypt(bad); }), "decrypt: ciphertext has 1 parts"));
  bad = ct;
  bad.polys[1].truncate(2);
  EXPECT_TRUE(contains(error_of([&] { b.decryptor.decrypt(bad); }), "shape does not match its level 3"));
  SeededCiphertext s = SymmetricEncryptor(b.params, b.sk).encrypt_seeded(pt);
  s.params_id = other.id();
  EXPECT_TRUE(contains(error_of([&] { SymmetricEncryptor::expand(b.params, s); }), "expand: ciphertext from other parameters"));
  ParamsLiteral ring_lit = default_literal();
  ring_lit.q_bits = {43, 43, 44};
  ring_lit.p_bits = {44};
  const Params other_ring = Params::create(ring_lit).value();
  EXPECT_TRUE(contains(error_of([&] { Encryptor(other_ring, b.pk); }), "public key from other parameters"));
}

TEST(BfvEvaluate, AdditiveAndPlainOperationsAreExact) {
  Bundle& b = default_bundle();
  const auto x = b.random_values(10), y = b.random_values(11), m = b.random_values(12, 1000);
  const Ciphertext cx = b.encrypt(x), cy = b.encrypt(y);
  std::vector<std::int64_t> want(x.size());
  auto expect = [&](const Ciphertext& ct, auto f, const char* what) {
    for (std::size_t s = 0; s < x.size(); ++s) want[s] = b.mod_t(f(s));
    EXPECT_EQ(b.decrypt(ct), want) << what;
  };
  expect(b.evaluator.add(cx, cy), [&](std::size_t s) { return static_cast<i128>(x[s]) + y[s]; }, "add");
  expect(b.evaluator.sub(cx, cy), [&](std::size_t s) { return static_cast<i128>(x[s]) - y[s]; }, "sub");
  Ciphertext c = cx;
  b.evaluator.negate_inplace(c);
  expect(c, [&](std::size_t s) { return -static_cast<i128>(x[s]); }, "negate");
  c = cx;
  b.evaluator.add_plain_inplace(c, b.encoder.encode(y));
  expect(c, [&](std::size_t s) { return static_cast<i128>(x[s]) + y[s]; }, "add_plain");
  c = cx;
  b.evaluator.sub_plain_inplace(c, b.encoder.encode(y));
  expect(c, [&](std::size_t s) { return static_cast<i128>(x[s]) - y[s]; }, "sub_plain");
  c = cx;
  b.evaluator.multiply_plain_inplace(c, b.encoder.encode(m));
  expect(c, [&](std::size_t s) { return static_cast<i128>(x[s]) * m[s]; }, "multiply_plain");
  c = cx;
  b.evaluator.add_const_inplace(c, -12345);
  expect(c, [&](std::size_t s) { return static_cast<i128>(x[s]) - 12345; }, "add_const");
  c = cx;
  b.evaluator.multiply_const_inplace(c, -321);
  expect(c, [&](std::size_t s) { return static_cast<i128>(x[s]) * -321; }, "multiply_const");
  const std::vector<const Ciphertext*> cts{&cx, &cy, &cx};
  const std::vector<std::int64_t> w{3, -5, 0};
  expect(b.evaluator.dot_product(cts, w), [&](std::size_t s) { return 3 * static_cast<i128>(x[s]) - 5 * static_cast<i128>(y[s]); },
         "dot_product");
  // A whole layer: rows over the same inputs, an empty row (the constant 0), a zero weight.
  const std::vector<Ciphertext> in{cx, cy};
  const std::vector<std::vector<std::uint32_t>> index{{0, 1}, {}, {1, 1, 0}};
  const std::vector<std::vector<std::int64_t>> weights{{3, -5}, {}, {7, 0, -2}};
  const std::vector<Ciphertext> layer = b.evaluator.linear(in, index, weights);
  ASSERT_EQ(layer.size(), 3u);
  expect(layer[0], [&](std::size_t s) { return 3 * static_cast<i128>(x[s]) - 5 * static_cast<i128>(y[s]); }, "linear row 0");
  expect(layer[1], [&](std::size_t) { return i128{0}; }, "linear row 1");
  expect(layer[2], [&](std::size_t s) { return 7 * static_cast<i128>(y[s]) - 2 * static_cast<i128>(x[s]); }, "linear row 2");
  ThreadPool pool(2);
  const Evaluator pooled(b.params, &pool);
  EXPECT_EQ(b.decrypt(pooled.linear(in, index, weights)[2]), b.decrypt(layer[2]));
}

TEST(BfvEvaluate, MultiplyRelinearizeDepthThreeWithinTheEstimate) {
  Bundle& b = default_bundle();
  const std::size_t top = b.params.max_level();
  auto x = b.random_values(20, 30);
  Ciphertext c = b.encrypt(x);
  double est = b.noise.fresh_public(top);
  std::vector<std::int64_t> want = x;
  for (int depth = 1; depth <= 3; ++depth) {
    const Ciphertext y = b.encrypt(b.random_values(30 + depth, 30));
    const auto yv = b.decrypt(y);
    Ciphertext p = b.evaluator.multiply(c, y);
    est = b.noise.multiply(est, b.noise.fresh_public(top), top);
    EXPECT_EQ(b.decrypt(p), [&] {  // a 3-part ciphertext decrypts too
      std::vector<std::int64_t> w(want.size());
      for (std::size_t s = 0; s < w.size(); ++s) w[s] = b.mod_t(static_cast<i128>(want[s]) * yv[s]);
      return w;
    }()) << "depth " << depth << " before relinearization";
    b.evaluator.relinearize_inplace(p, b.rk);
    est = b.noise.key_switch(est, top);
    for (std::size_t s = 0; s < want.size(); ++s) want[s] = b.mod_t(static_cast<i128>(want[s]) * yv[s]);
    ASSERT_EQ(b.decrypt(p), want) << "depth " << depth;
    const double measured = b.decryptor.invariant_noise_log2(p);
    EXPECT_LE(measured, est) << "depth " << depth;
    c = std::move(p);
  }
  // Squaring agrees with multiplying by itself.
  const Ciphertext z = b.encrypt(b.random_values(40, 1000));
  EXPECT_EQ(b.decrypt(b.evaluator.square(z)), b.decrypt(b.evaluator.multiply(z, b.encrypt(b.decrypt(z)))));
}

TEST(BfvEvaluate, RotationsMoveSlotsAsStated) {
  Bundle& b = default_bundle();
  const std::size_t half = b.params.row_size();
  const auto x = b.random_values(50);
  const Ciphertext c = b.encrypt(x);
  for (int steps : {1, -1, 3, -5}) {
    const auto got = b.decrypt(b.evaluator.rotate_rows(c, steps, b.gk));
    for (std::size_t r = 0; r < 2; ++r)
      for (std::size_t col = 0; col < half; ++col) {
        const std::size_t from = (col + half + static_cast<std::size_t>(steps % static_cast<int>(half) + static_cast<int>(half))) % half;
        ASSERT_EQ(got[r * half + col], x[r * half + from]) << "steps " << steps << " slot " << r * half + col;
      }
  }
  const auto swapped = b.decrypt(b.evaluator.rotate_columns(c, b.gk));
  for (std::size_t col = 0; col < half; ++col) {
    ASSERT_EQ(swapped[col], x[half + col]);
    ASSERT_EQ(swapped[half + col], x[col]);
  }
  const std::vector<int> steps{0, 1, 3};
  const auto hoisted = b.evaluator.rotate_rows_hoisted(c, steps, b.gk);
  ASSERT_EQ(hoisted.size(), 3u);
  EXPECT_EQ(b.decrypt(hoisted[0]), x);
  EXPECT_EQ(b.decrypt(hoisted[2]), b.decrypt(b.evaluator.rotate_rows(c, 3, b.gk)));
  EXPECT_LE(b.decryptor.invariant_noise_log2(hoisted[1]), b.noise.key_switch(b.noise.fresh_public(3), 3));
}

TEST(BfvEvaluate, ModSwitchShrinksAndKeepsTheMessage) {
  Bundle& b = default_bundle();
  const auto x = b.random_values(60, 100);
  Ciphertext c = b.evaluator.multiply_relin(b.encrypt(x), b.encrypt(x), b.rk);
  double est = b.noise.key_switch(b.noise.multiply(b.noise.fresh_public(3), b.noise.fresh_public(3), 3), 3);
  std::vector<std::int64_t> want(x.size());
  for (std::size_t s = 0; s < x.size(); ++s) want[s] = x[s] * x[s];
  for (std::size_t level = 3; level > 0; --level) {
    b.evaluator.mod_switch_to_next_inplace(c);
    est = b.noise.mod_switch(est, level);
    EXPECT_EQ(c.level, level - 1);
    ASSERT_EQ(b.decrypt(c), want) << "level " << level - 1;
    EXPECT_LE(b.decryptor.invariant_noise_log2(c), est) << "level " << level - 1;
  }
  EXPECT_LT(b.params.ciphertext_bytes(0), b.params.ciphertext_bytes(3) / 3);
  // Operations still work at the lower level.
  Ciphertext d = b.encryptor.encrypt(b.encoder.encode(x), 0);
  b.evaluator.add_inplace(d, c);
  for (std::size_t s = 0; s < x.size(); ++s) want[s] = b.mod_t(static_cast<i128>(want[s]) + x[s]);
  EXPECT_EQ(b.decrypt(d), want);
}

TEST(BfvEvaluate, Rejections) {
  Bundle& b = default_bundle();
  const Ciphertext c = b.encrypt(b.random_values(70, 10));
  Ciphertext low = c;
  b.evaluator.mod_switch_to_inplace(low, 1);
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.add(c, low); }), "add: level mismatch 3 vs 1"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.multiply(c, low); }), "multiply: level mismatch 3 vs 1"));
  Ciphertext foreign = c;
  foreign.params_id[0] ^= 1;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.sub(c, foreign); }), "sub: ciphertext from other parameters"));
  Ciphertext three = b.evaluator.multiply(c, c);
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.multiply(three, c); }), "multiply: ciphertext of 3 parts; relinearize first"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.square(three); }), "square: ciphertext of 3 parts"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.rotate_rows(three, 1, b.gk); }), "relinearize first"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.rotate_rows(c, 2, b.gk); }), "rotate_rows: no Galois key for step 2"));
  GaloisKeys none;
  none.params_id = b.params.ring().id();
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.rotate_columns(c, none); }), "no Galois key for Galois element 16383"));
  Ciphertext two = c;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.relinearize_inplace(two, b.rk); }), "relinearize: ciphertext has 2 parts, not 3"));
  EXPECT_EQ(b.decrypt(two), b.decrypt(c));  // untouched by the refused operation
  Ciphertext bottom = c;
  b.evaluator.mod_switch_to_inplace(bottom, 0);
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.mod_switch_to_next_inplace(bottom); }), "mod_switch: ciphertext is at level 0"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.mod_switch_to_inplace(bottom, 2); }), "mod_switch: target level 2 is above the ciphertext's 0"));
  Ciphertext x = c;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.multiply_const_inplace(x, 600000); }), "multiply_const: value 600000"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.add_const_inplace(x, -600000); }), "add_const: value -600000"));
  const std::vector<const Ciphertext*> cts{&c, &c};
  const std::vector<std::int64_t> w1{1};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.dot_product(cts, w1); }), "dot_product: 2 ciphertexts but 1 weights"));
  const std::vector<const Ciphertext*> mixed{&c, &low};
  const std::vector<std::int64_t> w2{1, 2};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.dot_product(mixed, w2); }), "dot_product: level mismatch 3 vs 1"));
  const std::vector<Ciphertext> lin{c, c};
  const std::vector<std::vector<std::uint32_t>> idx{{0, 2}};
  const std::vector<std::vector<std::int64_t>> wt{{1, 1}}, wt_short{{1}};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear({}, idx, wt); }), "linear: no input ciphertexts"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin, idx, {}); }), "linear: 1 index rows but 0 weight rows"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin, idx, wt_short); }), "linear: row 0 has 2 indices but 1 weights"));
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin, idx, wt); }), "linear: row 0 reads input 2 of 2"));
  const std::vector<std::vector<std::uint32_t>> idx0{{0}};
  const std::vector<std::vector<std::int64_t>> big{{600000}};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin, idx0, big); }), "linear weight"));
  const std::vector<Ciphertext> lin_mixed{c, low};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin_mixed, idx0, wt_short); }), "linear: level mismatch 3 vs 1"));
  const std::vector<Ciphertext> lin_three{b.evaluator.multiply(c, c)};
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.linear(lin_three, idx0, wt_short); }), "linear: input 0 has 3 parts"));
  const std::vector<const Ciphertext*> empty;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.dot_product(empty, std::vector<std::int64_t>{}); }), "dot_product: no ciphertexts"));
  Plaintext p = b.encoder.encode_constant(2);
  p.coeffs.resize(5);
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.multiply_plain_inplace(x, p); }), "multiply_plain: plaintext has 5 coefficients"));
  p = b.encoder.encode_constant(2);
  p.coeffs[7] = b.params.t().value;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.add_plain_inplace(x, p); }), "add_plain: plaintext coefficient 7 is 1032193, not below t"));
  EXPECT_TRUE(contains(error_of([&] { b.encryptor.encrypt(p); }), "encrypt: plaintext coefficient 7"));
  Ciphertext shape = c;
  shape.level = 2;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.negate_inplace(shape); }), "negate: ciphertext shape does not match its level 2"));
  shape.level = 9;
  EXPECT_TRUE(contains(error_of([&] { b.evaluator.negate_inplace(shape); }), "negate: level 9 is above the top level 3"));
}

}  // namespace
}  // namespace hemi::bfv
