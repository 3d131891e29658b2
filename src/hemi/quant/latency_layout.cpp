#include "hemi/quant/latency_layout.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace hemi::quant {

namespace {

// Rows of one linear op as sparse integer rows (i128, so folded products cannot overflow).
struct WideRow {
  std::vector<std::pair<std::uint32_t, i128>> terms;
  i128 bias = 0;
};

std::vector<WideRow> widen(const QOp& op) {
  std::vector<WideRow> rows(op.rows.size());
  for (std::size_t o = 0; o < op.rows.size(); ++o) {
    for (std::size_t k = 0; k < op.rows[o].index.size(); ++k)
      if (op.rows[o].weight[k] != 0) rows[o].terms.push_back({op.rows[o].index[k], op.rows[o].weight[k]});
    rows[o].bias = op.rows[o].bias;
  }
  return rows;
}

// second ∘ first: row o = sum_k w2[o][k] (first row k), bias b2 + sum_k w2 b1.
std::vector<WideRow> fold(const std::vector<WideRow>& first, std::size_t first_inputs, const QOp& second) {
  std::vector<WideRow> out(second.rows.size());
  std::vector<i128> acc(first_inputs, 0);
  std::vector<char> touched(first_inputs, 0);
  std::vector<std::uint32_t> order;
  for (std::size_t o = 0; o < second.rows.size(); ++o) {
    const Row& r2 = second.rows[o];
    i128 bias = r2.bias;
    for (std::size_t k = 0; k < r2.index.size(); ++k) {
      const i128 w = r2.weight[k];
      if (w == 0) continue;
      const WideRow& r1 = first[r2.index[k]];
      bias += w * r1.bias;
      for (auto [j, v] : r1.terms) {
        if (!touched[j]) {
          touched[j] = 1;
          order.push_back(j);
        }
        acc[j] += w * v;
      }
    }
    std::sort(order.begin(), order.end());
    for (std::uint32_t j : order) {
      if (acc[j] != 0) out[o].terms.push_back({j, acc[j]});
      acc[j] = 0;
      touched[j] = 0;
    }
    order.clear();
    out[o].bias = bias;
  }
  return out;
}

std::vector<int> distinct(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Picks B for the layer: the fewest rotations plus Galois keys not in `keys` yet.
void choose_baby_giant(LatencyLinear& l, std::size_t slots, const std::set<int>& keys) {
  std::vector<std::size_t> candidates;
  for (std::size_t b = 1; b <= std::min<std::size_t>(slots, 1024); ++b) candidates.push_back(b);
  for (std::size_t b = 2048; b <= slots; b *= 2) candidates.push_back(b);
  std::size_t best_cost = SIZE_MAX;
  std::vector<int> baby, giant;
  for (std::size_t b : candidates) {
    baby.clear();
    giant.clear();
    for (const auto& [d, entries] : l.diagonals) {
      const std::uint64_t bb = d % b, g = d - bb;
      if (bb) baby.push_back(signed_step(bb, slots));
      giant.push_back(g ? signed_step(g, slots) : 0);
    }
    baby = distinct(std::move(baby));
    giant = distinct(std::move(giant));
    const std::size_t groups = giant.size();
    giant.erase(std::remove(giant.begin(), giant.end(), 0), giant.end());
    std::size_t cost = baby.size() + giant.size();
    for (int s : baby) cost += !keys.count(s);
    for (int s : giant) cost += !keys.count(s);
    if (cost < best_cost) {
      best_cost = cost;
      l.baby = b;
      l.baby_steps = baby;
      l.giant_steps = giant;
      l.groups = groups;
    }
  }
}

}  // namespace

int signed_step(std::uint64_t d, std::size_t row_slots) {
  d %= row_slots;
  return d > row_slots / 2 ? static_cast<int>(d) - static_cast<int>(row_slots) : static_cast<int>(d);
}

std::size_t LatencyLayout::rotations() const {
  std::size_t r = 0;
  for (const LatencyStep& s : steps) r += s.square ? 0 : s.linear.rotations();
  return r;
}

std::size_t LatencyLayout::plaintext_products() const {
  std::size_t r = 0;
  for (const LatencyStep& s : steps) r += s.square ? 0 : s.linear.diagonals.size();
  return r;
}

std::vector<int> LatencyLayout::rotation_steps() const {
  std::vector<int> all;
  for (const LatencyStep& s : steps) {
    if (s.square) continue;
    all.insert(all.end(), s.linear.baby_steps.begin(), s.linear.baby_steps.end());
    all.insert(all.end(), s.linear.giant_steps.begin(), s.linear.giant_steps.end());
  }
  return distinct(std::move(all));
}

std::string LatencyLayout::summary() const {
  std::string s;
  for (const LatencyStep& st : steps) {
    if (!s.empty()) s += " · ";
    if (st.square) {
      s += "x²";
      continue;
    }
    char buf[192];
    std::snprintf(buf, sizeof(buf), "%s %zu→%zu: %zu diagonals, B=%zu, %zu rotations", st.linear.name.c_str(), st.linear.inputs,
                  st.linear.outputs, st.linear.diagonals.size(), st.linear.baby, st.linear.rotations());
    s += buf;
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf), " (S = %zu slots per row; %zu rotations, %zu Galois keys, %zu plaintext products per image)",
                row_slots, rotations(), rotation_steps().size(), plaintext_products());
  return s + buf;
}

Result<LatencyLayout> plan_latency_layout(const QuantizedModel& qm, std::size_t row_slots) {
  using R = Result<LatencyLayout>;
  if (row_slots < 2 || (row_slots & (row_slots - 1)))
    return R::failure("latency layout: " + std::to_string(row_slots) + " slots per row is not a power of two >= 2");
  LatencyLayout layout;
  layout.row_slots = row_slots;
  layout.input_size = qm.input_size;
  layout.classes = qm.classes;
  std::set<int> keys;
  for (std::size_t i = 0; i < qm.ops.size();) {
    const QOp& op = qm.ops[i];
    if (op.kind == QOp::Kind::kSquare) {
      layout.steps.push_back({true, {}});
      ++i;
      continue;
    }
    // Fold the run of consecutive linear ops into one matrix.
    LatencyLinear l;
    l.name = op.name;
    l.inputs = op.inputs;
    std::vector<WideRow> rows = widen(op);
    std::size_t j = i + 1;
    for (; j < qm.ops.size() && qm.ops[j].kind == QOp::Kind::kLinear; ++j) {
      rows = fold(rows, op.inputs, qm.ops[j]);
      l.name += " + " + qm.ops[j].name;
    }
    l.outputs = rows.size();
    if (l.inputs > row_slots || l.outputs > row_slots)
      return R::failure("latency layout: " + l.name + " has " + std::to_string(l.inputs) + " inputs and " +
                        std::to_string(l.outputs) + " outputs, more than the " + std::to_string(row_slots) +
                        " slots of a row (N = " + std::to_string(2 * row_slots) + ")");
    for (std::size_t o = 0; o < rows.size(); ++o) {
      l.bias.push_back(rows[o].bias);
      for (auto [in, w] : rows[o].terms) {
        const std::uint32_t d = static_cast<std::uint32_t>((in + row_slots - o % row_slots) % row_slots);
        l.diagonals[d].push_back({static_cast<std::uint32_t>(o), w});
      }
    }
    if (l.diagonals.empty()) l.diagonals[0];  // an all-zero matrix: one empty diagonal keeps the program valid
    choose_baby_giant(l, row_slots, keys);
    keys.insert(l.baby_steps.begin(), l.baby_steps.end());
    keys.insert(l.giant_steps.begin(), l.giant_steps.end());
    layout.steps.push_back({false, std::move(l)});
    i = j;
  }
  return layout;
}

}  // namespace hemi::quant
