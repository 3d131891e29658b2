#include "hemi/he/program.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <set>

#include "hemi/he/activations.h"

namespace hemi::he {

namespace {
std::string num(auto v) { return std::to_string(v); }
bool pow2(std::size_t v) { return v && std::has_single_bit(v); }
}  // namespace

OpCounts& OpCounts::operator+=(const OpCounts& o) {
  rotations += o.rotations;
  hoisted_groups += o.hoisted_groups;
  relinearizations += o.relinearizations;
  rescales += o.rescales;
  plain_multiplies += o.plain_multiplies;
  dot_terms += o.dot_terms;
  additions += o.additions;
  encodes += o.encodes;
  return *this;
}

std::string to_string(const OpCounts& o) {
  return "rotations " + num(o.rotations) + ", hoisted groups " + num(o.hoisted_groups) + ", relinearizations " +
         num(o.relinearizations) + ", rescales " + num(o.rescales) + ", plaintext multiplies " + num(o.plain_multiplies) +
         ", dot terms " + num(o.dot_terms) + ", additions " + num(o.additions) + ", encodes " + num(o.encodes);
}

std::vector<int> normalize_steps(const std::vector<int>& steps, std::size_t slots) {
  std::set<int> s;
  const long long n = static_cast<long long>(slots);
  for (int v : steps)
    if (const long long r = ((v % n) + n) % n; r) s.insert(static_cast<int>(r));
  return {s.begin(), s.end()};
}

// ---------------- the diagonal layout ----------------

std::size_t DiagonalLayout::rotations() const { return rotation_steps().size(); }

std::vector<int> DiagonalLayout::rotation_steps() const {
  std::vector<int> s;
  for (int b : baby)
    if (b) s.push_back(b);
  for (int a : giant)
    if (a) s.push_back(a * giant_stride);
  s.insert(s.end(), replicate_steps.begin(), replicate_steps.end());
  s.insert(s.end(), fold_steps.begin(), fold_steps.end());
  return s;
}

std::pair<int, std::size_t> DiagonalLayout::place(std::size_t r, std::size_t c) const {
  if (!hybrid) return {static_cast<int>((c + period - r) % period), r};
  const std::size_t i = (c + in_period - r % in_period) % out_period;
  return {static_cast<int>(i), (c + in_period - i) % in_period};
}

std::string DiagonalLayout::error() const {
  if (!pow2(period)) return "period " + num(period) + " is not a power of two";
  const std::size_t log_period = static_cast<std::size_t>(std::countr_zero(period));
  if (replicate_steps.size() > log_period || fold_steps.size() > log_period)  // (before any shift by them)
    return num(replicate_steps.size()) + " replication and " + num(fold_steps.size()) + " folding steps in a period of " +
           num(period);
  if (hybrid) {
    if (!pow2(in_period) || !pow2(out_period) || out_period >= in_period || in_period > period)
      return "hybrid periods " + num(in_period) + " -> " + num(out_period) + " (powers of two, fewer outputs, within " +
             num(period) + " expected)";
  } else if (in_period || out_period || !replicate_steps.empty() || !fold_steps.empty()) {
    return "a square layout with hybrid periods or steps";
  }
  const std::size_t bound = output_period();
  if (diagonals.empty()) return "no diagonal with a non-zero weight";
  for (std::size_t k = 0; k < diagonals.size(); ++k) {
    if (diagonals[k] < 0 || static_cast<std::size_t>(diagonals[k]) >= bound)
      return "diagonal " + num(diagonals[k]) + " is outside 0.." + num(bound - 1);
    if (k && diagonals[k] <= diagonals[k - 1]) return "diagonals not ascending at " + num(diagonals[k]);
  }
  if (giant_stride < 1 || !pow2(static_cast<std::size_t>(giant_stride)) || static_cast<std::size_t>(giant_stride) > bound)
    return "giant stride " + num(giant_stride) + " (a power of two up to " + num(bound) + " expected)";
  std::set<int> b, g;
  for (int i : diagonals) {
    b.insert(i % giant_stride);
    g.insert(i / giant_stride);
  }
  if (std::vector<int>(b.begin(), b.end()) != baby || std::vector<int>(g.begin(), g.end()) != giant)
    return "a baby/giant split that is not the diagonals' at stride " + num(giant_stride);
  if (hybrid) {
    std::vector<int> rep, fold;
    for (std::size_t s = in_period; s < input_period() && s < period; s <<= 1) rep.push_back(-static_cast<int>(s));
    for (std::size_t s = in_period / 2; s >= out_period; s >>= 1) fold.push_back(static_cast<int>(s));
    if (rep != replicate_steps || input_period() > period) return "replication steps that are not doublings from " + num(in_period);
    if (fold != fold_steps) return "folding steps that are not halvings from " + num(in_period) + " to " + num(out_period);
  }
  return "";
}

OpCounts diagonal_ops(const DiagonalLayout& d) {
  OpCounts o;
  const auto nonzero = [](const std::vector<int>& v) { return static_cast<std::uint64_t>(v.size() - std::count(v.begin(), v.end(), 0)); };
  const std::uint64_t babies = nonzero(d.baby), extra = d.replicate_steps.size() + d.fold_steps.size();
  o.rotations = babies + nonzero(d.giant) + extra;
  o.hoisted_groups = babies ? 1 : 0;
  o.plain_multiplies = d.diagonals.size();
  // each product summed in, the giant steps' partial sums, replication, folding, the bias
  o.additions = d.diagonals.size() + (d.giant.empty() ? 0 : d.giant.size() - 1) + extra + (d.bias ? 1 : 0);
  o.rescales = 1;
  o.encodes = d.bias ? 1 : 0;
  return o;
}

// ---------------- the channel-packed steps ----------------

std::vector<std::vector<int>> MuxOp::babies() const {
  std::vector<std::set<int>> s(static_cast<std::size_t>(in_cts));
  for (auto& t : terms)
    if (offsets[static_cast<std::size_t>(t.offset)] != 0) s[static_cast<std::size_t>(t.in_ct)].insert(offsets[static_cast<std::size_t>(t.offset)]);
  std::vector<std::vector<int>> v;
  for (auto& x : s) v.emplace_back(x.begin(), x.end());
  return v;
}

std::vector<std::vector<int>> MuxOp::giants() const {
  std::vector<std::set<int>> s(static_cast<std::size_t>(out_cts));
  for (auto& t : terms)
    if (t.r) s[static_cast<std::size_t>(t.out_ct)].insert(t.r);
  std::vector<std::vector<int>> v;
  for (auto& x : s) v.emplace_back(x.begin(), x.end());
  return v;
}

std::vector<int> MuxOp::rotation_steps(std::size_t slots, std::size_t block) const {
  std::vector<int> s(pool_steps);
  for (auto& b : babies()) s.insert(s.end(), b.begin(), b.end());
  const long long n = static_cast<long long>(slots);
  for (auto& g : giants())
    for (int r : g) s.push_back(static_cast<int>(static_cast<long long>(r) * static_cast<long long>(block) % n));
  s.insert(s.end(), sum_steps.begin(), sum_steps.end());
  return normalize_steps(s, slots);
}

OpCounts mux_op_counts(const MuxOp& op) {
  OpCounts c;
  if (op.kind == MuxOp::kSquare || op.kind == MuxOp::kPolynomial) {  // what activations.h does, per ciphertext
    const OpCounts one = op.kind == MuxOp::kSquare ? square_ops() : polynomial_ops(op.coefficients);
    for (int t = 0; t < op.in_cts; ++t) c += one;
    return c;
  }
  if (!op.pool_steps.empty()) {
    c.rotations += static_cast<std::uint64_t>(op.in_cts) * op.pool_steps.size();
    c.hoisted_groups += static_cast<std::uint64_t>(op.in_cts);
    c.additions += static_cast<std::uint64_t>(op.in_cts) * op.pool_steps.size();
  }
  if (op.kind == MuxOp::kPoolOnly) {
    c.rescales += static_cast<std::uint64_t>(op.in_cts);  // the 1/(kh kw) constant
    return c;
  }
  for (auto& b : op.babies())
    if (!b.empty()) {
      c.rotations += b.size();
      c.hoisted_groups += 1;
    }
  for (auto& g : op.giants()) {
    c.rotations += g.size();
    c.additions += g.size();
  }
  c.rotations += static_cast<std::uint64_t>(op.out_cts) * op.sum_steps.size();
  c.additions += static_cast<std::uint64_t>(op.out_cts) * op.sum_steps.size();
  c.plain_multiplies = op.terms.size();
  c.encodes = op.terms.size() + (op.has_bias ? static_cast<std::uint64_t>(op.out_cts) : 0);
  c.rescales += static_cast<std::uint64_t>(op.out_cts);
  c.additions += op.terms.size();
  return c;
}

// ---------------- the program ----------------

void assign_layout(LayerPlan& step, const DiagonalLayout& d, std::size_t slots) {
  const auto nonzero = [](const std::vector<int>& v) { return static_cast<int>(v.size() - std::count(v.begin(), v.end(), 0)); };
  step.hybrid = d.hybrid;
  step.input_period = d.input_period();
  step.diagonals = static_cast<int>(d.diagonals.size());
  step.baby_steps = nonzero(d.baby);
  step.giant_steps = nonzero(d.giant);
  step.rotation_steps = normalize_steps(d.rotation_steps(), slots);
  step.plaintexts = d.diagonals.size();
  step.ops = diagonal_ops(d);
  step.layout = d;
}

std::string program_error(const std::vector<LayerPlan>& layers, int input_level, int depth, std::size_t period,
                          std::size_t slots, bool latency, bool multiplexed) {
  if (layers.empty()) return "a program without layers";
  int level = input_level;
  std::size_t repeats = period;  // diagonal layout: the period the activation repeats in
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerPlan& l = layers[i];
    const std::string at = "layer " + num(i) + " (" + l.kind + "): ";
    const bool linear = l.kind == "conv2d" || l.kind == "dense" || l.kind == "avgpool2d";
    if (!linear && l.kind != "square" && l.kind != "polynomial" && l.kind != "flatten")
      return at + "unknown layer kind";
    if (l.level_in != level) return at + "starts at level " + num(l.level_in) + ", the step before ends at " + num(level);
    const int drop = l.level_in - l.level_out;
    const bool drop_ok = l.kind == "polynomial"                  ? drop >= 0
                         : l.kind == "flatten"                   ? drop == 0
                         : l.kind == "avgpool2d" && multiplexed  ? drop == 0 || drop == 1  // 0: fused into the next
                                                                 : drop == 1;
    if (!drop_ok || l.level_out < 0) return at + "goes from level " + num(l.level_in) + " to " + num(l.level_out);
    level = l.level_out;
    if (!std::isfinite(l.log2_scale_out) || l.log2_scale_out <= 0 || l.log2_scale_out > 1000)
      return at + "scale 2^" + num(l.log2_scale_out) + " is not a usable scale";
    if (l.rotation_steps != normalize_steps(l.rotation_steps, slots) || l.rotation_steps.size() >= slots)
      return at + "rotation steps not ascending, distinct and in 1.." + num(slots - 1);
    if (!latency && (!l.rotation_steps.empty() || l.layout || l.plaintexts))
      return at + "rotation steps, a diagonal layout or plaintexts in throughput packing";
    if (l.mux && !(latency && multiplexed)) return at + "a channel-packed op outside the channel-packed layout";
    const bool streamed = !latency && (l.kind == "conv2d" || l.kind == "dense" || l.kind == "avgpool2d");
    if (streamed == l.stream_rows.empty())
      return at + (streamed ? "a linear layer without its stream row order" : "a stream row order on a layer that has none");
    if (streamed) {  // a permutation of the layer's rows
      std::vector<char> seen(l.stream_rows.size(), 0);
      for (std::uint32_t r : l.stream_rows)
        if (r >= l.stream_rows.size() || seen[r]++) return at + "a stream row order that is not a permutation of its rows";
    }
    const bool diagonal = latency && !multiplexed && linear;
    if (l.layout.has_value() != diagonal)
      return at + (diagonal ? "a linear layer without its diagonal layout" : "a diagonal layout on a layer that has none");
    if (!diagonal) continue;
    const DiagonalLayout& d = *l.layout;
    if (std::string why = d.error(); !why.empty()) return at + "diagonal layout: " + why;
    if (d.period != period) return at + "a layout of period " + num(d.period) + ", the plan's is " + num(period);
    if (d.hybrid && d.input_period() != repeats)
      return at + "a hybrid layout for an input repeating every " + num(d.input_period()) + " slots; it repeats every " +
             num(repeats);
    repeats = d.output_period();
    if (l.rotation_steps != normalize_steps(d.rotation_steps(), slots)) return at + "rotation steps that are not its layout's";
    if (!(l.ops == diagonal_ops(d))) return at + "operation counts (" + to_string(l.ops) + ") that are not its layout's (" + to_string(diagonal_ops(d)) + ")";
    if (l.plaintexts != d.diagonals.size() || l.diagonals != static_cast<int>(d.diagonals.size()) || l.hybrid != d.hybrid ||
        l.input_period != d.input_period())
      return at + "a summary (plaintexts, diagonals, hybrid, input period) that is not its layout's";
  }
  if (input_level - level != depth)
    return "the program consumes " + num(input_level - level) + " levels, the plan's depth is " + num(depth);
  return "";
}

namespace {

std::string grid_text(const MuxGrid& g) {
  return num(g.channels) + "x" + num(g.height) + "x" + num(g.width) + " (gap " + num(g.gap) + ")";
}

// Why grid g cannot be indexed inside one channel block, or "". Every position the executor
// writes (mux_term_values, mux_bias_values) is a grid position of out or pooled.
std::string grid_error(const MuxGrid& g, const MuxFormat& f, const char* what) {
  const long long B = static_cast<long long>(f.block);
  if (g.channels < 1 || g.height < 1 || g.width < 1 || g.gap < 1 || g.channels > kMaxMuxChannels || g.height > B ||
      g.width > B || g.gap > B)
    return std::string(what) + " grid " + grid_text(g) + " has an extent outside 1.." + num(B) + " (channels 1.." +
           num(kMaxMuxChannels) + ")";
  const long long row = static_cast<long long>(g.width - 1) * g.gap;
  const long long last = static_cast<long long>(g.height - 1) * g.gap * f.base_width + row;
  if (row >= f.base_width || last >= B)
    return std::string(what) + " grid " + grid_text(g) + " does not fit a block of " + num(B) + " slots, rows of " +
           num(f.base_width);
  return "";
}

bool steps_in_range(const std::vector<int>& v, std::size_t slots) {
  const long long n = static_cast<long long>(slots);
  return v.size() < slots && std::all_of(v.begin(), v.end(), [n](int x) { return x > -n && x < n; });
}

// One channel-packed op against itself and the grid, replication and ciphertext count that the
// op before leaves (fused: a pooling before it is fused into it).
std::string mux_op_error(const MuxOp& op, const MuxFormat& f, const MuxGrid& grid, bool replicated, bool fused) {
  const int nb = f.blocks;
  if (op.in != grid || op.replicated_in != replicated || op.in_cts != f.ciphertexts(grid.channels, replicated))
    return "reads " + grid_text(op.in) + (op.replicated_in ? " replicated" : "") + " in " + num(op.in_cts) +
           " ciphertexts; the step before leaves " + grid_text(grid) + (replicated ? " replicated" : "") + " in " +
           num(f.ciphertexts(grid.channels, replicated));
  for (auto [g, what] : {std::pair{&op.in, "input"}, std::pair{&op.out, "output"}, std::pair{&op.pooled, "pooled"}})
    if (std::string why = grid_error(*g, f, what); !why.empty()) return why;
  if (!steps_in_range(op.pool_steps, f.slots) || !steps_in_range(op.offsets, f.slots) || !steps_in_range(op.sum_steps, f.slots))
    return "pooling, offset or sum steps outside -" + num(f.slots - 1) + ".." + num(f.slots - 1);
  if (!std::isfinite(op.weight_factor) || op.weight_factor <= 0 || op.weight_factor > 1)
    return "weight factor " + std::to_string(op.weight_factor) + " (in (0, 1] expected)";
  const bool linear = op.kind == MuxOp::kLinear;
  if (!linear && (!op.offsets.empty() || !op.terms.empty() || !op.sum_steps.empty() || op.has_bias))
    return "offsets, products, sum steps or a bias on an op without products";
  if (op.kind == MuxOp::kSquare || op.kind == MuxOp::kPolynomial) {
    if (op.out != op.in || op.pooled != op.in || op.out_cts != op.in_cts || !op.pool_steps.empty() || op.weight_factor != 1)
      return "an element-wise op that changes the grid, the ciphertexts or pools";
    return "";
  }
  if (op.kind == MuxOp::kPoolOnly) {
    if (op.out != op.pooled || op.out.channels != op.in.channels || op.out_cts != op.in_cts)
      return "a pooling whose output is not its pooled grid of the same channels and ciphertexts";
    return "";
  }
  if (!fused && (op.pooled != op.in || !op.pool_steps.empty() || op.weight_factor != 1))
    return "pools without a pooling layer before it";
  if (fused && op.pooled.channels != op.in.channels) return "a fused pooling that changes the channels";
  if (op.out_cts != f.ciphertexts(op.out.channels, false))
    return num(op.out_cts) + " output ciphertexts for " + num(op.out.channels) + " channels in blocks of " + num(nb);
  if (op.offsets.empty() || op.offsets.size() > f.block) return num(op.offsets.size()) + " offsets (1.." + num(f.block) + " expected)";
  if (op.weights != MuxOp::kDenseSum && !op.sum_steps.empty()) return "sum steps without the rotate-and-sum dense form";
  if (op.weights != MuxOp::kConv && (op.out.height != 1 || op.out.width != 1)) return "a dense op with a " + grid_text(op.out) + " output";
  std::vector<char> has(static_cast<std::size_t>(op.out_cts), 0);
  const auto key = [](const MuxTerm& t) { return std::array<int, 4>{t.out_ct, t.r, t.in_ct, t.offset}; };
  for (std::size_t k = 0; k < op.terms.size(); ++k) {
    const MuxTerm& t = op.terms[k];
    if (t.out_ct < 0 || t.out_ct >= op.out_cts || t.in_ct < 0 || t.in_ct >= op.in_cts || t.r < 0 || t.r >= nb || t.offset < 0 ||
        static_cast<std::size_t>(t.offset) >= op.offsets.size())
      return "product " + num(k) + " (" + num(t.out_ct) + ", " + num(t.in_ct) + ", " + num(t.r) + ", " + num(t.offset) +
             ") outside its ciphertexts, blocks or offsets";
    if (k && key(op.terms[k - 1]) >= key(t)) return "products not ascending (by output, rotation, input, offset) at " + num(k);
    has[static_cast<std::size_t>(t.out_ct)] = 1;
  }
  if (std::find(has.begin(), has.end(), 0) != has.end()) return "an output ciphertext without products";
  return "";
}

}  // namespace

std::string mux_program_error(const std::vector<LayerPlan>& layers, const MuxFormat& f, int height, int channels,
                              int classes) {
  MuxGrid grid{channels, height, f.base_width, 1};
  bool replicated = channels < f.blocks;
  bool fused = false;  // a pooling waits to be fused into the next linear op
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerPlan& l = layers[i];
    const std::string at = "layer " + num(i) + " (" + l.kind + "): ";
    if (l.kind == "flatten" || (l.kind == "avgpool2d" && l.level_in == l.level_out)) {
      if (l.mux) return at + "a channel-packed op on a layer that has none (a flatten or a fused pooling)";
      if (l.kind == "avgpool2d" && fused) return at + "a second pooling fused into the same layer";
      if (l.kind == "avgpool2d") fused = true;
      continue;
    }
    if (!l.mux) return at + "a step without its channel-packed op";
    const MuxOp& op = *l.mux;
    const MuxOp::Kind want = l.kind == "avgpool2d" ? MuxOp::kPoolOnly
                             : l.kind == "square"  ? MuxOp::kSquare
                             : l.kind == "polynomial" ? MuxOp::kPolynomial
                                                      : MuxOp::kLinear;
    if (op.kind != want || (want == MuxOp::kLinear && (l.kind == "conv2d") != (op.weights == MuxOp::kConv)) || op.layer != i ||
        op.level_in != l.level_in)
      return at + "an op of another kind, layer or level";
    if (fused && op.kind != MuxOp::kLinear) return at + "a fused pooling before a layer without products";
    if (std::string why = mux_op_error(op, f, grid, replicated, fused); !why.empty()) return at + why;
    // The op's rotation steps, counts and summary are the step's (a polynomial's counts depend
    // on the model's coefficients: the server checks them).
    if (l.rotation_steps != op.rotation_steps(f.slots, f.block)) return at + "rotation steps that are not its op's";
    if (op.kind != MuxOp::kPolynomial && !(l.ops == mux_op_counts(op)))
      return at + "operation counts (" + to_string(l.ops) + ") that are not its op's (" + to_string(mux_op_counts(op)) + ")";
    const bool linear = op.kind == MuxOp::kLinear;
    if (l.plaintexts != (linear ? l.ops.encodes : 0) || l.diagonals != (linear ? static_cast<int>(op.terms.size()) : 0))
      return at + "a summary (plaintexts, products) that is not its op's";
    grid = op.out;
    replicated = replicated && !linear;
    fused = false;
  }
  if (fused) return "a pooling fused into no layer at the end";
  if (grid.height != 1 || grid.width != 1 || grid.channels != classes || f.ciphertexts(grid.channels, replicated) != 1)
    return "the program ends in " + grid_text(grid) + (replicated ? " replicated" : "") + ", not one value per class (" +
           num(classes) + ") in one ciphertext";
  return "";
}

ProgramCount count_program(const std::vector<LayerPlan>& layers, std::size_t n) {
  ProgramCount c;
  std::set<int> steps;
  for (const LayerPlan& l : layers) {
    c.total += l.layout ? diagonal_ops(*l.layout) : l.ops;
    steps.insert(l.rotation_steps.begin(), l.rotation_steps.end());
    if (l.layout) c.plaintext_words += l.plaintexts * static_cast<std::size_t>(l.level_in + 1) * n;
  }
  c.rotation_steps.assign(steps.begin(), steps.end());
  return c;
}

}  // namespace hemi::he
