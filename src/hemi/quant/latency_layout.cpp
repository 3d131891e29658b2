#include "hemi/quant/latency_layout.h"

#include <algorithm>
#include <bit>
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

// The gathered form of a convolution (see the header): rows c P + p with index lists that
// depend on p only. Returns the gather map and the rows over the gathered slots, or nothing.
bool gather_rows(const std::vector<WideRow>& rows, const QOp& op, std::size_t slots, std::vector<std::int64_t>& gather,
                 std::vector<WideRow>& gathered) {
  const std::size_t n_out = op.rows.size();
  std::size_t period = 0;
  for (std::size_t p = 1; p <= n_out && !period; ++p) {
    if (n_out % p) continue;
    bool same = true;
    for (std::size_t o = p; o < n_out && same; ++o) same = op.rows[o].index == op.rows[o % p].index;
    if (same) period = p;
  }
  if (!period) return false;
  std::size_t k_max = 0;
  for (std::size_t p = 0; p < period; ++p) k_max = std::max(k_max, op.rows[p].index.size());
  if (k_max * period > slots || k_max == 0) return false;
  gather.assign(k_max * period, -1);
  for (std::size_t p = 0; p < period; ++p)
    for (std::size_t k = 0; k < op.rows[p].index.size(); ++k) gather[k * period + p] = op.rows[p].index[k];
  gathered.assign(n_out, {});
  for (std::size_t o = 0; o < n_out; ++o) {
    const Row& r = op.rows[o];
    for (std::size_t k = 0; k < r.index.size(); ++k)
      if (r.weight[k] != 0) gathered[o].terms.push_back({static_cast<std::uint32_t>(k * period + o % period), r.weight[k]});
    gathered[o].bias = rows[o].bias;
  }
  return true;
}

std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, i128>>> diagonals_of(const std::vector<WideRow>& rows, std::size_t slots) {
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, i128>>> diagonals;
  for (std::size_t o = 0; o < rows.size(); ++o)
    for (auto [in, w] : rows[o].terms) {
      const auto d = static_cast<std::uint32_t>((in + slots - o % slots) % slots);
      diagonals[d].push_back({static_cast<std::uint32_t>(o), w});
    }
  return diagonals;
}

// The hybrid form's rows z_i, i < n' (see the header), from the layer's rows.
std::vector<WideRow> hybrid_rows(const std::vector<WideRow>& rows, std::size_t n_in, std::size_t m, std::size_t n_prime) {
  std::vector<std::vector<i128>> dense(rows.size(), std::vector<i128>(n_in, 0));
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (auto [j, w] : rows[r].terms) dense[r][j] += w;
  std::vector<WideRow> z(n_prime);
  for (std::size_t i = 0; i < n_prime; ++i) {
    const std::size_t r = i % m;
    if (r >= rows.size()) continue;
    for (std::size_t delta = 0; delta < m; ++delta) {
      const std::size_t j = (i + delta) % n_prime;
      if (j < n_in && dense[r][j] != 0) z[i].terms.push_back({static_cast<std::uint32_t>(j), dense[r][j]});
    }
  }
  return z;
}

std::vector<int> distinct(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Picks B for the layer: the fewest rotations plus Galois keys not in `keys` yet.
void choose_baby_giant(LatencyLinear& l, std::size_t slots, std::set<int> keys) {
  keys.insert(l.fold_steps.begin(), l.fold_steps.end());
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

std::vector<std::int64_t> LatencyLayout::upload(const std::vector<std::int64_t>& input) const {
  if (gather.empty()) return input;
  std::vector<std::int64_t> slots(gather.size(), 0);
  for (std::size_t s = 0; s < gather.size(); ++s)
    if (gather[s] >= 0) slots[s] = input[static_cast<std::size_t>(gather[s])];
  return slots;
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
    all.insert(all.end(), s.linear.fold_steps.begin(), s.linear.fold_steps.end());
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
    for (const WideRow& r : rows) l.bias.push_back(r.bias);
    l.diagonals = diagonals_of(rows, row_slots);
    std::vector<std::int64_t> gather;
    std::vector<WideRow> gathered;
    bool gathered_input = false;
    if (i == 0 && j == 1 && gather_rows(rows, op, row_slots, gather, gathered)) {
      auto g = diagonals_of(gathered, row_slots);
      if (g.size() < l.diagonals.size()) {
        l.diagonals = std::move(g);
        l.inputs = gather.size();
        l.name += " (gathered input)";
        layout.gather = std::move(gather);
        gathered_input = true;
      }
    }
    const std::size_t m = std::bit_ceil(l.outputs), n_prime = std::bit_ceil(l.inputs);
    if (!gathered_input && m < n_prime && n_prime <= row_slots) {
      auto h = diagonals_of(hybrid_rows(rows, l.inputs, m, n_prime), row_slots);
      std::vector<int> folds;
      for (std::size_t f = n_prime / 2; f >= m; f /= 2) folds.push_back(static_cast<int>(f));
      if (h.size() + folds.size() < l.diagonals.size()) {
        l.diagonals = std::move(h);
        l.fold_steps = std::move(folds);
        l.name += " (hybrid)";
      }
    }
    if (l.diagonals.empty()) l.diagonals[0];  // an all-zero matrix: one empty diagonal keeps the program valid
    choose_baby_giant(l, row_slots, keys);
    keys.insert(l.baby_steps.begin(), l.baby_steps.end());
    keys.insert(l.giant_steps.begin(), l.giant_steps.end());
    keys.insert(l.fold_steps.begin(), l.fold_steps.end());
    layout.steps.push_back({false, std::move(l)});
    i = j;
  }
  return layout;
}

}  // namespace hemi::quant
