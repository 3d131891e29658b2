#include "hemi/he/compiler.h"

#include <gtest/gtest.h>

#include <bit>
#include <map>
#include <set>

#include "hemi/ckks/params.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "small_models.h"

namespace hemi::he {
namespace {

nn::Model seed_cnn() {
  nn::ArchitectureOptions o;
  o.input = nn::default_input("seed-cnn");
  for (int c = 0; c < 10; ++c) o.class_names.push_back(std::to_string(c));
  return nn::build_architecture("seed-cnn", o).value();
}

TEST(Compiler, SeedCnnThroughputAt128Bits) {
  CompileOptions o;
  o.packing = Packing::kThroughput;
  Plan p = compile(seed_cnn(), o);
  auto params = ckks::Params::create(p.params).value();
  EXPECT_GE(params.security_bits(), 128);
  EXPECT_EQ(p.depth, 5);
  EXPECT_EQ(params.max_level(), 5u);
  EXPECT_EQ(p.input_level, 5);
  EXPECT_EQ(p.layers.back().level_out, 0);
  EXPECT_TRUE(p.rotation_steps.empty());  // no Galois keys at all
  EXPECT_EQ(p.ciphertexts_per_batch, 784u);
  EXPECT_EQ(p.images_per_batch, params.slots());
  EXPECT_EQ(p.total.relinearizations, 256u + 64u);
  EXPECT_EQ(p.total.dot_terms, 256u * 49 + 64u * 256 + 10u * 64);
  EXPECT_EQ(params.n(), 8192u);  // the smallest ring that holds depth 5
  EXPECT_GT(p.predicted_seconds, 0);
}

TEST(Compiler, SeedCnnLatencyListsExactlyTheRotationsItUses) {
  CompileOptions o;
  o.packing = Packing::kLatency;
  Plan p = compile(seed_cnn(), o);
  // The client sends the first convolution's im2col (49 offsets x 64 positions = 3136 values),
  // so activations repeat every 4096 slots; in the hybrid layout the convolution's entries
  // (column - row = (k - o) * 64) fall on 4 diagonals modulo 256 outputs.
  EXPECT_TRUE(p.input_im2col);
  EXPECT_EQ(p.input_values, 3136u);
  EXPECT_EQ(p.period, 4096u);
  EXPECT_EQ(p.layers[0].diagonals, 4);
  EXPECT_FALSE(p.rotation_steps.empty());
  std::size_t from_layers = 0;
  for (auto& l : p.layers) from_layers += static_cast<std::size_t>(l.baby_steps + l.giant_steps);
  EXPECT_LE(p.rotation_steps.size(), from_layers);  // shared steps appear once
  for (int s : p.rotation_steps) {
    EXPECT_GT(s, 0);
    EXPECT_LT(s, 4096);
  }
}

TEST(Compiler, AutoPackingFollowsTheNumberOfImages) {
  CompileOptions o;
  o.images = 10000;
  EXPECT_EQ(compile(seed_cnn(), o).packing, Packing::kThroughput);
  o.images = 1;
  EXPECT_EQ(compile(seed_cnn(), o).packing, Packing::kLatency);
}

TEST(Compiler, LatencyPlansOverTheServerMemoryLimitAreRefused) {
  CompileOptions o;
  o.packing = Packing::kLatency;
  const Plan p = compile(seed_cnn(), o);
  EXPECT_GT(p.server_memory_bytes, std::size_t{100} << 20);
  o.max_server_memory = std::size_t{100} << 20;
  try {
    compile(seed_cnn(), o);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use throughput packing"), std::string::npos) << e.what();
  }
  o.packing.reset();
  o.images = 1;
  // auto falls back to throughput when that fits; seed-cnn's throughput plan holds more (one
  // ciphertext per value), so a limit between the two estimates picks throughput only when
  // throughput is the smaller one.
  CompileOptions t = o;
  t.packing = Packing::kThroughput;
  t.max_throughput_memory = std::size_t{1} << 50;
  const std::size_t throughput_bytes = compile(seed_cnn(), t).server_memory_bytes;
  if (throughput_bytes <= o.max_throughput_memory) {
    EXPECT_EQ(compile(seed_cnn(), o).packing, Packing::kThroughput);
  } else {
    EXPECT_THROW(compile(seed_cnn(), o), Error);  // neither fits: refused, naming both
  }
}

// Throughput plans hold one ciphertext per value: the estimate covers at least the input's,
// a plan over the limit is refused with the reason, and auto takes the packing that fits.
TEST(Compiler, ThroughputPlansOverTheServerMemoryLimitAreRefused) {
  CompileOptions o;
  o.packing = Packing::kThroughput;
  const Plan p = compile(seed_cnn(), o);
  const auto params = ckks::Params::create(p.params).value();
  // The server streams the input ciphertexts into the first convolution, whose outputs (one
  // per value, at one level less) are then all alive.
  const std::size_t conv_out = seed_cnn().shapes()[0].size();
  EXPECT_GE(p.server_memory_bytes, conv_out * 2 * static_cast<std::size_t>(p.depth) * params.n() * 8);
  o.max_throughput_memory = p.server_memory_bytes - 1;
  o.max_server_memory = o.max_throughput_memory;
  try {
    compile(seed_cnn(), o);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("throughput packing would hold about"), std::string::npos) << w;
    EXPECT_NE(w.find("a smaller batch would not help"), std::string::npos) << w;
  }
  CompileOptions l;
  l.packing = Packing::kLatency;
  const std::size_t latency_bytes = compile(seed_cnn(), l).server_memory_bytes;
  o.packing.reset();
  o.images = 10000;  // would pick throughput by time
  if (latency_bytes <= o.max_server_memory) {
    EXPECT_EQ(compile(seed_cnn(), o).packing, Packing::kLatency);
  }
  o.max_server_memory = o.max_throughput_memory = std::size_t{1} << 20;
  try {
    compile(seed_cnn(), o);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no packing fits"), std::string::npos) << e.what();
  }
}

// The case: mri-cnn on 64x64 RGB in throughput packing ran out of memory (over 13 GB);
// the old estimate (whole layers alive) was ~45 GiB and refused. Streamed through every layer
// (throughput_stream.h) it fits the default 8 GiB limit; a lower limit still refuses it.
TEST(Compiler, MriCnnAt64RgbThroughputFitsWhenStreamed) {
  nn::ArchitectureOptions a;
  a.input = nn::default_input("mri-cnn");
  a.input.color = nn::ColorMode::kRgb;
  a.input.height = a.input.width = 64;
  a.input.mean.assign(3, 0.5);
  a.input.std.assign(3, 0.5);
  a.class_names = {"no", "yes"};
  const nn::Model m = nn::build_architecture("mri-cnn", a).value();
  CompileOptions o;
  o.packing = Packing::kThroughput;
  const Plan p = compile(m, o);
  EXPECT_LT(p.server_memory_bytes, CompileOptions{}.max_throughput_memory);
  EXPECT_GT(p.ciphertext_memory_bytes, 0u);
  o.max_throughput_memory = p.server_memory_bytes / 2;
  EXPECT_THROW(compile(m, o), Error);
}

TEST(Compiler, RefusesParametersWithoutEnoughLevels) {
  CompileOptions o;
  o.packing = Packing::kThroughput;
  o.params = testing::insecure_params(3);
  EXPECT_THROW(compile(seed_cnn(), o), Error);
}

TEST(Plan, JsonRoundTripAndRejections) {
  CompileOptions o;
  o.packing = Packing::kLatency;
  Plan p = compile(seed_cnn(), o);
  Plan q = Plan::from_json(p.to_json());
  EXPECT_EQ(q.to_json(), p.to_json());
  EXPECT_NE(p.describe().find("latency packing"), std::string::npos);
  EXPECT_THROW(Plan::from_json("{"), Error);
  EXPECT_THROW(Plan::from_json("{\"format\": \"other\"}"), Error);
  std::string later = p.to_json();
  const std::string now = "\"version\": " + std::to_string(kPlanVersion);
  later.replace(later.find(now), now.size(), "\"version\": " + std::to_string(kPlanVersion + 1));
  EXPECT_THROW(Plan::from_json(later), Error);
  // A float where an integer belongs (found by fuzzing: converting 6e73 was undefined
  // behaviour inside the JSON library) and integers out of range are refused by name.
  std::string floaty = p.to_json();
  floaty.replace(floaty.find("\"rescales\": "), 12, "\"rescales\": 6e73, \"x\": ");
  try {
    Plan::from_json(floaty);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rescales must be an integer"), std::string::npos) << e.what();
  }
  std::string huge = p.to_json();
  huge.replace(huge.find("\"classes\": 10"), 14, "\"classes\": 99999999999");
  EXPECT_THROW(Plan::from_json(huge), Error);
  std::string insecure = p.to_json();
  insecure.replace(insecure.find("\"log_n\": 13"), 11, "\"log_n\": 11");
  EXPECT_THROW(Plan::from_json(insecure), Error);  // refused parameters
}

TEST(Linear, ConvMatrixMatchesTheInterpreter) {
  std::mt19937_64 rng(9);
  auto c = testing::conv(3, 3, 3, 2, 1, rng);
  auto m = testing::make_model(3, 5, 5, {c, nn::Flatten{}}, 27);
  SparseMatrix sm = linear_matrix(m.layers()[0], m.input_shape());
  std::vector<double> x(75);
  for (auto& v : x) v = std::uniform_real_distribution<double>(-1, 1)(rng);
  auto want = nn::forward_trace(m, x.data())[0];
  ASSERT_EQ(sm.rows, want.size());
  for (std::size_t r = 0; r < sm.rows; ++r) {
    double y = sm.bias[r];
    for (std::size_t t = 0; t < sm.index[r].size(); ++t) y += sm.weight[r][t] * x[sm.index[r][t]];
    EXPECT_NEAR(y, want[r], 1e-12) << r;
  }
}

TEST(Linear, Im2colMatrixOnTheGatheredInputEqualsTheConvolution) {
  std::mt19937_64 rng(10);
  auto c = testing::conv(3, 2, 3, 2, 1, rng);
  auto m = testing::make_model(3, 7, 6, {c, nn::Flatten{}}, 2 * 4 * 3);
  auto ic = im2col_first_layer(m, 1 << 20);
  ASSERT_TRUE(ic.has_value());
  EXPECT_FALSE(im2col_first_layer(m, 10).has_value());  // too large for 10 values
  std::vector<double> x(m.input_shape().size());
  for (auto& v : x) v = std::uniform_real_distribution<double>(-1, 1)(rng);
  auto want = nn::forward_trace(m, x.data())[0];
  ASSERT_EQ(ic->matrix.rows, want.size());
  std::set<std::size_t> diagonals;
  for (std::size_t r = 0; r < ic->matrix.rows; ++r) {
    double y = ic->matrix.bias[r];
    for (std::size_t t = 0; t < ic->matrix.index[r].size(); ++t) {
      const std::int64_t g = ic->gather[ic->matrix.index[r][t]];
      ASSERT_GE(g, 0);
      y += ic->matrix.weight[r][t] * x[static_cast<std::size_t>(g)];
      diagonals.insert((ic->matrix.index[r][t] + 4096 - r) % 4096);
    }
    EXPECT_NEAR(y, want[r], 1e-12) << r;
  }
  EXPECT_LE(diagonals.size(), 27u + 2u - 1u);  // K + out_channels - 1
}

// Runs a layout's algorithm on plaintext slot vectors (rotation = cyclic shift) and compares
// with the matrix-vector product: an oracle for the layouts without any encryption.
std::vector<double> simulate(const SparseMatrix& m, const DiagonalLayout& d, std::vector<double> x) {
  const std::size_t slots = x.size(), dp = d.diagonal_period();
  auto rot = [&](const std::vector<double>& v, long long s) {
    std::vector<double> r(slots);
    for (std::size_t j = 0; j < slots; ++j) r[j] = v[(j + static_cast<std::size_t>((s % static_cast<long long>(slots) + static_cast<long long>(slots)))) % slots];
    return r;
  };
  for (int s : d.replicate_steps) {
    auto r = rot(x, s);
    for (std::size_t j = 0; j < slots; ++j) x[j] += r[j];
  }
  std::map<int, std::vector<double>> diag;
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t t = 0; t < m.index[r].size(); ++t) {
      auto [i, j] = d.place(r, m.index[r][t]);
      auto& v = diag[i];
      if (v.empty()) v.assign(dp, 0.0);
      v[j] = m.weight[r][t];
    }
  std::vector<double> acc(slots, 0.0);
  for (auto& [i, v] : diag) {
    auto xr = rot(x, i);
    for (std::size_t j = 0; j < slots; ++j) acc[j] += v[j % dp] * xr[j];
  }
  for (int s : d.fold_steps) {
    auto r = rot(acc, s);
    for (std::size_t j = 0; j < slots; ++j) acc[j] += r[j];
  }
  return acc;
}

TEST(Layouts, SquareAndHybridComputeTheMatrixProduct) {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> u(-1, 1);
  const std::size_t period = 256, slots = 512;
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{10, 64}, {64, 200}, {30, 30}, {5, 256}}) {
    SparseMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.index.resize(rows);
    m.weight.resize(rows);
    m.bias.assign(rows, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c)
        if (rng() % 3 == 0) {
          m.index[r].push_back(static_cast<std::uint32_t>(c));
          m.weight[r].push_back(u(rng));
        }
    std::vector<double> base(period, 0.0), x(slots);  // period-periodic, zero beyond the values
    for (std::size_t c = 0; c < cols; ++c) base[c] = u(rng);
    for (std::size_t j = 0; j < slots; ++j) x[j] = base[j % period];
    std::vector<std::optional<DiagonalLayout>> layouts = {diagonal_layout(m, period), hybrid_layout(m, period, period)};
    EXPECT_EQ(layouts[1].has_value(), rows < cols && std::bit_ceil(rows) < std::bit_ceil(cols));
    for (auto& d : layouts) {
      if (!d) continue;
      auto y = simulate(m, *d, x);
      for (std::size_t r = 0; r < rows; ++r) {
        double want = 0;
        for (std::size_t t = 0; t < m.index[r].size(); ++t) want += m.weight[r][t] * x[m.index[r][t]];
        ASSERT_NEAR(y[r], want, 1e-9) << rows << "x" << cols << (d->hybrid ? " hybrid" : " square") << " row " << r;
      }
    }
  }
}

TEST(Compiler, SeedCnnLatencyChainsHybridLayouts) {
  CompileOptions o;
  o.packing = Packing::kLatency;
  Plan p = compile(seed_cnn(), o);
  // conv (on the im2col input) 256 outputs, dense 256 -> 64, dense 64 -> 10: each hybrid, and
  // each output already repeats with the next layer's input period, so nothing is replicated.
  EXPECT_TRUE(p.layers[0].hybrid);
  EXPECT_EQ(p.layers[0].input_period, 4096u);
  EXPECT_TRUE(p.layers[3].hybrid);
  EXPECT_EQ(p.layers[3].input_period, 256u);
  EXPECT_TRUE(p.layers[5].hybrid);
  EXPECT_EQ(p.layers[5].input_period, 64u);
  EXPECT_LE(p.total.rotations, 30u);
}

TEST(Layouts, HybridOutputRepeatsWithItsOutputPeriod) {
  // A hybrid layer's output repeats every pow2(rows) slots with zeros beyond the rows, which
  // is what lets the next hybrid layer skip its replication.
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> u(-1, 1);
  SparseMatrix m;
  m.rows = 6;
  m.cols = 40;
  m.index.resize(m.rows);
  m.weight.resize(m.rows);
  m.bias.assign(m.rows, 0.0);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::uint32_t c = 0; c < m.cols; ++c) {
      m.index[r].push_back(c);
      m.weight[r].push_back(u(rng));
    }
  for (std::size_t input_period : {64u, 256u}) {
    auto d = hybrid_layout(m, 256, input_period);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->replicate_steps.size(), input_period == 64 ? 0u : 2u);
    std::vector<double> base(input_period, 0.0), x(512);
    for (std::size_t c = 0; c < m.cols; ++c) base[c] = u(rng);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = base[j % input_period];
    auto y = simulate(m, *d, x);
    for (std::size_t j = 0; j < y.size(); ++j) {
      const std::size_t r = j % 8;
      double want = 0;
      if (r < m.rows)
        for (std::size_t t = 0; t < m.cols; ++t) want += m.weight[r][t] * base[t];
      ASSERT_NEAR(y[j], want, 1e-9) << "slot " << j << " input period " << input_period;
    }
  }
  EXPECT_FALSE(hybrid_layout(m, 256, 32).has_value());  // 40 columns need a period of 64
}

}  // namespace
}  // namespace hemi::he
