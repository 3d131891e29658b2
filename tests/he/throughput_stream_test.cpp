// The streamed throughput executor (throughput_stream.h): agreement with the plaintext
// interpreter on a multi-layer network, the plan's operation counts and memory peak against
// what the executor does, the memory bound, and its rejections. INSECURE small parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/keys.h"
#include "hemi/he/activations.h"
#include "hemi/he/compiler.h"
#include "hemi/he/roles.h"
#include "hemi/he/throughput_stream.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

using testing::conv;
using testing::dense;
using testing::make_model;

// conv s2 p1 · x² · conv p1 · poly · avgpool · conv 1x1 · avgpool · flatten · dense · x² · dense:
// every layer type, strides, padding, and a dense row of zero weights (an all-zero output).
nn::Model deep_model() {
  std::mt19937_64 rng(3);
  nn::Polynomial poly;
  poly.coefficients = {0.1, 0.5, 0.25};
  nn::AvgPool2d pool;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  nn::Dense d1 = dense(3 * 2 * 2, 5, rng);
  for (int i = 0; i < 12; ++i) d1.weight[2 * 12 + i] = 0;  // row 2: no inputs
  return make_model(3, 16, 16,
                    {conv(3, 3, 3, 2, 1, rng), nn::Square{}, conv(3, 3, 3, 1, 1, rng), poly, pool,
                     conv(3, 3, 1, 1, 0, rng), pool, nn::Flatten{}, d1, nn::Square{}, dense(5, 3, rng)},
                    3);
}

std::vector<float> random_images(std::size_t count, std::size_t values, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(count * values);
  for (auto& x : v) x = d(rng);
  return v;
}

struct StreamRun {
  Plan plan;
  std::vector<std::vector<double>> logits;
  StreamStats stats;
  std::vector<std::size_t> fetched;  // source indices in the order asked for
};

StreamRun run(const nn::Model& model, const std::vector<float>& images, std::size_t count, ThreadPool* pool) {
  CompileOptions opts;
  opts.packing = Packing::kThroughput;
  opts.params = testing::insecure_params(model.multiplicative_depth());
  opts.fold_activations = false;  // the layers as written (folding: folded_activations_test.cpp)
  StreamRun r;
  r.plan = compile(model, opts);
  Client client(r.plan, Seed{9});
  Server server(r.plan, model, client.eval_keys(), pool);
  const std::size_t values = model.input_shape().size();
  std::vector<const float*> ptrs;
  for (std::size_t i = 0; i < count; ++i) ptrs.push_back(images.data() + i * values);
  auto out = server.evaluate_batch(
      [&](std::size_t k) {
        r.fetched.push_back(k);
        return ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value(ptrs, k));
      },
      &r.stats);
  r.logits = client.decrypt_logits(out, count);
  return r;
}

TEST(ThroughputStream, DeepNetworkAgreesWithInterpreter) {
  const nn::Model model = deep_model();
  const std::size_t count = 5, values = model.input_shape().size();
  const auto images = random_images(count, values, 5);
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    const StreamRun r = run(model, images, count, p);
    double err = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const auto want = nn::forward(model, images.data() + i * values);
      ASSERT_EQ(want.size(), r.logits[i].size());
      for (std::size_t c = 0; c < want.size(); ++c) err = std::max(err, std::fabs(want[c] - r.logits[i][c]));
    }
    EXPECT_LT(err, 1e-3) << (p ? "with" : "without") << " a thread pool";
    // Every source value exactly once.
    EXPECT_EQ(r.fetched.size(), values);
    EXPECT_EQ(std::set<std::size_t>(r.fetched.begin(), r.fetched.end()).size(), values);
  }
}

void expect_ops_equal(const OpCounts& want, const OpCounts& got, const std::string& what) {
  EXPECT_EQ(want.rotations, got.rotations) << what;
  EXPECT_EQ(want.hoisted_groups, got.hoisted_groups) << what;
  EXPECT_EQ(want.relinearizations, got.relinearizations) << what;
  EXPECT_EQ(want.rescales, got.rescales) << what;
  EXPECT_EQ(want.plain_multiplies, got.plain_multiplies) << what;
  EXPECT_EQ(want.dot_terms, got.dot_terms) << what;
  EXPECT_EQ(want.additions, got.additions) << what;
}

// Predicted (the plan) equals actual (counted where the executor calls the evaluator), per
// layer, for conv2d, avgpool2d, dense, square and polynomial; and the plan's memory peak equals
// the peak of the ciphertexts the executor held.
TEST(ThroughputStream, PlanPredictsOperationsAndPeakExactly) {
  const nn::Model model = deep_model();
  const auto images = random_images(3, model.input_shape().size(), 6);
  const StreamRun r = run(model, images, 3, nullptr);
  ASSERT_EQ(r.plan.layers.size(), model.layers().size());
  ASSERT_EQ(r.stats.layer_ops.size(), model.layers().size());
  std::set<std::string> kinds;
  for (std::size_t li = 0; li < model.layers().size(); ++li) {
    expect_ops_equal(r.plan.layers[li].ops, r.stats.layer_ops[li], "layer " + std::to_string(li) + " " + r.plan.layers[li].kind);
    kinds.insert(r.plan.layers[li].kind);
  }
  for (const char* k : {"conv2d", "avgpool2d", "dense", "square", "polynomial"}) EXPECT_TRUE(kinds.count(k)) << k;
  EXPECT_GT(r.stats.peak_words, 0u);
  EXPECT_EQ(r.plan.ciphertext_memory_bytes, r.stats.peak_words * sizeof(std::uint64_t));
}

// polynomial_ops (the plan's count) against the operations polynomial() performs.
TEST(ThroughputStream, PolynomialOpsMatchEvaluation) {
  const ckks::Params params = ckks::Params::create(testing::insecure_params(6)).value();
  ckks::KeyGenerator kg(params, Seed{4});
  const auto sk = kg.secret_key();
  const auto rk = kg.relin_key(sk);
  ckks::Encoder enc(params);
  ckks::SymmetricEncryptor encryptor(params, sk, Seed{5});
  ckks::Evaluator eval(params);
  const auto x = ckks::SymmetricEncryptor::expand(params, encryptor.encrypt_seeded(enc.encode(std::vector<double>{0.3, -0.2}, 6)));
  for (const std::vector<double>& c : std::vector<std::vector<double>>{
           {0.7}, {0.1, 0.5}, {0, 0.5, 0.25}, {0.1, 0.5, 0.25}, {0.2, 0, 0.1, 0.3}, {0, 1, 0, 0, 0.5}, {1, 1, 1, 1, 1, 1, 1, 1}}) {
    OpCounts got;
    polynomial(eval, x, c, rk, &got);
    expect_ops_equal(polynomial_ops(c), got, "degree " + std::to_string(c.size() - 1));
  }
}

// The stream keeps a band of each layer, not whole layers: a convolution network on a 32x32
// input holds far fewer ciphertexts than one layer's activations.
TEST(ThroughputStream, MemoryIsABandNotALayer) {
  std::mt19937_64 rng(8);
  const nn::Model model =
      make_model(1, 32, 32, {conv(1, 4, 3, 1, 1, rng), nn::Square{}, conv(4, 4, 3, 1, 1, rng), nn::Square{}, nn::Flatten{},
                             dense(4 * 32 * 32, 2, rng)},
                 2);
  CompileOptions opts;
  opts.packing = Packing::kThroughput;
  opts.params = testing::insecure_params(model.multiplicative_depth());
  const Plan plan = compile(model, opts);
  const std::size_t n = std::size_t{1} << opts.params->log_n;
  const std::size_t top = 2 * (static_cast<std::size_t>(plan.input_level) + 1) * n * sizeof(std::uint64_t);
  // One layer's activations (4 x 32 x 32 ciphertexts, the dense layer's whole input) at the top
  // level bound the old executor's memory from below.
  const std::size_t layer = 4 * 32 * 32 * top;
  EXPECT_GT(plan.ciphertext_memory_bytes, 0u);
  EXPECT_LT(plan.ciphertext_memory_bytes, layer);
  // The dense layer reads everything, so its inputs accumulate; the convolutions hold only
  // bands: without the dense layer the peak is a small fraction of a layer.
  const nn::Model convs =
      make_model(1, 32, 32, {conv(1, 4, 3, 1, 1, rng), nn::Square{}, conv(4, 4, 3, 1, 1, rng), nn::Square{}, nn::Flatten{}}, 4096);
  const Plan p2 = compile(convs, opts);
  EXPECT_LT(p2.ciphertext_memory_bytes * 4, layer) << p2.ciphertext_memory_bytes;
}

TEST(ThroughputStream, RefusesAPlanOverTheMemoryLimit) {
  const nn::Model model = deep_model();
  CompileOptions opts;
  opts.packing = Packing::kThroughput;
  opts.params = testing::insecure_params(model.multiplicative_depth());
  opts.max_throughput_memory = 1 << 20;
  try {
    compile(model, opts);
    FAIL() << "compiled over the limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit of 1 MiB"), std::string::npos) << e.what();
  }
}

TEST(ThroughputStream, ScheduleRejectsMismatchedLayers) {
  SparseMatrix m;
  m.rows = 2;
  m.cols = 5;
  m.index.resize(2);
  m.weight.resize(2);
  m.bias.assign(2, 0);
  StreamLayer lin;
  lin.kind = StreamLayer::kLinear;
  lin.matrix = &m;
  const nn::TensorShape in{1, 2, 2, false};  // 4 values, the matrix reads 5
  EXPECT_THROW(stream_schedule(in, 3, {lin}), Error);
  StreamLayer none;
  none.kind = StreamLayer::kLinear;  // no matrix
  EXPECT_THROW(stream_schedule(in, 3, {none}), Error);
  StreamLayer poly;
  poly.kind = StreamLayer::kPolynomial;  // no coefficients
  EXPECT_THROW(stream_schedule(in, 3, {poly}), Error);
}

// The input is read position by position (all channels of a pixel together), and a layer that
// starts with an activation or has only a flatten still streams.
TEST(ThroughputStream, InputOrderAndIdentityStages) {
  const nn::TensorShape in{3, 2, 2, false};
  const StreamSchedule s = stream_schedule(in, 2, {StreamLayer{StreamLayer::kSquare, nullptr, nullptr, 1}});
  const std::vector<std::uint32_t> want{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  EXPECT_EQ(s.input_order, want);
  ASSERT_EQ(s.stages.size(), 1u);
  EXPECT_EQ(s.stages[0].matrix, nullptr);
  // One chunk: all 12 inputs (level 2: 2 x 3 x 16 words each) and then 12 outputs (level 1).
  EXPECT_EQ(stream_peak_words(s, 16), 12u * 96 + 12u * 64);
}

}  // namespace
}  // namespace hemi::he
