// BFV latency packing (quant/latency.h): the rotation-based linear layer against a schoolbook
// oracle (in plaintext over the layout, and encrypted), exact agreement of whole networks with
// the integer model, predicted rotations and keys equal to the counted ones, and a negative
// test per rejection. INSECURE small rings (named so) keep it fast.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "hemi/quant/latency.h"
#include "hemi/quant/session.h"
#include "hemi/quant/throughput.h"
#include "small_model.h"
#include "support/error_of.h"

namespace hemi::quant {
namespace {

using test_support::error_of;

CompileOptions insecure_options() {
  CompileOptions o;
  o.t_bits = 30;
  o.security = 0;
  o.allow_insecure = true;  // INSECURE: small rings keep the test fast
  o.min_log_n = 6;
  o.latency_t_bits = {};  // t_bits alone
  return o;
}

// One linear op y = W x + b, n_out x n_in, random small integers, inputs in [0, levels].
QuantizedModel one_linear(std::size_t n_in, std::size_t n_out, std::uint32_t seed, int levels = 7) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> w(-15, 15);
  QuantizedModel qm;
  qm.input_size = n_in;
  qm.classes = static_cast<int>(n_out);
  qm.input_levels = levels;
  qm.weight_bits = 5;
  QOp op;
  op.name = "dense 1";
  op.inputs = n_in;
  op.outputs = n_out;
  for (std::size_t o = 0; o < n_out; ++o) {
    Row r;
    long double bound = 0;
    for (std::size_t j = 0; j < n_in; ++j) {
      const int v = (o + j) % 3 == 0 ? 0 : w(rng);  // some zeros: not every diagonal is full
      r.index.push_back(static_cast<std::uint32_t>(j));
      r.weight.push_back(v);
      bound += std::abs(v) * levels;
    }
    r.bias = w(rng) * 100;
    bound += std::fabs(static_cast<long double>(r.bias));
    op.bound = std::max(op.bound, bound + 1);
    op.l1_max = std::max(op.l1_max, bound);
    op.rows.push_back(std::move(r));
  }
  qm.ops.push_back(std::move(op));
  return qm;
}

std::vector<i128> schoolbook(const QOp& op, const std::vector<std::int64_t>& x) {
  std::vector<i128> y;
  for (const Row& r : op.rows) {
    i128 s = r.bias;
    for (std::size_t k = 0; k < r.index.size(); ++k) s += static_cast<i128>(r.weight[k]) * x[r.index[k]];
    y.push_back(s);
  }
  return y;
}

// The layout's program in plaintext over the 2 x S slot matrix, row rotations cyclic in S:
// y = sum_g rot(sum_b P_{g,b} ⊙ rot(x, b), g), with P_{g,b} the diagonal pre-rotated by -g
// (within its row), folds, and the column swap for a layer gathered over both rows; garbage in
// every slot the layer must not read. Returns row 0.
std::vector<i128> layout_in_plaintext(const LatencyLinear& l, std::size_t S, const std::vector<std::int64_t>& x) {
  std::vector<i128> slots(2 * S);
  for (std::size_t i = 0; i < 2 * S; ++i) slots[i] = i < x.size() ? x[i] : 1000003 + static_cast<i128>(i);
  auto rot = [&](const std::vector<i128>& v, long k) {  // both rows left by k
    std::vector<i128> r(2 * S);
    const auto shift = static_cast<std::size_t>((k % static_cast<long>(S)) + static_cast<long>(S));
    for (std::size_t row = 0; row < 2; ++row)
      for (std::size_t i = 0; i < S; ++i) r[row * S + i] = v[row * S + (i + shift) % S];
    return r;
  };
  std::map<std::uint64_t, std::vector<i128>> inner;
  for (const auto& [d, entries] : l.diagonals) {
    const std::uint64_t b = d % l.baby, g = d - b;
    std::vector<i128> p(2 * S, 0);
    for (auto [i, w] : entries) p[i / S * S + (i % S + g) % S] = w;
    const auto xb = rot(slots, static_cast<long>(b));
    auto& acc = inner[g];
    if (acc.empty()) acc.assign(2 * S, 0);
    for (std::size_t i = 0; i < 2 * S; ++i) acc[i] += p[i] * xb[i];
  }
  std::vector<i128> y(2 * S, 0);
  for (const auto& [g, v] : inner) {
    const auto r = rot(v, static_cast<long>(g));
    for (std::size_t i = 0; i < 2 * S; ++i) y[i] += r[i];
  }
  for (int f : l.fold_steps) {
    const auto r = rot(y, f);
    for (std::size_t i = 0; i < 2 * S; ++i) y[i] += r[i];
  }
  if (l.swap_rows) {
    std::vector<i128> swapped(y.begin() + static_cast<long>(S), y.end());
    swapped.insert(swapped.end(), y.begin(), y.begin() + static_cast<long>(S));
    for (std::size_t i = 0; i < 2 * S; ++i) y[i] += swapped[i];
  }
  for (std::size_t i = 0; i < l.bias.size(); ++i) y[i] += l.bias[i];
  y.resize(S);
  return y;
}

std::size_t distinct_count(const LatencyLayout& layout) {
  std::set<int> s;
  for (const auto& st : layout.steps)
    if (!st.square) {
      s.insert(st.linear.baby_steps.begin(), st.linear.baby_steps.end());
      s.insert(st.linear.giant_steps.begin(), st.linear.giant_steps.end());
      s.insert(st.linear.fold_steps.begin(), st.linear.fold_steps.end());
    }
  return s.size();
}

std::vector<std::int64_t> random_input(std::size_t n, int levels, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, levels);
  std::vector<std::int64_t> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

TEST(LatencyLayout, DiagonalsWithBabyGiantStepsEqualTheSchoolbookProduct) {
  // Shapes that fit S exactly, that wrap (n_in + n_out > S), tall and wide.
  for (auto [n_in, n_out, S] : {std::tuple{20, 12, 32}, {32, 32, 32}, {30, 5, 32}, {7, 29, 32}, {50, 40, 64}, {1, 1, 2}}) {
    const QuantizedModel qm = one_linear(n_in, n_out, 7 + n_in);
    const LatencyLayout layout = plan_latency_layout(qm, S).value();
    ASSERT_EQ(layout.steps.size(), 1u);
    const LatencyLinear& l = layout.steps[0].linear;
    const auto x = random_input(n_in, 7, 3);
    const auto want = schoolbook(qm.ops[0], x);
    const auto got = layout_in_plaintext(l, S, x);
    for (int i = 0; i < n_out; ++i) EXPECT_TRUE(got[i] == want[i]) << n_in << "x" << n_out << " in " << S << ", output " << i;
    if (l.fold_steps.empty()) {
      for (int i = n_out; i < S; ++i) EXPECT_TRUE(got[i] == 0) << "slot " << i << " beyond the outputs";
    }
    // Baby and giant steps cover every diagonal and are what the layout counts.
    EXPECT_EQ(l.rotations(), l.baby_steps.size() + l.giant_steps.size() + l.fold_steps.size());
    EXPECT_LE(l.groups, l.diagonals.size());
    for (const auto& [d, e] : l.diagonals) EXPECT_LT(d, static_cast<std::uint32_t>(S));
  }
}

TEST(LatencyLayout, HybridLayerFoldsPartialSumsIntoTheOutputs) {
  // dense 256 -> 64 as in seed-cnn: 2 m = 128 diagonals and 2 folds instead of 319 diagonals.
  const QuantizedModel qm = one_linear(256, 64, 12);
  const LatencyLayout layout = plan_latency_layout(qm, 1024).value();
  const LatencyLinear& l = layout.steps[0].linear;
  EXPECT_EQ(l.name, "dense 1 (hybrid)");
  EXPECT_LE(l.diagonals.size(), 128u);  // at most 2 m (a diagonal of zeros is dropped)
  EXPECT_GT(l.diagonals.size(), 64u);
  EXPECT_EQ(l.fold_steps, (std::vector<int>{128, 64}));
  const auto x = random_input(256, 7, 8);
  const auto want = schoolbook(qm.ops[0], x);
  const auto got = layout_in_plaintext(l, 1024, x);
  for (std::size_t i = 0; i < 64; ++i) EXPECT_TRUE(got[i] == want[i]) << i;
  // 10 outputs from 30 inputs: m = 16, n' = 32, not a multiple of the outputs.
  const QuantizedModel q2 = one_linear(30, 10, 13);
  const LatencyLayout l2 = plan_latency_layout(q2, 64).value();
  EXPECT_EQ(l2.steps[0].linear.fold_steps, (std::vector<int>{16}));
  const auto x2 = random_input(30, 7, 9);
  const auto want2 = schoolbook(q2.ops[0], x2);
  const auto got2 = layout_in_plaintext(l2.steps[0].linear, 64, x2);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_TRUE(got2[i] == want2[i]) << i;
  EXPECT_EQ(l2.rotation_steps().size(), distinct_count(l2));
}

TEST(LatencyLayout, FoldsPoolingIntoTheNextLinearOpExactly) {
  // small model: conv · x² · avgpool · flatten · dense -> conv, x², (pool + dense).
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyLayout layout = plan_latency_layout(qm, 128).value();
  ASSERT_EQ(layout.steps.size(), 3u);
  EXPECT_FALSE(layout.steps[0].square);
  EXPECT_TRUE(layout.steps[1].square);
  EXPECT_EQ(layout.steps[2].linear.name, "avgpool2d 3 + dense 5 (hybrid)");
  EXPECT_EQ(layout.steps[2].linear.inputs, 72u);
  EXPECT_EQ(layout.steps[2].linear.outputs, 3u);
  // The plaintext program over the layout gives the integer model's logits.
  const auto x = random_input(qm.input_size, qm.input_levels, 5);
  EXPECT_TRUE(layout.gather.empty());  // the gathered conv, 9 x 36 slots, does not fit 128
  std::vector<std::int64_t> a;
  auto v = layout_in_plaintext(layout.steps[0].linear, 128, layout.upload(x));
  for (std::size_t i = 0; i < layout.steps[0].linear.outputs; ++i) a.push_back(static_cast<std::int64_t>(v[i] * v[i]));
  v = layout_in_plaintext(layout.steps[2].linear, 128, a);
  const auto want = forward_int(qm, x);
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(v[c] == want[c]) << c;
}

TEST(LatencyLayout, GatheredConvolutionLiesOnKPlusCMinusOneDiagonals) {
  // small model's conv: 1 -> 2 channels, 3x3 kernel (K = 9), 6x6 positions (P = 36).
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyLayout layout = plan_latency_layout(qm, 512).value();
  ASSERT_EQ(layout.gather.size(), 9u * 36);
  const LatencyLinear& conv = layout.steps[0].linear;
  EXPECT_EQ(conv.name, "conv2d 1 (gathered input)");
  EXPECT_EQ(conv.inputs, 324u);
  EXPECT_EQ(conv.diagonals.size(), 9u + 2 - 1);
  std::set<std::uint32_t> want_d;  // (k - c) P mod S
  for (int k = 0; k < 9; ++k)
    for (int c = 0; c < 2; ++c) want_d.insert(static_cast<std::uint32_t>(((k - c) * 36 + 512) % 512));
  for (const auto& [d, e] : conv.diagonals) EXPECT_TRUE(want_d.count(d)) << d;
  // Slot k P + p holds the input under kernel offset k = (u, v) at position p = (i, j).
  EXPECT_EQ(layout.gather[0], 0);
  EXPECT_EQ(layout.gather[1 * 36 + 0], 1);
  EXPECT_EQ(layout.gather[4 * 36 + 7], (1 + 1) * 8 + 1 + 1);
  const auto x = random_input(qm.input_size, qm.input_levels, 6);
  const auto want = schoolbook(qm.ops[0], x);
  const auto got = layout_in_plaintext(conv, 512, layout.upload(x));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(got[i] == want[i]) << i;
  // And the whole network still gives the integer model's logits.
  std::vector<std::int64_t> a;
  for (std::size_t i = 0; i < conv.outputs; ++i) a.push_back(static_cast<std::int64_t>(got[i] * got[i]));
  const auto v = layout_in_plaintext(layout.steps[2].linear, 512, a);
  const auto logits = forward_int(qm, x);
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(v[c] == logits[c]) << c;
}

TEST(LatencyLayout, GatheredConvolutionTooWideForARowUsesBothRows) {
  // K P = 9 x 36 = 324 > 256 slots of a row: offsets 0..4 in row 0, 5..8 in row 1.
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyLayout layout = plan_latency_layout(qm, 256).value();
  ASSERT_EQ(layout.gather.size(), 256u + 4 * 36);
  const LatencyLinear& conv = layout.steps[0].linear;
  EXPECT_EQ(conv.name, "conv2d 1 (gathered input over both rows)");
  EXPECT_TRUE(conv.swap_rows);
  EXPECT_TRUE(layout.column_swap());
  EXPECT_EQ(conv.diagonals.size(), 5u + 2 - 1);
  EXPECT_EQ(layout.galois_keys(), layout.rotation_steps().size() + 1);
  EXPECT_EQ(layout.gather[256 + 0], 1 * 8 + 2);  // row 1 starts with offset 5 = (u 1, v 2) at position (0, 0)
  EXPECT_EQ(layout.gather[5 * 36], -1);  // row 0 stops after offset 4
  const auto x = random_input(qm.input_size, qm.input_levels, 16);
  const auto want = schoolbook(qm.ops[0], x);
  const auto got = layout_in_plaintext(conv, 256, layout.upload(x));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(got[i] == want[i]) << i;
}

TEST(LatencyLayout, Rejections) {
  const QuantizedModel qm = one_linear(20, 12, 1);
  EXPECT_EQ(error_of([&] { plan_latency_layout(qm, 16).value(); }),
            "latency layout: dense 1 has 20 inputs and 12 outputs, more than the 16 slots of a row (N = 32)");
  EXPECT_NE(error_of([&] { plan_latency_layout(qm, 48).value(); }).find("48 slots per row is not a power of two"), std::string::npos);
}

TEST(LatencyCompiler, ProvesNoWrapAndPicksARingWhoseRowsHoldTheLayers) {
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyPlan lp = compile_latency(qm, insecure_options()).value();
  EXPECT_GE(lp.plan.log2_t_product, lp.plan.log2_bound + 1);  // 2 bound + 1 <= prod t: nothing wraps
  EXPECT_GE(lp.plan.t.size(), 2u);
  EXPECT_GE(lp.plan.budget_after.back(), 1.0);
  EXPECT_EQ(lp.plan.budget_after.size(), lp.layout.steps.size());
  const std::size_t n = std::size_t{1} << lp.plan.params.front().log_n;
  EXPECT_EQ(lp.layout.row_slots, n / 2);
  EXPECT_GE(n / 2, 72u);  // the folded layer's 72 inputs fit a row
  // The throughput plan of the same model needs less noise budget (no plaintext products of
  // size t/2, no rotations): its ring is never larger.
  const Plan tp = compile(qm, insecure_options()).value();
  EXPECT_LE(tp.params.front().log_n, lp.plan.params.front().log_n);
  EXPECT_NE(lp.summary().find("rotations"), std::string::npos);
}

TEST(LatencyCompiler, KeepsThePlaintextPrimeSizeOfLeastPredictedCost) {
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  CompileOptions o = insecure_options();
  double least = 1e300;
  for (int tb : {30, 24}) {
    o.t_bits = tb;
    const LatencyPlan one = compile_latency(qm, o).value();
    EXPECT_EQ(one.cost, latency_cost(one.layout, one.plan.params.front(), one.plan.t.size()));
    EXPECT_EQ(one.server_bytes, latency_server_bytes(one.layout, one.plan.params.front(), one.plan.t.size()));
    EXPECT_GT(one.server_bytes, 0u);
    least = std::min(least, one.cost);
  }
  o.latency_t_bits = {30, 24};
  EXPECT_EQ(compile_latency(qm, o).value().cost, least);
}

TEST(LatencyCompiler, Rejections) {
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  CompileOptions o = insecure_options();
  o.max_primes = 1;  // the bound needs 2 primes of 30 bits: wrapping would follow, so refuse
  EXPECT_NE(error_of([&] { compile_latency(qm, o).value(); }).find("needs 2 plaintext primes of 30 bits, more than the 1 allowed"),
            std::string::npos);
  o = insecure_options();
  o.max_server_bytes = 1 << 20;
  EXPECT_NE(error_of([&] { compile_latency(qm, o).value(); }).find("MiB (keys for"), std::string::npos);
  EXPECT_NE(error_of([&] { compile_latency(qm, o).value(); }).find("more than the 1 MiB allowed"), std::string::npos);
  QuantizedModel wide = one_linear(3, 2, 1);
  wide.ops[0].inputs = wide.input_size = 40000;
  EXPECT_EQ(error_of([&] { compile_latency(wide, o).value(); }),
            "latency packing: a layer of 40000 values does not fit the 2^15 slots of a row at N = 2^16");
}

TEST(LatencyEncrypted, LinearLayerEqualsTheSchoolbookProduct) {
  const QuantizedModel qm = one_linear(20, 12, 9);
  const LatencyPlan lp = compile_latency(qm, insecure_options()).value();
  ASSERT_EQ(lp.layout.row_slots, 32u);  // 20 + 12 > 32: the negative diagonals wrap around the row
  std::vector<std::vector<std::int64_t>> xs{random_input(20, 7, 1), random_input(20, 7, 2)};
  const LatencyResult r = run_latency(qm, lp, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto want = schoolbook(qm.ops[0], xs[i]);
    for (std::size_t c = 0; c < 12; ++c) EXPECT_TRUE(r.logits[i * 12 + c] == want[c]) << "image " << i << " output " << c;
  }
  EXPECT_GT(r.min_budget_bits, 0);
}

TEST(LatencyEncrypted, SmallModelEqualsTheIntegerModelAndCountsWhatThePlanPredicts) {
  const nn::Model model = testing::small_model();
  const QuantizedModel qm = quantize(model, {8, 8}).value();
  const LatencyPlan lp = compile_latency(qm, insecure_options()).value();
  std::vector<std::vector<std::int64_t>> xs;
  for (std::uint32_t s = 0; s < 3; ++s) xs.push_back(random_input(qm.input_size, qm.input_levels, 40 + s));
  ThreadPool pool(2);
  const LatencyResult r = run_latency(qm, lp, xs, &pool);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto want = forward_int(qm, xs[i]);
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(r.logits[i * 3 + c] == want[c]) << "image " << i << " class " << c;
    EXPECT_EQ(r.predicted[i], argmax(want.data(), 3));
  }
  // Predicted == counted: rotations per image and prime, and one Galois key per distinct step.
  EXPECT_EQ(r.rotations, xs.size() * lp.plan.t.size() * lp.layout.rotations());
  EXPECT_GT(lp.layout.rotations(), 0u);
  EXPECT_EQ(r.galois_keys, lp.layout.galois_keys());
  EXPECT_GT(r.min_budget_bits, 0);
  EXPECT_GT(r.upload_bytes, 0u);
  EXPECT_GT(r.eval_key_bytes, 0u);
}

TEST(LatencyEncrypted, BothRowsGatheredLayerEqualsTheIntegerModel) {
  // N = 512 (S = 256): the small model's gathered conv takes both rows and a column rotation.
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  CompileOptions o = insecure_options();
  o.min_log_n = 9;
  const LatencyPlan lp = compile_latency(qm, o).value();
  ASSERT_EQ(lp.layout.row_slots, 256u);
  ASSERT_TRUE(lp.layout.column_swap());
  std::vector<std::vector<std::int64_t>> xs{random_input(qm.input_size, qm.input_levels, 21), random_input(qm.input_size, qm.input_levels, 22)};
  const LatencyResult r = run_latency(qm, lp, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto want = forward_int(qm, xs[i]);
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(r.logits[i * 3 + c] == want[c]) << "image " << i << " class " << c;
  }
  EXPECT_EQ(r.rotations, xs.size() * lp.plan.t.size() * lp.layout.rotations());
  EXPECT_EQ(r.galois_keys, lp.layout.galois_keys());
  LatencyClient client(lp);
  for (const auto& gk : client.eval_keys().galois) EXPECT_TRUE(gk.has(static_cast<std::uint32_t>(4 * 256 - 1))) << "the row swap's key";
}

TEST(LatencyEncrypted, KeysAreExactlyTheLayoutsRowRotations) {
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyPlan lp = compile_latency(qm, insecure_options()).value();
  LatencyClient client(lp);
  const LatencyEvalKeys keys = client.eval_keys();
  const std::uint32_t two_n = static_cast<std::uint32_t>(4 * lp.layout.row_slots);
  for (const auto& gk : keys.galois) {
    EXPECT_EQ(gk.keys.size(), lp.layout.galois_keys());
    EXPECT_FALSE(gk.has(two_n - 1)) << "no column-swap key: row 1 is never used";
  }
}

TEST(LatencyEncrypted, SessionRunsTheLatencyPackingAndMatchesTheIntegerModel) {
  // run_bfv (hemi eval --scheme bfv --packing latency) on the small model, INSECURE ring.
  const nn::Model model = testing::small_model();
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<float> px(4 * 64);
  for (auto& p : px) p = static_cast<float>((d(rng) / 255.0 - 0.5) / 0.5);
  SessionOptions o;
  o.quant = {8, 8};
  o.compile = insecure_options();
  o.packing = BfvPacking::kLatency;
  o.threads = 2;
  const SessionResult r = run_bfv(model, px.data(), 4, {0, 1, 2, 0}, o);
  EXPECT_EQ(r.packing, BfvPacking::kLatency);
  EXPECT_EQ(r.exact_agreement, 1.0);
  EXPECT_EQ(r.max_logit_error, 0.0);
  EXPECT_EQ(r.predicted, r.plain_predicted);
  const QuantizedModel qm = quantize(model, o.quant).value();
  const LatencyPlan lp = compile_latency(qm, o.compile).value();
  EXPECT_EQ(r.rotations_per_image, lp.plan.t.size() * lp.layout.rotations());
  EXPECT_EQ(r.galois_keys, lp.layout.galois_keys());
  EXPECT_EQ(r.layout, lp.layout.summary());
  EXPECT_GT(r.plaintext_bytes, 0u);
  EXPECT_EQ(r.batches, 0u);
  EXPECT_STREQ(to_string(r.packing), "latency");
}

TEST(LatencyEncrypted, Rejections) {
  const QuantizedModel qm = quantize(testing::small_model(), {8, 8}).value();
  const LatencyPlan lp = compile_latency(qm, insecure_options()).value();
  LatencyClient client(lp);
  EXPECT_EQ(error_of([&] { client.encrypt(std::vector<std::int64_t>(5)); }), "latency client: the image has 5 values, the model takes 64");
  EXPECT_NE(error_of([&] { client.decrypt({}); }).find("latency client: 0 results for 2 plaintext primes"), std::string::npos);
  LatencyEvalKeys keys = client.eval_keys();
  LatencyEvalKeys short_keys = keys;
  short_keys.galois.pop_back();
  EXPECT_NE(error_of([&] { LatencyServer(lp, short_keys); }).find("latency server: 2 relinearization and 1 Galois key sets for a plan of 2 plaintext primes"), std::string::npos);
  const LatencyServer server(lp, keys);
  auto up = client.encrypt(random_input(qm.input_size, qm.input_levels, 1));
  up.pop_back();
  EXPECT_EQ(error_of([&] { server.evaluate(up); }), "latency server: 1 ciphertexts for 2 plaintext primes");
  EXPECT_EQ(error_of([&] { run_latency(qm, lp, {std::vector<std::int64_t>(3)}); }), "run_latency: image 0 has 3 values, the model takes 64");
}

}  // namespace
}  // namespace hemi::quant
