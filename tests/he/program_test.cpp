// The lowered program (program.h): the plan's per-layer levels, scales, rotation steps,
// operations and plaintexts equal what the server does, for every layer type in both packings
// and both latency layouts (diagonal, channel-packed); every rejection of Plan::create's
// program checks, of the JSON form and of PreparedModel's program-versus-model checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "hemi/he/compiler.h"
#include "hemi/he/multiplexed_layout.h"
#include "hemi/he/roles.h"
#include "hemi/he/throughput_stream.h"
#include "small_models.h"

namespace hemi::he {
namespace {

using testing::conv;
using testing::dense;
using testing::make_model;

nn::Polynomial poly(std::vector<double> c) {
  nn::Polynomial p;
  p.coefficients = std::move(c);
  return p;
}

// Every layer type: a strided and a padded convolution, average pooling, flatten, dense
// (square and hybrid diagonal layouts), x^2, polynomials with and without a constant term.
nn::Model every_layer_model() {
  std::mt19937_64 rng(5);
  return make_model(1, 8, 8,
                    {conv(1, 2, 3, 1, 1, rng), nn::Square{}, nn::AvgPool2d{2, 2, 2, 2}, conv(2, 3, 3, 1, 1, rng),
                     poly({0.1, 0.5, 0.25, 0.05}), nn::Flatten{}, dense(48, 8, rng), nn::Square{}, dense(8, 3, rng)},
                    3);
}
nn::Model strided_model() {
  std::mt19937_64 rng(6);
  return make_model(1, 6, 6,
                    {conv(1, 2, 3, 2, 0, rng), poly({0, 0.5, 0.25}), nn::Flatten{}, dense(8, 4, rng), nn::Square{},
                     dense(4, 2, rng)},
                    2);
}

enum class Path { kThroughput, kDiagonal, kMultiplexed };
const char* path_name(Path p) {
  return p == Path::kThroughput ? "throughput" : p == Path::kDiagonal ? "diagonal" : "multiplexed";
}

// fold: quadratic activations folded into their neighbours (the default; nn/activation_fold.h).
Plan compile_for(const nn::Model& m, Path path, bool fold = true) {
  CompileOptions o;
  o.fold_activations = fold;
  o.params = testing::insecure_params(11);
  o.packing = path == Path::kThroughput ? Packing::kThroughput : Packing::kLatency;
  o.latency_layout = path == Path::kMultiplexed ? CompileOptions::LatencyLayout::kMultiplexed
                                                : CompileOptions::LatencyLayout::kDiagonal;
  o.plaintext_cache_bytes = 0;  // channel-packed: every plaintext encoded while running
  return compile(m, o);
}

std::vector<float> image_values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
  return v;
}

void expect_ops(const OpCounts& want, const OpCounts& got, const std::string& where) {
  EXPECT_EQ(to_string(want), to_string(got)) << where;
}

class Predicted : public ::testing::TestWithParam<std::tuple<Path, int>> {};

TEST_P(Predicted, PlanEqualsWhatTheServerDoes) {
  const auto [path, which] = GetParam();
  // 1: the quadratic polynomial kept; 2: folded (a square, or c0 + x^2, and rescaled weights)
  const nn::Model model = which == 0 ? every_layer_model() : strided_model();
  const Plan plan = compile_for(model, path, which != 1);
  ASSERT_EQ(plan.layers.size(), model.layers().size());
  Client client(plan, Seed{3});
  auto prepared = std::make_shared<const PreparedModel>(plan, model);
  Server server(prepared, client.eval_keys());
  const std::vector<float> img = image_values(model.input_shape().size());
  const LayerPlan& last = plan.layers.back();
  if (path == Path::kThroughput) {
    StreamStats stats;
    auto out = server.evaluate_batch(
        [&](std::size_t k) {
          return ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value({img.data()}, k));
        },
        &stats);
    ASSERT_EQ(stats.layer_ops.size(), plan.layers.size());
    for (std::size_t i = 0; i < plan.layers.size(); ++i)
      expect_ops(plan.layers[i].ops, stats.layer_ops[i], "layer " + std::to_string(i) + " " + plan.layers[i].kind);
    for (auto& ct : out) {
      EXPECT_EQ(static_cast<int>(ct.level), last.level_out);
      EXPECT_NEAR(std::log2(ct.scale), last.log2_scale_out, 1e-9);
    }
    return;
  }
  auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(img.data()));
  std::vector<LayerTrace> trace;
  server.evaluate_image(ct, &trace);
  ASSERT_EQ(trace.size(), plan.layers.size());
  OpCounts total;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerPlan& l = plan.layers[i];
    const std::string where = std::string(path_name(path)) + " layer " + std::to_string(i) + " " + l.kind;
    expect_ops(l.ops, trace[i].ops, where);
    total += trace[i].ops;
    EXPECT_EQ(l.level_out, trace[i].level_out) << where;
    EXPECT_NEAR(l.log2_scale_out, trace[i].log2_scale_out, 1e-9) << where;
    if (path == Path::kDiagonal) {
      EXPECT_EQ(l.rotation_steps, trace[i].rotation_steps) << where;
      EXPECT_EQ(l.plaintexts, prepared->plaintexts(i)) << where;
    }
  }
  expect_ops(plan.total, total, "total");
  EXPECT_EQ(trace.back().level_out, last.level_out);
  EXPECT_NEAR(trace.back().log2_scale_out, last.log2_scale_out, 1e-9);
  if (path == Path::kDiagonal) {
    // Both layouts are exercised (the first model chains two hybrid layers, then square ones).
    bool hybrid = false, square_layout = false;
    for (auto& l : plan.layers)
      if (l.layout) (l.layout->hybrid ? hybrid : square_layout) = true;
    EXPECT_TRUE(hybrid);
    if (which == 0) EXPECT_TRUE(square_layout);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPath, Predicted,
                         ::testing::Combine(::testing::Values(Path::kThroughput, Path::kDiagonal, Path::kMultiplexed),
                                            ::testing::Values(0, 1, 2)),
                         [](const auto& info) {
                           return std::string(path_name(std::get<0>(info.param))) + "_model" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(Program, RoundTripsThroughJsonInEveryPath) {
  for (Path path : {Path::kThroughput, Path::kDiagonal, Path::kMultiplexed}) {
    const Plan p = compile_for(every_layer_model(), path);
    const Plan q = Plan::from_json(p.to_json());
    EXPECT_EQ(q.to_json(), p.to_json()) << path_name(path);
    ASSERT_EQ(q.layers.size(), p.layers.size());
    for (std::size_t i = 0; i < p.layers.size(); ++i) {
      EXPECT_EQ(q.layers[i].layout, p.layers[i].layout);
      EXPECT_EQ(q.layers[i].rotation_steps, p.layers[i].rotation_steps);
      EXPECT_EQ(q.layers[i].plaintexts, p.layers[i].plaintexts);
      EXPECT_EQ(q.layers[i].mux, p.layers[i].mux);
      EXPECT_EQ(q.layers[i].stream_rows, p.layers[i].stream_rows);
      EXPECT_EQ(p.layers[i].mux.has_value(), path == Path::kMultiplexed && p.layers[i].kind != "flatten" &&
                                                 !(p.layers[i].kind == "avgpool2d" && p.layers[i].level_out == p.layers[i].level_in));
    }
  }
}

// The reason Plan::create gives for a plan changed by `edit`; "" if it is accepted.
std::string refusal(const Plan& base, const std::function<void(Plan&)>& edit) {
  Plan p = base;
  edit(p);
  auto made = Plan::create(std::move(p));
  return made ? std::string() : made.error();
}

// The index of the first layer of `kind` with a diagonal layout (hybrid or not).
std::size_t layer_with(const Plan& p, bool hybrid) {
  for (std::size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].layout && p.layers[i].layout->hybrid == hybrid) return i;
  ADD_FAILURE() << "no such layer";
  return 0;
}

// After changing a step's layout: the step's summary, the plan's total and keys recounted.
void relayout(Plan& p, std::size_t i, const DiagonalLayout& d) {
  assign_layout(p.layers[i], d, std::size_t{1} << (p.params.log_n - 1));
  ProgramCount c = count_program(p.layers, std::size_t{1} << p.params.log_n);
  p.total = c.total;
  p.rotation_steps = c.rotation_steps;
}

TEST(Program, CreateRefusesEachInconsistency) {
  const Plan p = compile_for(every_layer_model(), Path::kDiagonal);
  ASSERT_EQ(refusal(p, [](Plan&) {}), "");
  const std::size_t sq = layer_with(p, false), hy = layer_with(p, true);
  struct Case {
    const char* want;
    std::function<void(Plan&)> edit;
  };
  const std::vector<Case> cases = {
      {"a program without layers", [](Plan& q) { q.layers.clear(); }},
      {"unknown layer kind", [](Plan& q) { q.layers[1].kind = "relu"; }},
      {"the step before ends at", [](Plan& q) { q.layers[2].level_in -= 1; }},
      {"goes from level", [](Plan& q) { q.layers.back().level_out = q.layers.back().level_in; }},
      {"not a usable scale", [](Plan& q) { q.layers[0].log2_scale_out = std::nan(""); }},
      {"rotation steps not ascending", [sq](Plan& q) { std::swap(q.layers[sq].rotation_steps.front(), q.layers[sq].rotation_steps.back()); }},
      {"rotation steps not ascending", [](Plan& q) { q.layers[1].rotation_steps = {0}; }},
      {"without its diagonal layout", [sq](Plan& q) { q.layers[sq].layout.reset(); }},
      {"a diagonal layout on a layer that has none", [sq](Plan& q) { q.layers[1].layout = q.layers[sq].layout; }},
      {"no diagonal with a non-zero weight", [sq](Plan& q) { q.layers[sq].layout->diagonals.clear(); }},
      {"diagonals not ascending", [sq](Plan& q) {
         auto& d = q.layers[sq].layout->diagonals;
         d.push_back(d.front());
       }},
      {"is outside 0..", [sq](Plan& q) { q.layers[sq].layout->diagonals.back() = static_cast<int>(q.period); }},
      {"giant stride", [sq](Plan& q) { q.layers[sq].layout->giant_stride = 3; }},
      {"baby/giant split", [sq](Plan& q) { q.layers[sq].layout->baby.push_back(q.layers[sq].layout->giant_stride); }},
      {"a square layout with hybrid periods", [sq](Plan& q) { q.layers[sq].layout->fold_steps = {1}; }},
      {"hybrid periods", [hy](Plan& q) { q.layers[hy].layout->out_period = q.layers[hy].layout->in_period; }},
      {"folding steps", [hy](Plan& q) { q.layers[hy].layout->fold_steps.push_back(1); }},
      {"replication steps", [hy](Plan& q) { q.layers[hy].layout->replicate_steps.push_back(-1); }},
      {"folding steps in a period", [hy](Plan& q) { q.layers[hy].layout->replicate_steps.assign(100, -1); }},
      {"a layout of period", [sq](Plan& q) {
         DiagonalLayout d = *q.layers[sq].layout;
         d.period *= 2;
         relayout(q, sq, d);
       }},
      {"rotation steps that are not its layout's", [sq](Plan& q) { q.layers[sq].rotation_steps.pop_back(); }},
      {"operation counts", [sq](Plan& q) { q.layers[sq].ops.additions += 1; }},
      {"a summary", [sq](Plan& q) { q.layers[sq].plaintexts += 1; }},
      {"consumes", [](Plan& q) { q.depth -= 1; }},
      {"not the plan's total", [](Plan& q) { q.total.rotations += 1; }},
      {"it rotates by", [](Plan& q) { q.rotation_steps.pop_back(); }},
  };
  for (const Case& c : cases) {
    const std::string why = refusal(p, c.edit);
    EXPECT_NE(why.find(c.want), std::string::npos) << "want '" << c.want << "', got '" << why << "'";
  }
  // A hybrid layout for an input that does not repeat the way the step before leaves it: a
  // hybrid layer after another, replicating once more than it needs.
  std::size_t second = 0;
  for (std::size_t i = hy + 1; i < p.layers.size() && !second; ++i)
    if (p.layers[i].layout) second = i;
  ASSERT_TRUE(p.layers[second].layout->hybrid);
  const std::string why = refusal(p, [second](Plan& q) {
    DiagonalLayout d = *q.layers[second].layout;
    d.replicate_steps.push_back(-static_cast<int>(d.in_period << d.replicate_steps.size()));
    relayout(q, second, d);
  });
  EXPECT_NE(why.find("a hybrid layout for an input repeating every"), std::string::npos) << why;
  // Throughput packing: no rotation steps, layouts or plaintexts; a row order per linear layer.
  const Plan t = compile_for(every_layer_model(), Path::kThroughput);
  EXPECT_NE(refusal(t, [](Plan& q) { q.layers[0].plaintexts = 1; }).find("in throughput packing"), std::string::npos);
  EXPECT_NE(refusal(t, [](Plan& q) { q.layers[0].stream_rows.clear(); }).find("a linear layer without its stream row order"),
            std::string::npos);
  EXPECT_NE(refusal(t, [](Plan& q) { q.layers[1].stream_rows = {0}; }).find("a stream row order on a layer that has none"),
            std::string::npos);
  EXPECT_NE(refusal(p, [](Plan& q) { q.layers[0].stream_rows = {0}; }).find("a stream row order on a layer that has none"),
            std::string::npos);
  EXPECT_NE(refusal(t, [](Plan& q) { q.layers[0].stream_rows[1] = q.layers[0].stream_rows[0]; }).find("not a permutation"),
            std::string::npos);
  EXPECT_NE(refusal(t, [](Plan& q) { q.layers[0].stream_rows[0] = static_cast<std::uint32_t>(q.layers[0].stream_rows.size()); })
                .find("not a permutation"),
            std::string::npos);
}

TEST(Program, JsonRefusesOldAndMalformedPrograms) {
  const Plan p = compile_for(every_layer_model(), Path::kDiagonal);
  auto refused = [](std::string text, const std::string& want) {
    try {
      Plan::from_json(text);
      ADD_FAILURE() << "accepted; wanted a refusal naming '" << want << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  std::string v1 = p.to_json();
  v1.replace(v1.find("\"version\": 3"), 12, "\"version\": 1");
  refused(v1, "no lowered program");
  std::string v2 = p.to_json();
  v2.replace(v2.find("\"version\": 3"), 12, "\"version\": 2");
  refused(v2, "no channel-packed program steps");
  std::string no_steps = p.to_json();
  no_steps.replace(no_steps.find("\"rotation_steps\": ["), 16, "\"rotation_stepz\"");
  refused(no_steps, "malformed JSON");
  std::string bad_layout = p.to_json();
  bad_layout.replace(bad_layout.find("\"giant_stride\": "), 16, "\"giant_stride\": 1.5, \"y\": ");
  refused(bad_layout, "giant_stride must be an integer");
  std::string changed = p.to_json();
  changed.replace(changed.find("\"plaintexts\": "), 14, "\"plaintexts\": 1000, \"z\": ");
  refused(changed, "lowered program");
  // A channel-packed plan: a tampered step is refused with the reason when it is loaded.
  const Plan m = compile_for(every_layer_model(), Path::kMultiplexed);
  const std::string text = m.to_json();
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const std::size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? t : t.replace(at, from.size(), to);
  };
  ASSERT_NE(text.find("\"terms\": [\n"), std::string::npos);
  refused(edited("\"terms\": [\n", "\"terms\": [\n 99,\n 0,\n 0,\n 0,\n"), "product 0 (99, 0, 0, 0) outside its ciphertexts");
  refused(edited("\"terms\": [\n", "\"terms\": [\n 0,\n"), "4 per term expected");
  refused(edited("\"kind\": \"linear\"", "\"kind\": \"cube\""), "unknown mux kind 'cube'");
  refused(edited("\"weights\": \"conv\"", "\"weights\": \"fft\""), "unknown mux weights 'fft'");
  refused(edited("\"pooled\": [", "\"pooled\": [1, "), "pooled needs 4 numbers");
  refused(edited("\"mux\": {", "\"mux\": {\"gap\": 1, \"x\": {"), "malformed JSON");
}

// After changing a channel-packed step's op: the step's steps, counts and summary, the plan's
// total and keys recounted.
void remux(Plan& p, std::size_t i) {
  LayerPlan& l = p.layers[i];
  const std::size_t slots = std::size_t{1} << (p.params.log_n - 1);
  l.rotation_steps = l.mux->rotation_steps(slots, p.mux_block);
  if (l.mux->kind != MuxOp::kPolynomial) l.ops = mux_op_counts(*l.mux);
  if (l.mux->kind == MuxOp::kLinear) {
    l.plaintexts = l.ops.encodes;
    l.diagonals = static_cast<int>(l.mux->terms.size());
  }
  ProgramCount c = count_program(p.layers, 2 * slots);
  p.total = c.total;
  p.rotation_steps = c.rotation_steps;
}

TEST(Program, CreateRefusesEachChannelPackedInconsistency) {
  // every_layer_model: 0 conv, 1 square, 2 pooling (fused into 3), 3 conv, 4 polynomial,
  // 5 flatten, 6 dense, 7 square, 8 dense.
  const Plan p = compile_for(every_layer_model(), Path::kMultiplexed, false);
  ASSERT_EQ(refusal(p, [](Plan&) {}), "");
  ASSERT_TRUE(p.layers[0].mux && p.layers[1].mux && !p.layers[2].mux && p.layers[3].mux && !p.layers[5].mux);
  ASSERT_EQ(p.layers[3].mux->pool_steps.size(), 3u);
  ASSERT_GE(p.layers[0].mux->terms.size(), 2u);
  const int slots = 1 << (p.params.log_n - 1);
  struct Case {
    const char* want;
    std::function<void(Plan&)> edit;
  };
  const std::vector<Case> cases = {
      {"a step without its channel-packed op", [](Plan& q) { q.layers[1].mux.reset(); }},
      {"a channel-packed op on a layer that has none", [](Plan& q) { q.layers[5].mux = q.layers[1].mux; }},
      {"an op of another kind, layer or level", [](Plan& q) { q.layers[1].mux->layer = 2; }},
      {"an op of another kind, layer or level", [](Plan& q) { q.layers[1].mux->kind = MuxOp::kPolynomial; }},
      {"an op of another kind, layer or level", [](Plan& q) { q.layers[0].mux->weights = MuxOp::kDenseSum; }},
      {"an op of another kind, layer or level", [](Plan& q) { q.layers[0].mux->level_in -= 1; }},
      {"the step before leaves", [](Plan& q) { q.layers[3].mux->in.channels += 1; }},
      {"the step before leaves", [](Plan& q) { q.layers[1].mux->replicated_in = true; }},
      {"has an extent outside", [](Plan& q) { q.layers[0].mux->out.channels = 0; }},
      {"has an extent outside", [](Plan& q) { q.layers[0].mux->out.gap = 1 << 30; }},
      {"does not fit a block", [](Plan& q) { q.layers[0].mux->out.width = 9; }},
      {"does not fit a block", [](Plan& q) { q.layers[3].mux->pooled.height = 9; }},
      {"steps outside", [slots](Plan& q) { q.layers[0].mux->offsets[0] = slots; }},
      {"steps outside", [slots](Plan& q) { q.layers[3].mux->pool_steps[0] = -slots; }},
      {"weight factor", [](Plan& q) { q.layers[3].mux->weight_factor = 2; }},
      {"on an op without products", [](Plan& q) { q.layers[1].mux->has_bias = true; }},
      {"an element-wise op that changes", [](Plan& q) { q.layers[1].mux->out_cts = 2; }},
      {"pools without a pooling layer", [](Plan& q) { q.layers[0].mux->weight_factor = 0.5; }},
      {"a fused pooling that changes the channels", [](Plan& q) { q.layers[3].mux->pooled.channels += 1; }},
      {"output ciphertexts for", [](Plan& q) { q.layers[0].mux->out_cts = 2; }},
      {"offsets (1..", [](Plan& q) { q.layers[0].mux->offsets.clear(); }},
      {"sum steps without the rotate-and-sum dense form", [](Plan& q) { q.layers[0].mux->sum_steps = {1}; }},
      {"a dense op with a", [](Plan& q) { q.layers[6].mux->out.height = 2; }},
      {"outside its ciphertexts, blocks or offsets", [](Plan& q) { q.layers[0].mux->terms[0].r = 1 << 20; }},
      {"outside its ciphertexts, blocks or offsets", [](Plan& q) { q.layers[0].mux->terms[0].offset = -1; }},
      {"products not ascending", [](Plan& q) { std::swap(q.layers[0].mux->terms[0], q.layers[0].mux->terms[1]); }},
      {"products not ascending", [](Plan& q) { q.layers[0].mux->terms[1] = q.layers[0].mux->terms[0]; }},
      {"an output ciphertext without products", [](Plan& q) { q.layers[0].mux->terms.clear(); }},
      {"rotation steps that are not its op's", [](Plan& q) { q.layers[0].rotation_steps.pop_back(); }},
      {"operation counts", [](Plan& q) { q.layers[1].ops.additions += 1; }},
      {"operation counts", [](Plan& q) { q.layers[3].ops.rotations += 1; }},
      {"a summary (plaintexts, products)", [](Plan& q) { q.layers[0].plaintexts += 1; }},
      {"a summary (plaintexts, products)", [](Plan& q) { q.layers[1].diagonals = 1; }},
      {"not one value per class", [](Plan& q) { q.classes = 2; }},
  };
  for (const Case& c : cases) {
    const std::string why = refusal(p, c.edit);
    EXPECT_NE(why.find(c.want), std::string::npos) << "want '" << c.want << "', got '" << why << "'";
  }
  // A standalone pooling turned into a fused one (no op, no level; the levels after it move up
  // by one): fused into a second pooling, into an element-wise op, or into nothing at the end.
  auto fuse = [](Plan& q, std::size_t i) {
    LayerPlan& l = q.layers[i];
    l.mux.reset();
    l.ops = {};
    l.rotation_steps.clear();
    l.level_out = l.level_in;
    for (std::size_t j = i + 1; j < q.layers.size(); ++j) {
      q.layers[j].level_in += 1;
      q.layers[j].level_out += 1;
      if (q.layers[j].mux) q.layers[j].mux->level_in += 1;
    }
    q.depth -= 1;
    ProgramCount c = count_program(q.layers, std::size_t{1} << q.params.log_n);
    q.total = c.total;
    q.rotation_steps = c.rotation_steps;
  };
  std::mt19937_64 rng(12);
  struct Fused {
    nn::Model model;
    std::size_t pool;
    const char* want;
  };
  const std::vector<Fused> fused = {
      {make_model(1, 8, 8, {conv(1, 2, 3, 1, 1, rng), nn::AvgPool2d{}, nn::AvgPool2d{}, nn::Flatten{}, dense(8, 2, rng)}, 2), 1,
       "a second pooling fused into the same layer"},
      {make_model(1, 8, 8, {conv(1, 2, 3, 1, 1, rng), nn::AvgPool2d{}, nn::Square{}, nn::Flatten{}, dense(32, 2, rng)}, 2), 1,
       "a fused pooling before a layer without products"},
      {make_model(1, 4, 4, {conv(1, 2, 3, 1, 1, rng), nn::AvgPool2d{4, 4, 4, 4}, nn::Flatten{}}, 2), 1,
       "a pooling fused into no layer at the end"},
  };
  for (const Fused& f : fused) {
    const Plan q = compile_for(f.model, Path::kMultiplexed);
    ASSERT_TRUE(q.layers[f.pool].mux && q.layers[f.pool].mux->kind == MuxOp::kPoolOnly) << f.want;
    const std::string why = refusal(q, [&](Plan& x) { fuse(x, f.pool); });
    EXPECT_NE(why.find(f.want), std::string::npos) << "want '" << f.want << "', got '" << why << "'";
  }
  // Outside the channel-packed layout, no op of its kind.
  const Plan d = compile_for(every_layer_model(), Path::kDiagonal);
  EXPECT_NE(refusal(d, [&p](Plan& q) { q.layers[1].mux = p.layers[1].mux; }).find("outside the channel-packed layout"),
            std::string::npos);
}

// A server checks the program against the model it is given.
std::string prepare_refusal(const nn::Model& model, const Plan& base, const std::function<void(Plan&)>& edit) {
  Plan p = base;
  edit(p);
  auto made = Plan::create(std::move(p));
  if (!made) return "create: " + made.error();
  try {
    PreparedModel pm(std::move(made).value(), model);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Program, ServerRefusesAProgramThatDoesNotFitTheModel) {
  const nn::Model m = every_layer_model();
  const Plan p = compile_for(m, Path::kDiagonal);
  ASSERT_EQ(prepare_refusal(m, p, [](Plan&) {}), "");
  const std::size_t sq = layer_with(p, false);
  auto expect = [&](const std::string& want, const std::function<void(Plan&)>& edit, const nn::Model& model, const Plan& base) {
    const std::string why = prepare_refusal(model, base, edit);
    EXPECT_NE(why.find(want), std::string::npos) << "want '" << want << "', got '" << why << "'";
  };
  expect("layers, the model", [](Plan& q) { q.layers.erase(q.layers.begin() + 5); }, m, p);  // the flatten
  expect("the model's is square", [](Plan& q) { q.layers[1].kind = "polynomial"; }, m, p);
  expect("bias does not match", [sq](Plan& q) {
    DiagonalLayout d = *q.layers[sq].layout;
    d.bias = !d.bias;
    relayout(q, sq, d);
  }, m, p);
  expect("does not list", [sq](Plan& q) {
    DiagonalLayout d = *q.layers[sq].layout;
    d.diagonals.pop_back();
    d.baby.clear();
    d.giant.clear();
    std::set<int> b, g;
    for (int i : d.diagonals) b.insert(i % d.giant_stride), g.insert(i / d.giant_stride);
    d.baby.assign(b.begin(), b.end());
    d.giant.assign(g.begin(), g.end());
    relayout(q, sq, d);
  }, m, p);
  expect("the model's weights fill", [sq](Plan& q) {
    DiagonalLayout d = *q.layers[sq].layout;
    int extra = 0;
    while (std::binary_search(d.diagonals.begin(), d.diagonals.end(), extra)) ++extra;
    d.diagonals.insert(std::lower_bound(d.diagonals.begin(), d.diagonals.end(), extra), extra);
    std::set<int> b, g;
    for (int i : d.diagonals) b.insert(i % d.giant_stride), g.insert(i / d.giant_stride);
    d.baby.assign(b.begin(), b.end());
    d.giant.assign(g.begin(), g.end());
    relayout(q, sq, d);
  }, m, p);
  // A hybrid layout after a polynomial with a constant term (the compiler picks a square one).
  std::mt19937_64 rng(9);
  const nn::Model pm = make_model(1, 4, 4, {nn::Flatten{}, dense(16, 8, rng), poly({0.3, 1.0, 0.1}), dense(8, 2, rng)}, 2);
  const Plan pp = compile_for(pm, Path::kDiagonal, false);  // the polynomial kept
  ASSERT_TRUE(pp.layers[3].layout && !pp.layers[3].layout->hybrid);
  expect("needs an input that is zero beyond its values", [&](Plan& q) {
    const SparseMatrix mat = linear_matrix(pm.layers()[3], pm.shapes()[2]);
    auto h = hybrid_layout(mat, q.period, q.layers[1].layout->output_period());
    ASSERT_TRUE(h.has_value());
    relayout(q, 3, *h);
  }, pm, pp);
  // A matrix larger than the layout: the first dense's square layout moved onto the second.
  expect("does not fit the program's layout", [&](Plan& q) {
    DiagonalLayout d = *q.layers[3].layout;
    d.hybrid = true;
    d.in_period = 8;
    d.out_period = 1;
    d.diagonals = {0};
    d.giant_stride = 1;
    d.baby = {0};
    d.giant = {0};
    d.replicate_steps.clear();
    for (std::size_t s = 8; s < q.layers[1].layout->output_period(); s <<= 1) d.replicate_steps.push_back(-static_cast<int>(s));
    d.fold_steps = {4, 2, 1};
    relayout(q, 3, d);
  }, pm, pp);
  // The throughput stream holds the program to what it runs, and its row orders to the layers.
  expect("is not what the stream runs",
         [](Plan& q) {
           q.layers[1].ops.additions += 1;
           q.total.additions += 1;
         },
         m, compile_for(m, Path::kThroughput));
  expect("is ordered as 1 rows, its matrix has", [](Plan& q) { q.layers[0].stream_rows = {0}; }, m, compile_for(m, Path::kThroughput));
}

// The throughput server streams the rows in the plan's order, whichever permutation it is:
// the same logits and operations with every row order reversed.
TEST(Program, ThroughputStreamRunsThePlansRowOrder) {
  const nn::Model m = every_layer_model();
  const Plan p = compile_for(m, Path::kThroughput);
  Plan reversed = p;
  for (auto& l : reversed.layers) std::reverse(l.stream_rows.begin(), l.stream_rows.end());
  auto made = Plan::create(reversed);
  ASSERT_TRUE(made) << made.error();
  const std::vector<float> img = image_values(m.input_shape().size());
  auto run = [&](const Plan& plan, StreamStats* stats) {
    Client client(plan, Seed{3});
    auto prepared = std::make_shared<const PreparedModel>(plan, m);
    for (std::size_t si = 0; si < prepared->stream()->stages.size(); ++si)
      if (std::size_t li = prepared->stream()->stages[si].linear_layer; li != SIZE_MAX)
        EXPECT_EQ(prepared->stream()->orders[si].rows, plan.layers[li].stream_rows) << "layer " << li;
    Server server(prepared, client.eval_keys());
    auto out = server.evaluate_batch(
        [&](std::size_t k) { return ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value({img.data()}, k)); },
        stats);
    return client.decrypt_logits(out, 1)[0];
  };
  StreamStats a, b;
  const auto x = run(p, &a), y = run(made.value(), &b);
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t c = 0; c < x.size(); ++c) EXPECT_NEAR(x[c], y[c], 1e-6 * std::max(1.0, std::abs(x[c])));
  ASSERT_EQ(a.layer_ops.size(), b.layer_ops.size());
  for (std::size_t i = 0; i < a.layer_ops.size(); ++i) expect_ops(a.layer_ops[i], b.layer_ops[i], "layer " + std::to_string(i));
}

TEST(Program, ChannelPackedExecutorRefusesStepsThatDoNotFitTheModel) {
  const nn::Model m = every_layer_model();
  const Plan p = compile_for(m, Path::kMultiplexed, false);  // the polynomial kept
  ASSERT_EQ(prepare_refusal(m, p, [](Plan&) {}), "");
  auto expect = [&](const std::string& want, const std::function<void(Plan&)>& edit) {
    const std::string why = prepare_refusal(m, p, edit);
    EXPECT_EQ(why.rfind("create: ", 0), std::string::npos) << "refused by Plan::create: " << why;
    EXPECT_NE(why.find(want), std::string::npos) << "want '" << want << "', got '" << why << "'";
  };
  expect("its pooling is not the model's 2x2 average pooling", [](Plan& q) {
    q.layers[3].mux->pool_steps[0] += 1;
    remux(q, 3);
  });
  expect("not the model's convolution's", [](Plan& q) {
    q.layers[0].mux->has_bias = !q.layers[0].mux->has_bias;
    remux(q, 0);
  });
  expect("not the model's dense layer's", [](Plan& q) {
    q.layers[8].mux->has_bias = !q.layers[8].mux->has_bias;
    remux(q, 8);
  });
  expect("its offsets are not the layer's kernel's", [](Plan& q) {
    q.layers[0].mux->offsets[0] += 1;
    remux(q, 0);
  });
  expect("whose product the program does not list", [](Plan& q) {
    q.layers[3].mux->terms.pop_back();
    remux(q, 3);
  });
  expect("not what this model's polynomial costs", [](Plan& q) {
    q.layers[4].ops.dot_terms += 1;
    q.total.dot_terms += 1;
  });
  // A dense layer's rotate-and-sum steps are its grid's.
  std::size_t summed = 0;
  for (std::size_t i = 0; i < p.layers.size() && !summed; ++i)
    if (p.layers[i].mux && !p.layers[i].mux->sum_steps.empty()) summed = i;
  ASSERT_NE(summed, 0u) << "no rotate-and-sum dense layer";
  expect("rotate-and-sum steps are not those", [summed](Plan& q) {
    q.layers[summed].mux->sum_steps.pop_back();
    remux(q, summed);
  });
}

}  // namespace
}  // namespace hemi::he
