#include "hemi/he/throughput_stream.h"

#include <algorithm>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <unordered_map>

#include "hemi/base/error.h"
#include "hemi/he/activations.h"

namespace hemi::he {

using ckks::Ciphertext;

StreamSchedule stream_schedule(const nn::TensorShape& input, int input_level, const std::vector<StreamLayer>& layers) {
  StreamSchedule s;
  s.input = input;
  s.input_level = input_level;
  std::size_t width = input.size();
  std::vector<const std::vector<std::uint32_t>*> rows_of;  // per stage: the given order, if any
  auto identity = [&](int level) {
    StreamStage st;
    st.width_in = st.width_out = width;
    st.level_out = level;
    s.stages.push_back(st);
  };
  for (std::size_t li = 0; li < layers.size(); ++li) {
    const StreamLayer& l = layers[li];
    switch (l.kind) {
      case StreamLayer::kFlatten:
        break;
      case StreamLayer::kLinear: {
        if (!l.matrix || l.matrix->cols != width)
          throw Error("stream: layer " + std::to_string(li) + " reads " +
                      std::to_string(l.matrix ? l.matrix->cols : 0) + " values, the layer before gives " +
                      std::to_string(width));
        StreamStage st;
        st.matrix = l.matrix;
        st.width_in = width;
        st.width_out = width = l.matrix->rows;
        st.linear_layer = li;
        st.level_out = l.level_out;
        if (l.rows) {  // the plan's order: a permutation of the rows
          std::vector<char> seen(st.width_out, 0);
          if (l.rows->size() != st.width_out)
            throw Error("stream: layer " + std::to_string(li) + " is ordered as " + std::to_string(l.rows->size()) +
                        " rows, its matrix has " + std::to_string(st.width_out));
          for (std::uint32_t r : *l.rows)
            if (r >= st.width_out || seen[r]++)
              throw Error("stream: layer " + std::to_string(li) + "'s row order is not a permutation of its rows");
        }
        rows_of.resize(s.stages.size() + 1, nullptr);
        rows_of[s.stages.size()] = l.rows;
        s.stages.push_back(st);
        break;
      }
      case StreamLayer::kSquare:
      case StreamLayer::kPolynomial:
        if (s.stages.empty()) identity(input_level);  // the network starts with an activation
        if (l.kind == StreamLayer::kPolynomial && !l.coefficients)
          throw Error("stream: polynomial layer " + std::to_string(li) + " without coefficients");
        s.stages.back().activations.push_back({li, l.kind == StreamLayer::kPolynomial ? l.coefficients : nullptr});
        s.stages.back().level_out = l.level_out;
        break;
    }
  }
  if (s.stages.empty()) identity(input_level);  // only flatten layers: the inputs are the outputs

  // The source is read position by position, all channels of a position together.
  const std::size_t C = static_cast<std::size_t>(input.channels), H = static_cast<std::size_t>(input.height),
                    W = static_cast<std::size_t>(input.width);
  s.input_order.reserve(input.size());
  for (std::size_t y = 0; y < H; ++y)
    for (std::size_t x = 0; x < W; ++x)
      for (std::size_t c = 0; c < C; ++c) s.input_order.push_back(static_cast<std::uint32_t>((c * H + y) * W + x));

  // rank[k]: when input k of the stage arrives (its producer's order); rows sorted by the last
  // input they need, so that a chunk waits for as little as possible.
  std::vector<std::uint32_t> arrival = s.input_order;
  rows_of.resize(s.stages.size(), nullptr);
  for (std::size_t si = 0; si < s.stages.size(); ++si) {
    const StreamStage& st = s.stages[si];
    std::vector<std::size_t> rank(st.width_in);
    for (std::size_t i = 0; i < arrival.size(); ++i) rank[arrival[i]] = i;
    auto inputs_of = [&](std::size_t r) -> std::span<const std::uint32_t> {
      static thread_local std::uint32_t self;
      if (st.matrix) return st.matrix->index[r];
      self = static_cast<std::uint32_t>(r);
      return {&self, 1};
    };
    StreamSchedule::Order o;
    std::vector<std::size_t> need_of(st.width_out, 0);
    for (std::size_t r = 0; r < st.width_out; ++r)
      for (auto k : inputs_of(r)) need_of[r] = std::max(need_of[r], rank[k] + 1);
    if (rows_of[si]) {
      o.rows = *rows_of[si];
    } else {
      o.rows.resize(st.width_out);
      std::iota(o.rows.begin(), o.rows.end(), 0u);
      std::stable_sort(o.rows.begin(), o.rows.end(), [&](std::uint32_t a, std::uint32_t b) { return need_of[a] < need_of[b]; });
    }
    o.need.resize(st.width_out);
    o.last_use.assign(st.width_in, 0);
    for (std::size_t p = 0; p < o.rows.size(); ++p) {
      // A chunk waits for the inputs of all its rows (in any order the plan gives).
      o.need[p] = std::max(need_of[o.rows[p]], p ? o.need[p - 1] : std::size_t{0});
      for (auto k : inputs_of(o.rows[p])) o.last_use[k] = static_cast<std::uint32_t>(p + 1);
    }
    arrival = o.rows;
    s.orders.push_back(std::move(o));
  }
  return s;
}

namespace {

// Walks a schedule: fetches, computes chunks, delivers and drops values in the one order both
// the executor and the estimate use. Backend::Value is a ciphertext (executor) or a level
// (estimate).
template <class Backend>
class Runner {
 public:
  using Value = typename Backend::Value;
  Runner(const StreamSchedule& s, Backend& b) : s_(s), b_(b), S_(s.stages.size()) {
    live_.resize(S_);
    words_.resize(S_);
    for (std::size_t i = 0; i < S_; ++i) {
      live_[i].resize(s.stages[i].width_in);
      words_[i].assign(s.stages[i].width_in, 0);
    }
    arrived_.assign(S_ + 1, 0);
    pos_.assign(S_, 0);
    result_.resize(s.stages.back().width_out);
  }

  std::vector<Value> run() {
    const auto& last = s_.orders[S_ - 1];
    while (pos_[S_ - 1] < last.rows.size()) run_chunk(S_ - 1);
    // Source values no row reads: fetched all the same (a source sees every index once).
    while (arrived_[0] < s_.input_order.size()) fetch_next();
    std::vector<Value> out;
    out.reserve(result_.size());
    for (auto& v : result_) out.push_back(std::move(*v));
    return out;
  }
  std::size_t peak_words() const { return peak_; }

 private:
  void add(std::size_t w) {
    cur_ += w;
    peak_ = std::max(peak_, cur_);
  }
  void fetch_next() {
    const std::uint32_t k = s_.input_order[arrived_[0]];
    deliver(0, k, b_.fetch(k));
  }
  void deliver(std::size_t s, std::size_t idx, Value v) {
    ++arrived_[s];
    if (s == S_) {
      add(b_.words(v));
      result_[idx] = std::move(v);
      return;
    }
    b_.seen(s, v);
    if (s_.orders[s].last_use[idx] == 0) return;  // no row reads it
    const std::size_t w = b_.words(v);
    add(w);
    words_[s][idx] = w;
    live_[s][idx] = std::move(v);
  }
  void ensure(std::size_t s, std::size_t count) {
    while (arrived_[s] < count) {
      if (s == 0) fetch_next();
      else run_chunk(s - 1);
    }
  }
  void run_chunk(std::size_t s) {
    const auto& o = s_.orders[s];
    const StreamStage& st = s_.stages[s];
    const std::size_t p = pos_[s], e = std::min(p + kStreamChunkRows, o.rows.size());
    ensure(s, std::max<std::size_t>(o.need[e - 1], 1));  // at least one input: its level and scale
    const std::span<const std::uint32_t> rows(o.rows.data() + p, e - p);
    std::vector<Value> out = b_.compute(s, rows, live_[s]);
    std::size_t ow = 0;
    for (auto& v : out) ow += b_.words(v);
    add(ow);  // the outputs exist before their inputs are dropped
    pos_[s] = e;
    auto drop = [&](std::uint32_t k) {
      if (live_[s][k] && o.last_use[k] <= e) {
        cur_ -= words_[s][k];
        live_[s][k].reset();
      }
    };
    for (auto r : rows) {
      if (st.matrix)
        for (auto k : st.matrix->index[r]) drop(k);
      else
        drop(r);
    }
    cur_ -= ow;  // deliver counts them again where they are kept
    for (std::size_t t = 0; t < rows.size(); ++t) deliver(s + 1, rows[t], std::move(out[t]));
  }

  const StreamSchedule& s_;
  Backend& b_;
  const std::size_t S_;
  std::vector<std::vector<std::optional<Value>>> live_;  // per stage: its inputs, by index
  std::vector<std::vector<std::size_t>> words_;
  std::vector<std::size_t> arrived_, pos_;
  std::vector<std::optional<Value>> result_;
  std::size_t cur_ = 0, peak_ = 0;
};

std::size_t ct_words(std::size_t level, std::size_t n) { return 2 * (level + 1) * n; }

// The estimate: values are levels.
struct LevelBackend {
  using Value = int;
  const StreamSchedule& s;
  std::size_t n;
  Value fetch(std::size_t) { return s.input_level; }
  void seen(std::size_t, const Value&) {}
  std::size_t words(const Value& v) const { return ct_words(static_cast<std::size_t>(std::max(v, 0)), n); }
  std::vector<Value> compute(std::size_t stage, std::span<const std::uint32_t> rows, std::vector<std::optional<Value>>&) {
    return std::vector<Value>(rows.size(), s.stages[stage].level_out);
  }
};

// The executor: values are ciphertexts.
struct CipherBackend {
  using Value = Ciphertext;
  CipherBackend(const StreamSchedule& s_, const StreamContext& ctx_, std::vector<OpCounts>* ops_)
      : s(s_), ctx(ctx_), ops(ops_), like(s_.stages.size()) {}
  const StreamSchedule& s;
  const StreamContext& ctx;
  std::vector<OpCounts>* ops;  // per model layer, or null
  std::mutex mu;
  struct Like {  // the level and scale of a stage's inputs (for all-zero rows)
    std::size_t level = 0;
    double scale = 1;
    ckks::ParamsId params_id{};
  };
  std::vector<std::optional<Like>> like;

  Value fetch(std::size_t k) { return ctx.fetch(k); }
  void seen(std::size_t stage, const Value& v) {
    if (!like[stage]) like[stage] = Like{v.level, v.scale, v.params_id};
  }
  std::size_t words(const Value& v) const {
    std::size_t w = 0;
    for (auto& p : v.polys) w += p.limbs() * p.n();
    return w;
  }
  std::vector<Value> compute(std::size_t stage, std::span<const std::uint32_t> rows, std::vector<std::optional<Value>>& live) {
    const StreamStage& st = s.stages[stage];
    std::vector<Value> out(rows.size());
    if (st.matrix) {
      const SparseMatrix& m = *st.matrix;
      std::vector<const Ciphertext*> ptrs;
      std::unordered_map<std::uint32_t, std::uint32_t> slot;
      std::vector<ckks::Evaluator::SparseRow> dot_rows;
      std::vector<std::size_t> which;
      for (std::size_t t = 0; t < rows.size(); ++t) {
        const std::uint32_t r = rows[t];
        if (m.index[r].empty()) continue;
        ckks::Evaluator::SparseRow row;
        for (auto c : m.index[r]) {
          auto [it, fresh] = slot.emplace(c, static_cast<std::uint32_t>(ptrs.size()));
          if (fresh) ptrs.push_back(&*live[c]);
          row.index.push_back(it->second);
        }
        row.weight = m.weight[r];
        dot_rows.push_back(std::move(row));
        which.push_back(t);
      }
      if (!dot_rows.empty()) {
        auto res = ctx.eval_pool->dot_products(ptrs, dot_rows);
        for (std::size_t i = 0; i < res.size(); ++i) out[which[i]] = std::move(res[i]);
      }
    } else {
      for (std::size_t t = 0; t < rows.size(); ++t) out[t] = std::move(*live[rows[t]]);
    }
    const Like in = *like[stage];
    ctx.for_each(rows.size(), [&](std::size_t t) {
      OpCounts lin;
      std::vector<OpCounts> act(st.activations.size());
      Ciphertext& c = out[t];
      if (st.matrix) {
        const std::uint32_t r = rows[t];
        if (st.matrix->index[r].empty()) {  // an all-zero row: zero at the level the others reach
          c.level = in.level - 1;
          c.scale = in.scale;
          c.params_id = in.params_id;
          const std::size_t n = ctx.eval->params().n();
          c.polys.assign(2, ckks::RnsPoly::zeros(n, in.level));
        } else {
          ctx.eval->rescale_inplace(c);
          lin.dot_terms += st.matrix->index[r].size();
          lin.rescales += 1;
        }
        if (st.matrix->bias[r] != 0) {
          ctx.eval->add_const_inplace(c, st.matrix->bias[r]);
          lin.additions += 1;
        }
      }
      for (std::size_t a = 0; a < st.activations.size(); ++a) {
        const auto& f = st.activations[a];
        c = f.coefficients ? polynomial(*ctx.eval, c, *f.coefficients, *ctx.relin, &act[a])
                           : square(*ctx.eval, c, *ctx.relin, &act[a]);
      }
      // A rescaled polynomial keeps the buffer of its level before (a vector shrinks without
      // freeing); the value lives until its last reader, and the plan counts level + 1 limbs,
      // so hold it in a buffer of its size.
      for (auto& p : c.polys) p = ckks::RnsPoly(p);
      if (ops) {
        std::lock_guard<std::mutex> lock(mu);
        if (st.matrix) (*ops)[st.linear_layer] += lin;
        for (std::size_t a = 0; a < act.size(); ++a) (*ops)[st.activations[a].layer] += act[a];
      }
    });
    return out;
  }
};

std::size_t layer_count(const StreamSchedule& s) {
  std::size_t n = 0;
  for (const auto& st : s.stages) {
    if (st.matrix) n = std::max(n, st.linear_layer + 1);
    for (const auto& a : st.activations) n = std::max(n, a.layer + 1);
  }
  return n;
}

}  // namespace

std::size_t stream_peak_words(const StreamSchedule& s, std::size_t n) {
  LevelBackend b{s, n};
  Runner<LevelBackend> r(s, b);
  r.run();
  return r.peak_words();
}

std::vector<OpCounts> stream_layer_ops(const StreamSchedule& s, std::size_t layers) {
  std::vector<OpCounts> ops(std::max(layers, layer_count(s)));
  for (const StreamStage& st : s.stages) {
    if (st.matrix) {
      OpCounts& o = ops[st.linear_layer];
      for (std::size_t r = 0; r < st.matrix->rows; ++r) {
        if (!st.matrix->index[r].empty()) {
          o.dot_terms += st.matrix->index[r].size();
          o.rescales += 1;
        }
        if (st.matrix->bias[r] != 0) o.additions += 1;
      }
    }
    for (const auto& a : st.activations) {
      const OpCounts one = a.coefficients ? polynomial_ops(*a.coefficients) : square_ops();
      for (std::size_t i = 0; i < st.width_out; ++i) ops[a.layer] += one;
    }
  }
  return ops;
}

std::vector<Ciphertext> stream_evaluate(const StreamSchedule& s, const StreamContext& ctx, StreamStats* stats) {
  std::vector<OpCounts> ops;
  if (stats) ops.resize(layer_count(s));
  CipherBackend b(s, ctx, stats ? &ops : nullptr);
  Runner<CipherBackend> r(s, b);
  auto out = r.run();
  if (stats) {
    stats->layer_ops = std::move(ops);
    stats->peak_words = r.peak_words();
  }
  return out;
}

}  // namespace hemi::he
