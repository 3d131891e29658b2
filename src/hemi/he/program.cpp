#include "hemi/he/program.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

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
