// Every operation: decrypt(op(encrypt(x))) is within the stated log2 precision of op(x), on
// every parameter set in test_util.h.
#include <gtest/gtest.h>

#include <memory>

#include "test_util.h"

namespace hemi::ckks {
namespace {

using testing::Bundle;
using testing::log2_error;
using testing::ParamCase;

class Ops : public ::testing::TestWithParam<ParamCase> {
 protected:
  static void SetUpTestSuite() {}
  void SetUp() override {
    auto& slot = cache()[GetParam().name];
    if (!slot) slot = std::make_unique<Bundle>(GetParam().literal);
    b = slot.get();
    tol = GetParam().log2_tolerance;
    slots = b->params.slots();
    top = b->params.max_level();
  }
  static std::map<std::string, std::unique_ptr<Bundle>>& cache() {
    static std::map<std::string, std::unique_ptr<Bundle>> c;
    return c;
  }
  Bundle* b = nullptr;
  double tol = 0;
  std::size_t slots = 0, top = 0;
};

TEST_P(Ops, EncodeDecode) {
  auto x = b->random_values(slots, 1.0, 1);
  auto pt = b->encoder.encode(x, top);
  EXPECT_LT(log2_error(b->encoder.decode(pt), x), tol - 4);
  std::vector<std::complex<double>> z(slots);
  for (std::size_t i = 0; i < slots; ++i) z[i] = {x[i], -x[(i + 1) % slots]};
  auto back = b->encoder.decode_complex(b->encoder.encode(z, 0));
  double err = 0;
  for (std::size_t i = 0; i < slots; ++i) err = std::max(err, std::abs(back[i] - z[i]));
  EXPECT_LT(std::log2(err), tol);
}

TEST_P(Ops, EncryptDecryptPublicSymmetricSeeded) {
  auto x = b->random_values(slots, 1.0, 2);
  auto pt = b->encoder.encode(x, top);
  EXPECT_LT(log2_error(b->decrypt(b->encryptor.encrypt(pt)), x), tol);
  SymmetricEncryptor sym(b->params, b->sk, Seed{3});
  EXPECT_LT(log2_error(b->decrypt(sym.encrypt(pt)), x), tol);
  auto seeded = sym.encrypt_seeded(pt);
  EXPECT_LT(log2_error(b->decrypt(SymmetricEncryptor::expand(b->params, seeded)), x), tol);
  // at a lower level too
  EXPECT_LT(log2_error(b->decrypt(b->encrypt(x, 0)), x), tol);
}

// Encrypting the encoding before its NTT (the error added to the coefficients) gives the very
// ciphertext of encode-then-encrypt for the same randomness, at the top level and below.
TEST_P(Ops, SeededFromCoefficientsEqualsSeededFromPlaintext) {
  auto x = b->random_values(slots, 1.0, 5);
  for (std::size_t level : {top, std::size_t{0}}) {
    SymmetricEncryptor via_plain(b->params, b->sk, Seed{7}), via_coeffs(b->params, b->sk, Seed{7});
    const auto want = via_plain.encrypt_seeded(b->encoder.encode(x, level));
    const auto got = via_coeffs.encrypt_seeded(b->encoder.encode_coefficients(x, level));
    EXPECT_EQ(got.seed, want.seed);
    EXPECT_EQ(got.level, want.level);
    EXPECT_EQ(got.scale, want.scale);
    ASSERT_EQ(got.c0.limbs(), want.c0.limbs());
    EXPECT_TRUE(std::equal(got.c0.data(), got.c0.data() + got.c0.n() * got.c0.limbs(), want.c0.data()));
    EXPECT_LT(log2_error(b->decrypt(SymmetricEncryptor::expand(b->params, got)), x), tol);
  }
  // The same refusals as encode: a level above the top, values that overflow the scale.
  EXPECT_THROW(b->encoder.encode_coefficients(x, top + 1), Error);
  EXPECT_THROW(b->encoder.encode_coefficients(std::vector<double>{1e30}, 0), Error);
  Encoder::Coefficients short_one = b->encoder.encode_coefficients(x, 0);
  short_one.ints.pop_back();
  SymmetricEncryptor sym(b->params, b->sk, Seed{8});
  EXPECT_THROW(sym.encrypt_seeded(short_one), Error);
}

TEST_P(Ops, AddSubNegate) {
  auto x = b->random_values(slots, 1.0, 3), y = b->random_values(slots, 1.0, 4);
  auto cx = b->encrypt(x, top), cy = b->encrypt(y, top);
  std::vector<double> sum(slots), diff(slots), neg(slots);
  for (std::size_t i = 0; i < slots; ++i) {
    sum[i] = x[i] + y[i];
    diff[i] = x[i] - y[i];
    neg[i] = -x[i];
  }
  EXPECT_LT(log2_error(b->decrypt(b->evaluator.add(cx, cy)), sum), tol);
  EXPECT_LT(log2_error(b->decrypt(b->evaluator.sub(cx, cy)), diff), tol);
  auto n = cx;
  b->evaluator.negate_inplace(n);
  EXPECT_LT(log2_error(b->decrypt(n), neg), tol);
}

TEST_P(Ops, PlainAndConstantOperations) {
  auto x = b->random_values(slots, 1.0, 5), y = b->random_values(slots, 1.0, 6);
  auto cx = b->encrypt(x, top);
  auto py = b->encoder.encode(y, top);
  std::vector<double> sum(slots), prod(slots), plus_c(slots), times_c(slots);
  for (std::size_t i = 0; i < slots; ++i) {
    sum[i] = x[i] + y[i];
    prod[i] = x[i] * y[i];
    plus_c[i] = x[i] + 0.375;
    times_c[i] = x[i] * -1.625;
  }
  auto c = cx;
  b->evaluator.add_plain_inplace(c, py);
  EXPECT_LT(log2_error(b->decrypt(c), sum), tol);
  c = cx;
  b->evaluator.sub_plain_inplace(c, py);
  b->evaluator.add_plain_inplace(c, py);
  EXPECT_LT(log2_error(b->decrypt(c), x), tol);
  c = cx;
  b->evaluator.multiply_plain_inplace(c, py);
  b->evaluator.rescale_inplace(c);
  EXPECT_EQ(c.level, top - 1);
  EXPECT_LT(log2_error(b->decrypt(c), prod), tol);
  c = cx;
  b->evaluator.add_const_inplace(c, 0.375);
  EXPECT_LT(log2_error(b->decrypt(c), plus_c), tol);
  c = cx;
  const double scale_before = c.scale;
  b->evaluator.multiply_const_inplace(c, -1.625);
  b->evaluator.rescale_inplace(c);
  EXPECT_NEAR(c.scale / scale_before, 1.0, 1e-12);  // the constant at q_level restores the scale
  EXPECT_LT(log2_error(b->decrypt(c), times_c), tol);
  c = cx;
  b->evaluator.multiply_integer_inplace(c, -3);
  for (auto& v : plus_c) v = 0;
  for (std::size_t i = 0; i < slots; ++i) plus_c[i] = -3 * x[i];
  EXPECT_LT(log2_error(b->decrypt(c), plus_c), tol + 2);
}

TEST_P(Ops, MultiplyRelinearizeRescaleSquare) {
  auto x = b->random_values(slots, 1.0, 7), y = b->random_values(slots, 1.0, 8);
  auto cx = b->encrypt(x, top), cy = b->encrypt(y, top);
  std::vector<double> prod(slots), sq(slots);
  for (std::size_t i = 0; i < slots; ++i) {
    prod[i] = x[i] * y[i];
    sq[i] = x[i] * x[i];
  }
  auto c3 = b->evaluator.multiply(cx, cy);
  EXPECT_EQ(c3.size(), 3u);
  EXPECT_LT(log2_error(b->decrypt(c3), prod), tol);  // decrypts with s^2 too
  b->evaluator.relinearize_inplace(c3, b->rk);
  EXPECT_EQ(c3.size(), 2u);
  b->evaluator.rescale_inplace(c3);
  EXPECT_LT(log2_error(b->decrypt(c3), prod), tol);
  auto s = b->evaluator.square(cx);
  b->evaluator.relinearize_inplace(s, b->rk);
  b->evaluator.rescale_inplace(s);
  EXPECT_LT(log2_error(b->decrypt(s), sq), tol);
  // A depth-2 chain: x^4.
  auto s2 = b->evaluator.multiply_relin(s, s, b->rk);
  b->evaluator.rescale_inplace(s2);
  std::vector<double> q4(slots);
  for (std::size_t i = 0; i < slots; ++i) q4[i] = sq[i] * sq[i];
  EXPECT_LT(log2_error(b->decrypt(s2), q4), tol + 1);
}

TEST_P(Ops, MultiplyAtEveryLevel) {
  auto x = b->random_values(slots, 1.0, 9);
  for (std::size_t level = 1; level <= top; ++level) {
    auto c = b->encrypt(x, level);
    auto s = b->evaluator.multiply_relin(c, c, b->rk);
    b->evaluator.rescale_inplace(s);
    std::vector<double> sq(slots);
    for (std::size_t i = 0; i < slots; ++i) sq[i] = x[i] * x[i];
    EXPECT_LT(log2_error(b->decrypt(s), sq), tol) << "level " << level;
  }
}

TEST_P(Ops, RotateConjugateHoisted) {
  // Key switching at the fresh scale (no rescale after it) must stay within the same bound.
  auto x = b->random_values(slots, 1.0, 10);
  auto cx = b->encrypt(x, top);
  for (int k : {1, -1, 2, 5, -7, 64}) {
    auto r = b->evaluator.rotate(cx, k, b->gk);
    std::vector<double> want(slots);
    for (std::size_t i = 0; i < slots; ++i) want[i] = x[(i + slots + k) % slots];
    EXPECT_LT(log2_error(b->decrypt(r), want), tol) << "step " << k;
  }
  // rotate by k then -k is the identity
  auto id = b->evaluator.rotate(b->evaluator.rotate(cx, 1, b->gk), -1, b->gk);
  EXPECT_LT(log2_error(b->decrypt(id), x), tol);
  // conjugation of a complex vector
  std::vector<std::complex<double>> z(slots);
  for (std::size_t i = 0; i < slots; ++i) z[i] = {x[i], x[(i + 3) % slots]};
  auto cz = b->encryptor.encrypt(b->encoder.encode(z, top));
  auto conj = b->encoder.decode_complex(b->decryptor.decrypt(b->evaluator.conjugate(cz, b->gk)));
  double err = 0;
  for (std::size_t i = 0; i < slots; ++i) err = std::max(err, std::abs(conj[i] - std::conj(z[i])));
  EXPECT_LT(std::log2(err), tol);
  // hoisted rotations agree with one-by-one rotations
  std::vector<int> steps = {1, 2, 5, -7, 0};
  auto many = b->evaluator.rotate_hoisted(cx, steps, b->gk);
  ASSERT_EQ(many.size(), steps.size());
  for (std::size_t s = 0; s < steps.size(); ++s) {
    std::vector<double> want(slots);
    for (std::size_t i = 0; i < slots; ++i) want[i] = x[(i + slots + steps[s]) % slots];
    EXPECT_LT(log2_error(b->decrypt(many[s]), want), tol) << steps[s];
  }
  // after a rescale (lower level) rotations still work
  auto low = cx;
  b->evaluator.drop_level_inplace(low, 0);
  auto r0 = b->evaluator.rotate(low, 2, b->gk);
  std::vector<double> want(slots);
  for (std::size_t i = 0; i < slots; ++i) want[i] = x[(i + 2) % slots];
  EXPECT_LT(log2_error(b->decrypt(r0), want), tol);
}

TEST_P(Ops, DotProductOf49) {
  std::vector<Ciphertext> cts;
  std::vector<std::vector<double>> xs;
  std::vector<double> w(49);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> d(-1, 1);
  for (int i = 0; i < 49; ++i) {
    xs.push_back(b->random_values(slots, 1.0, 100 + i));
    cts.push_back(b->encrypt(xs.back(), top));
    w[i] = d(rng) / 8;
  }
  std::vector<const Ciphertext*> ptrs;
  for (auto& c : cts) ptrs.push_back(&c);
  auto r = b->evaluator.dot_product(ptrs, w);
  b->evaluator.rescale_inplace(r);
  EXPECT_NEAR(r.scale / cts[0].scale, 1.0, 1e-12);
  std::vector<double> want(slots, 0.0);
  for (int i = 0; i < 49; ++i)
    for (std::size_t s = 0; s < slots; ++s) want[s] += w[i] * xs[i][s];
  EXPECT_LT(log2_error(b->decrypt(r), want), tol + 3);
}

TEST_P(Ops, DropLevelKeepsValues) {
  auto x = b->random_values(slots, 1.0, 12);
  auto c = b->encrypt(x, top);
  b->evaluator.drop_level_inplace(c, 0);
  EXPECT_EQ(c.level, 0u);
  EXPECT_LT(log2_error(b->decrypt(c), x), tol);
}

INSTANTIATE_TEST_SUITE_P(ParamSets, Ops, ::testing::ValuesIn(testing::param_cases()),
                         [](const auto& info) { return info.param.name; });

// ---- rejections ----

class Rejections : public ::testing::Test {
 protected:
  static Bundle& b() {
    static Bundle bundle(testing::param_cases()[0].literal, {1});
    return bundle;
  }
  template <typename F>
  static void expect_error(F&& f, const std::string& part) {
    try {
      f();
      FAIL() << "expected an error containing '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
};

TEST_F(Rejections, LevelAndScaleMismatch) {
  auto x = b().random_values(8, 1.0, 1);
  auto c2 = b().encrypt(x, 2), c1 = b().encrypt(x, 1);
  expect_error([&] { b().evaluator.add(c2, c1); }, "add: level mismatch 2 vs 1");
  auto big = b().encryptor.encrypt(b().encoder.encode(x, 2, std::ldexp(1.0, 30)));
  expect_error([&] { b().evaluator.add(c2, big); }, "add: scale mismatch 2^40 vs 2^30");
  expect_error([&] { b().evaluator.multiply(c2, c1); }, "multiply: level mismatch");
  auto pt = b().encoder.encode(x, 1);
  expect_error([&] { b().evaluator.add_plain_inplace(c2, pt); }, "add_plain: level mismatch");
}

TEST_F(Rejections, ScaleOverflow) {
  auto x = b().random_values(8, 1.0, 2);
  auto c = b().encrypt(x, 0);  // q_0 has 50 bits; 2^40 * 2^40 does not fit
  expect_error([&] { b().evaluator.multiply(c, c); }, "multiply: result scale 2^80 exceeds the modulus");
  expect_error([&] { b().encoder.encode(std::vector<double>{1e6}, 0); }, "scale overflow");
  expect_error([&] { b().evaluator.rescale_inplace(c); }, "rescale: ciphertext is at level 0");
  expect_error([&] { b().encoder.encode(std::vector<double>{std::nan("")}, 0); }, "non-finite");
}

TEST_F(Rejections, MissingGaloisKeyAndWrongRelin) {
  auto c = b().encrypt(b().random_values(8, 1.0, 3), 2);
  expect_error([&] { b().evaluator.rotate(c, 3, b().gk); }, "rotate: no Galois key for step 3");
  auto no_conj = b().keygen.galois_keys(b().sk, {1}, /*conjugate=*/false);
  expect_error([&] { b().evaluator.conjugate(c, no_conj); }, "conjugate: no Galois key");
  std::vector<int> steps = {1, 4};
  expect_error([&] { b().evaluator.rotate_hoisted(c, steps, b().gk); }, "no Galois key for step 4");
  expect_error([&] { b().evaluator.relinearize_inplace(c, b().rk); }, "relinearize: ciphertext has 2 parts");
  auto c3 = b().evaluator.multiply(c, c);
  expect_error([&] { b().evaluator.multiply(c3, c); }, "relinearize first");
  expect_error([&] { b().evaluator.rotate(c3, 1, b().gk); }, "relinearize first");
}

TEST_F(Rejections, ObjectsFromOtherParameters) {
  Bundle other(testing::param_cases()[2].literal, {1});
  auto c = b().encrypt(b().random_values(8, 1.0, 4), 1);
  auto o = other.encrypt(other.random_values(8, 1.0, 4), 1);
  expect_error([&] { b().evaluator.add(c, o); }, "add: ciphertext from other parameters");
  expect_error([&] { b().decryptor.decrypt(o); }, "decrypt: ciphertext from other parameters");
  expect_error([&] { b().evaluator.rotate(c, 1, other.gk); }, "Galois keys from other parameters");
  auto c3 = b().evaluator.multiply(c, c);
  expect_error([&] { b().evaluator.relinearize_inplace(c3, other.rk); }, "relinearization key from other parameters");
  expect_error([&] { Decryptor(b().params, other.sk); }, "secret key from other parameters");
}

TEST_F(Rejections, DotProductShapes) {
  auto c = b().encrypt(b().random_values(8, 1.0, 5), 1);
  std::vector<const Ciphertext*> one = {&c};
  std::vector<double> two = {1, 2};
  expect_error([&] { b().evaluator.dot_product(one, two); }, "1 ciphertexts but 2 weights");
  std::vector<double> huge = {1e30};
  expect_error([&] { b().evaluator.dot_product(one, huge); }, "overflows");
}

}  // namespace
}  // namespace hemi::ckks

namespace hemi::ckks {
namespace {

TEST(ThreadPoolEvaluator, GivesBitwiseIdenticalResults) {
  testing::Bundle b(testing::param_cases()[1].literal, {1, 2});
  ThreadPool pool(2);
  Evaluator parallel(b.params, &pool);
  auto x = b.random_values(64, 1.0, 1);
  auto c = b.encrypt(x, b.params.max_level());
  auto same = [](const Ciphertext& u, const Ciphertext& v) {
    if (u.size() != v.size()) return false;
    for (std::size_t k = 0; k < u.size(); ++k)
      if (!std::equal(u.polys[k].data(), u.polys[k].data() + u.polys[k].size(), v.polys[k].data())) return false;
    return true;
  };
  EXPECT_TRUE(same(b.evaluator.multiply_relin(c, c, b.rk), parallel.multiply_relin(c, c, b.rk)));
  std::vector<int> steps = {1, 2};
  auto r1 = b.evaluator.rotate_hoisted(c, steps, b.gk), r2 = parallel.rotate_hoisted(c, steps, b.gk);
  EXPECT_TRUE(same(r1[0], r2[0]) && same(r1[1], r2[1]));
}

}  // namespace
}  // namespace hemi::ckks

namespace hemi::ckks {
namespace {

TEST(DotProducts, ManyRowsMatchSingleDotProducts) {
  testing::Bundle b(testing::param_cases()[0].literal, {1});
  ThreadPool pool(2);
  Evaluator par(b.params, &pool);
  std::vector<Ciphertext> in;
  std::vector<std::vector<double>> xs;
  for (int i = 0; i < 12; ++i) {
    xs.push_back(b.random_values(b.params.slots(), 1.0, 200 + i));
    in.push_back(b.encrypt(xs.back(), 2));
  }
  std::vector<const Ciphertext*> ptrs;
  for (auto& c : in) ptrs.push_back(&c);
  std::vector<Evaluator::SparseRow> rows(3);
  rows[0] = {{0, 5, 11}, {0.5, -0.25, 0.125}};
  rows[1] = {{3}, {-1.5}};
  rows[2] = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {0.1, 0.2, 0.3, 0.4, 0.5, -0.1, -0.2, -0.3, -0.4, -0.5}};
  auto out = par.dot_products(ptrs, rows);
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<const Ciphertext*> sel;
    for (auto i : rows[r].index) sel.push_back(&in[i]);
    auto single = b.evaluator.dot_product(sel, rows[r].weight);
    ASSERT_TRUE(std::equal(single.polys[0].data(), single.polys[0].data() + single.polys[0].size(), out[r].polys[0].data()));
    ASSERT_TRUE(std::equal(single.polys[1].data(), single.polys[1].data() + single.polys[1].size(), out[r].polys[1].data()));
    b.evaluator.rescale_inplace(out[r]);
    std::vector<double> want(b.params.slots(), 0.0);
    for (std::size_t t = 0; t < rows[r].index.size(); ++t)
      for (std::size_t s = 0; s < want.size(); ++s) want[s] += rows[r].weight[t] * xs[rows[r].index[t]][s];
    EXPECT_LT(testing::log2_error(b.decrypt(out[r]), want), -20);
  }
  std::vector<Evaluator::SparseRow> bad = {{{12}, {1.0}}};
  EXPECT_THROW(par.dot_products(ptrs, bad), Error);
  std::vector<Evaluator::SparseRow> empty = {{{}, {}}};
  EXPECT_THROW(par.dot_products(ptrs, empty), Error);
}

}  // namespace
}  // namespace hemi::ckks

namespace hemi::ckks {
namespace {

TEST(MultiplyPlainSum, EqualsMultiplyPlainThenAdd) {
  testing::Bundle b(testing::param_cases()[0].literal, {1});
  std::vector<Ciphertext> cts;
  std::vector<Plaintext> pts;
  for (int i = 0; i < 5; ++i) {
    cts.push_back(b.encrypt(b.random_values(b.params.slots(), 1.0, 300 + i), 2));
    pts.push_back(b.encoder.encode(b.random_values(b.params.slots(), 1.0, 400 + i), 2));
  }
  std::vector<const Ciphertext*> cp;
  std::vector<const Plaintext*> pp;
  for (int i = 0; i < 5; ++i) {
    cp.push_back(&cts[i]);
    pp.push_back(&pts[i]);
  }
  Ciphertext fused = b.evaluator.multiply_plain_sum(cp, pp);
  Ciphertext sum = cts[0];
  b.evaluator.multiply_plain_inplace(sum, pts[0]);
  for (int i = 1; i < 5; ++i) {
    Ciphertext t = cts[i];
    b.evaluator.multiply_plain_inplace(t, pts[i]);
    b.evaluator.add_inplace(sum, t);
  }
  for (std::size_t k = 0; k < 2; ++k)
    ASSERT_TRUE(std::equal(sum.polys[k].data(), sum.polys[k].data() + sum.polys[k].size(), fused.polys[k].data()));
  std::vector<const Plaintext*> wrong = {pp[0], pp[1]};
  EXPECT_THROW(b.evaluator.multiply_plain_sum(cp, wrong), Error);
}

}  // namespace
}  // namespace hemi::ckks
