#include "hemi/he/multiplexed_conv.h"

#include <atomic>
#include <map>

#include "hemi/he/activations.h"

namespace hemi::he {

using ckks::Ciphertext;

namespace {

ckks::Params params_for(const Plan& plan) {
  auto p = ckks::Params::create(plan.params);
  if (!p) throw Error("multiplexed executor: CKKS parameters refused: " + p.error());
  return std::move(p).value();
}

// Counts shared by the tasks of one op.
struct Counter {
  std::atomic<std::uint64_t> rotations{0}, hoisted_groups{0}, relinearizations{0}, rescales{0}, plain_multiplies{0},
      additions{0}, encodes{0};
  OpCounts get() const {
    OpCounts o;
    o.rotations = rotations;
    o.hoisted_groups = hoisted_groups;
    o.relinearizations = relinearizations;
    o.rescales = rescales;
    o.plain_multiplies = plain_multiplies;
    o.additions = additions;
    o.encodes = encodes;
    return o;
  }
};

}  // namespace

MultiplexedExecutor::MultiplexedExecutor(const Plan& plan, const nn::Model& model)
    : plan_(plan), model_(model), params_(params_for(plan)), encoder_(params_) {
  // The plan's program, step by step (Plan::create checked it against itself; mux_program
  // checks it against the model); the model gives only the weights.
  program_ = mux_program(plan_, model_, params_.slots());
  cache_ = std::make_unique<PlaintextCache>(plan_.plaintext_cache_bytes);
}

Ciphertext MultiplexedExecutor::run(const Ciphertext& input, const ckks::RelinKey& relin, const ckks::GaloisKeys& galois,
                                    ThreadPool* pool, std::vector<OpCounts>* counts,
                                    std::vector<OpOutput>* outputs) const {
  const ckks::Evaluator eval(params_);             // inside pool tasks
  const ckks::Evaluator eval_pool(params_, pool);  // spreads itself
  auto for_each = [&](std::size_t n, const std::function<void(std::size_t)>& f) {
    if (pool && n > 1) return pool->parallel_for(0, n, f);
    for (std::size_t i = 0; i < n; ++i) f(i);
  };
  if (counts) counts->assign(model_.layers().size(), OpCounts{});
  const MuxFormat& f = program_.format;
  std::vector<Ciphertext> x{input};
  for (std::size_t oi = 0; oi < program_.ops.size(); ++oi) {
    const MuxOp& op = program_.ops[oi];
    Counter cnt;
    if (static_cast<int>(x.size()) != op.in_cts) throw Error("multiplexed executor: internal: ciphertext count");
    OpCounts elementwise;  // counted by activations.h as it runs, per ciphertext
    if (op.kind == MuxOp::kSquare || op.kind == MuxOp::kPolynomial) {
      std::vector<OpCounts> each(x.size());
      for_each(x.size(), [&](std::size_t t) {
        x[t] = op.kind == MuxOp::kSquare ? square(x.size() > 1 ? eval : eval_pool, x[t], relin, &each[t])
                                         : polynomial(x.size() > 1 ? eval : eval_pool, x[t], op.coefficients, relin, &each[t]);
      });
      for (const OpCounts& e : each) elementwise += e;
    } else {
      // The fused (or standalone) pooling: sums of hoisted rotations.
      if (!op.pool_steps.empty())
        for_each(x.size(), [&](std::size_t t) {
          auto r = (x.size() > 1 ? eval : eval_pool).rotate_hoisted(x[t], op.pool_steps, galois);
          cnt.rotations += r.size();
          cnt.hoisted_groups += 1;
          for (auto& c : r) eval.add_inplace(x[t], c);
          cnt.additions += r.size();
        });
      if (op.kind == MuxOp::kPoolOnly) {
        for_each(x.size(), [&](std::size_t t) {
          eval.multiply_const_inplace(x[t], op.weight_factor);
          eval.rescale_inplace(x[t]);
          cnt.rescales += 1;
        });
      } else {
        const nn::Layer& layer = program_.layer(model_, op.layer);
        // Baby steps: every offset of every input ciphertext, hoisted per ciphertext.
        const auto babies = op.babies();
        std::vector<std::map<int, Ciphertext>> rotated(x.size());
        for_each(x.size(), [&](std::size_t t) {
          if (babies[t].empty()) return;
          auto r = (x.size() > 1 ? eval : eval_pool).rotate_hoisted(x[t], babies[t], galois);
          cnt.rotations += r.size();
          cnt.hoisted_groups += 1;
          for (std::size_t k = 0; k < r.size(); ++k) rotated[t].emplace(babies[t][k], std::move(r[k]));
        });
        auto input_for = [&](int in_ct, int offset) -> const Ciphertext* {
          return offset == 0 ? &x[static_cast<std::size_t>(in_ct)] : &rotated[static_cast<std::size_t>(in_ct)].at(offset);
        };
        const std::size_t level = x[0].level;
        const double q_level = static_cast<double>(params_.q()[level].value);
        // Terms by output ciphertext (they are sorted by out_ct, then r).
        std::vector<std::size_t> first(static_cast<std::size_t>(op.out_cts) + 1, op.terms.size());
        for (std::size_t i = op.terms.size(); i-- > 0;) first[static_cast<std::size_t>(op.terms[i].out_ct)] = i;
        for (int t = op.out_cts; t-- > 0;)
          if (first[static_cast<std::size_t>(t)] > first[static_cast<std::size_t>(t) + 1]) first[static_cast<std::size_t>(t)] = first[static_cast<std::size_t>(t) + 1];
        std::vector<Ciphertext> out(static_cast<std::size_t>(op.out_cts));
        const std::uint64_t op_key = static_cast<std::uint64_t>(oi) << 40;
        constexpr std::size_t kChunk = 16;  // plaintexts alive per task
        auto compute = [&](std::size_t to) {
          std::optional<Ciphertext> acc;
          std::size_t i = first[to];
          const std::size_t end = first[to + 1];
          while (i < end) {
            const int r = op.terms[i].r;
            std::optional<Ciphertext> inner;
            while (i < end && op.terms[i].r == r) {
              std::vector<std::shared_ptr<const ckks::Plaintext>> pts;
              std::vector<const ckks::Plaintext*> pp;
              std::vector<const Ciphertext*> cp;
              for (std::size_t k = 0; k < kChunk && i < end && op.terms[i].r == r; ++k, ++i) {
                const MuxTerm& term = op.terms[i];
                pts.push_back(cache_->get(op_key | i, [&] {
                  cnt.encodes += 1;
                  return encoder_.encode(mux_term_values(program_, op, term, layer), level, q_level);
                }));
                pp.push_back(pts.back().get());
                cp.push_back(input_for(term.in_ct, op.offsets[static_cast<std::size_t>(term.offset)]));
              }
              Ciphertext s = eval.multiply_plain_sum(cp, pp);
              cnt.plain_multiplies += pp.size();
              cnt.additions += pp.size();
              if (inner) eval.add_inplace(*inner, s);
              else inner = std::move(s);
            }
            if (r) {
              inner = eval.rotate(*inner, static_cast<int>(static_cast<std::size_t>(r) * f.block), galois);
              cnt.rotations += 1;
              cnt.additions += 1;
            }
            if (acc) eval.add_inplace(*acc, *inner);
            else acc = std::move(inner);
          }
          if (!acc) throw Error("multiplexed executor: internal: an output ciphertext without products");
          for (int s : op.sum_steps) {
            eval.add_inplace(*acc, eval.rotate(*acc, s, galois));
            cnt.rotations += 1;
            cnt.additions += 1;
          }
          eval.rescale_inplace(*acc);
          cnt.rescales += 1;
          if (op.has_bias) {
            auto b = cache_->get(op_key | (std::uint64_t{1} << 39) | to, [&] {
              cnt.encodes += 1;
              return encoder_.encode(mux_bias_values(program_, op, static_cast<int>(to), layer), acc->level, acc->scale);
            });
            eval.add_plain_inplace(*acc, *b);
          }
          out[to] = std::move(*acc);
        };
        for_each(out.size(), compute);
        x = std::move(out);
      }
    }
    if (counts) {
      (*counts)[op.layer] += cnt.get();
      (*counts)[op.layer] += elementwise;
    }
    if (outputs) outputs->push_back({op.layer, static_cast<int>(x[0].level), x[0].scale});
  }
  if (x.size() != 1) throw Error("multiplexed executor: internal: the logits span several ciphertexts");
  return std::move(x[0]);
}

}  // namespace hemi::he
