#include "hemi/quant/latency.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "hemi/base/clock.h"
#include "hemi/bfv/encoder.h"
#include "hemi/bfv/encryptor.h"
#include "hemi/bfv/evaluator.h"
#include "hemi/bfv/noise.h"
#include "hemi/bfv/serialize.h"
#include "hemi/ring/serialize.h"
#include "hemi/quant/throughput.h"

namespace hemi::quant {

using math::u64;

namespace {

// log2(2^a + 2^b)
double log2_sum(double a, double b) {
  if (std::isinf(a) && a < 0) return b;
  if (std::isinf(b) && b < 0) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log2(1 + std::exp2(lo - hi));
}

// Diagonals per giant group (g = d - d mod B).
std::map<std::uint64_t, std::size_t> group_sizes(const LatencyLinear& l) {
  std::map<std::uint64_t, std::size_t> sizes;
  for (const auto& [d, entries] : l.diagonals) ++sizes[d - d % l.baby];
  return sizes;
}

std::vector<bfv::Params> make_params(const Plan& plan) {
  std::vector<bfv::Params> ps;
  for (const auto& lit : plan.params) ps.push_back(bfv::Params::create(lit).value());
  return ps;
}

}  // namespace

std::string LatencyPlan::summary() const { return plan.summary() + "; latency: " + layout.summary(); }

std::vector<double> simulate_latency(const LatencyLayout& layout, const bfv::Params& p) {
  bfv::NoiseEstimator est(p);
  const std::size_t top = p.max_level();
  const double t = static_cast<double>(p.t().value);
  double v = est.fresh_symmetric(top);  // the client uploads a seeded symmetric ciphertext
  std::vector<double> budgets;
  for (const LatencyStep& s : layout.steps) {
    if (s.square) {
      v = est.key_switch(est.multiply(v, v, top), top);
    } else {
      const LatencyLinear& l = s.linear;
      const double baby = l.baby_steps.empty() ? v : est.key_switch(v, top);  // rot(x, 0) is x itself
      double sum = -INFINITY;
      for (const auto& [g, count] : group_sizes(l)) {
        // count plaintext products, each with coefficients of at most t/2 (a batch-encoded vector)
        double inner = est.multiply_plain(baby, t / 2) + std::log2(static_cast<double>(count));
        if (g != 0) inner = est.key_switch(inner, top);
        sum = log2_sum(sum, inner);
      }
      for (std::size_t f = 0; f < l.fold_steps.size(); ++f) sum = log2_sum(sum, est.key_switch(sum, top));  // y + rot(y, f)
      if (l.swap_rows) sum = log2_sum(sum, est.key_switch(sum, top));  // y + rotate_columns(y)
      // The bias plaintext is added as round(Q b / t): its rounding adds at most t / (2 Q).
      v = est.add(sum, std::log2(t / 2) - p.log2_q(top));
    }
    budgets.push_back(bfv::NoiseEstimator::budget(v));
  }
  return budgets;
}

namespace {
std::size_t widest_layer(const QuantizedModel& qm) {
  std::size_t widest = qm.input_size;
  for (const QOp& op : qm.ops) widest = std::max({widest, op.inputs, op.outputs});
  return widest;
}

// The smallest ring whose rows hold every layer's inputs and outputs.
int min_latency_log_n(const QuantizedModel& qm) {
  int log_n = 1;
  while ((std::size_t{1} << (log_n - 1)) < widest_layer(qm)) ++log_n;
  return log_n;
}

std::size_t digits_of(const bfv::ParamsLiteral& lit) {
  const std::size_t p = std::max<std::size_t>(1, lit.p_bits.size());
  return (lit.q_bits.size() + p - 1) / p;
}
}  // namespace

std::size_t latency_server_bytes(const LatencyLayout& layout, const bfv::ParamsLiteral& lit, std::size_t primes) {
  const std::size_t n = std::size_t{1} << lit.log_n, q = lit.q_bits.size(), qp = q + lit.p_bits.size();
  const std::size_t key = digits_of(lit) * 4 * qp * n * 8;
  std::size_t working = 0;
  for (const LatencyStep& s : layout.steps)
    if (!s.square) working = std::max(working, s.linear.baby_steps.size() + 4);
  const std::size_t per_prime = (layout.galois_keys() + 1) * key + layout.plaintext_products() * n * 8 +
                                working * 3 * q * n * 8;
  return primes * per_prime;
}

double latency_cost(const LatencyLayout& layout, const bfv::ParamsLiteral& lit, std::size_t primes) {
  const double n = std::ldexp(1.0, lit.log_n), limbs = static_cast<double>(lit.q_bits.size());
  return static_cast<double>(primes) * n * lit.log_n *
         (limbs * static_cast<double>(layout.plaintext_products()) +
          static_cast<double>(digits_of(lit)) * (limbs + 1) * static_cast<double>(layout.rotations()));
}

// One plaintext prime size.
static Result<LatencyPlan> compile_latency_one(const QuantizedModel& qm, const CompileOptions& o);

Result<LatencyPlan> compile_latency(const QuantizedModel& qm, const CompileOptions& o) {
  using R = Result<LatencyPlan>;
  if (min_latency_log_n(qm) > 16)
    return R::failure("latency packing: a layer of " + std::to_string(widest_layer(qm)) + " values does not fit the 2^15 slots of a row at N = 2^16");
  std::vector<int> t_bits = o.latency_t_bits;
  if (t_bits.empty()) t_bits = {o.t_bits};
  std::optional<LatencyPlan> best;
  std::string reasons;
  for (int tb : t_bits) {
    CompileOptions one = o;
    one.t_bits = tb;
    auto p = compile_latency_one(qm, one);
    if (!p) {
      reasons += (reasons.empty() ? "" : "; ") + std::to_string(tb) + "-bit primes: " + p.error();
      continue;
    }
    if (!best || p.value().cost < best->cost) best = std::move(p.value());
  }
  if (!best) return R::failure("latency packing: " + reasons);
  return std::move(*best);
}

static Result<LatencyPlan> compile_latency_one(const QuantizedModel& qm, const CompileOptions& o) {
  using R = Result<LatencyPlan>;
  const std::size_t primes = plaintext_primes(qm, o.t_bits);
  const int min_log_n = min_latency_log_n(qm);
  std::map<std::size_t, Result<LatencyLayout>> layouts;  // by S: the layout depends on the ring only
  auto layout_for = [&](std::size_t slots) -> const Result<LatencyLayout>& {
    auto it = layouts.find(slots);
    if (it == layouts.end()) it = layouts.emplace(slots, plan_latency_layout(qm, slots)).first;
    return it->second;
  };
  auto plan = compile_with(
      qm, o,
      [&](const bfv::Params& p) -> Result<std::vector<double>> {
        const auto& layout = layout_for(p.n() / 2);
        if (!layout) return Result<std::vector<double>>::failure(layout.error());
        return simulate_latency(layout.value(), p);
      },
      min_log_n,
      [&](const bfv::ParamsLiteral& lit) -> std::optional<std::string> {
        const auto& layout = layout_for((std::size_t{1} << lit.log_n) / 2);
        if (!layout) return layout.error();
        const std::size_t bytes = latency_server_bytes(layout.value(), lit, primes);
        if (bytes <= o.max_server_bytes) return std::nullopt;
        return "the server would hold " + std::to_string(bytes >> 20) + " MiB (keys for " +
               std::to_string(layout.value().galois_keys()) + " rotations, encoded diagonals) at N = 2^" +
               std::to_string(lit.log_n) + " with " + std::to_string(lit.q_bits.size()) + " primes, more than the " +
               std::to_string(o.max_server_bytes >> 20) + " MiB allowed";
      });
  if (!plan) return R::failure(plan.error());
  LatencyPlan lp;
  lp.plan = std::move(plan.value());
  lp.layout = layout_for((std::size_t{1} << lp.plan.params.front().log_n) / 2).value();
  lp.server_bytes = latency_server_bytes(lp.layout, lp.plan.params.front(), lp.plan.t.size());
  lp.cost = latency_cost(lp.layout, lp.plan.params.front(), lp.plan.t.size());
  return lp;
}

// ---- client ----

LatencyClient::LatencyClient(const LatencyPlan& plan) : plan_(plan), params_(make_params(plan.plan)) {
  for (const auto& p : params_) sk_.push_back(bfv::KeyGenerator(p).secret_key());
}

LatencyEvalKeys LatencyClient::eval_keys() {
  LatencyEvalKeys k;
  const std::vector<int> steps = plan_.layout.rotation_steps();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    bfv::KeyGenerator gen(params_[i]);
    k.relin.push_back(gen.relin_key(sk_[i]));
    k.galois.push_back(gen.galois_keys(sk_[i], steps, plan_.layout.column_swap()));  // the swap only if a layer uses row 1
    k.bytes += ring::serialize(k.relin.back(), params_[i].ring()).size() + ring::serialize(k.galois.back(), params_[i].ring()).size();
  }
  return k;
}

std::vector<bfv::SeededCiphertext> LatencyClient::encrypt(const std::vector<std::int64_t>& input) {
  if (input.size() != plan_.layout.input_size)
    throw Error("latency client: the image has " + std::to_string(input.size()) + " values, the model takes " +
                std::to_string(plan_.layout.input_size));
  const std::vector<std::int64_t> slots = plan_.layout.upload(input);  // the image, or its gathered form
  std::vector<bfv::SeededCiphertext> cts;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    bfv::SymmetricEncryptor enc(params_[i], sk_[i]);
    cts.push_back(enc.encrypt_seeded(bfv::Encoder(params_[i]).encode(slots)));  // row 0
  }
  return cts;
}

std::vector<i128> LatencyClient::decrypt(const std::vector<bfv::Ciphertext>& results) const {
  if (results.size() != params_.size())
    throw Error("latency client: " + std::to_string(results.size()) + " results for " + std::to_string(params_.size()) + " plaintext primes");
  const auto classes = static_cast<std::size_t>(plan_.layout.classes);
  std::vector<std::vector<u64>> residues(classes, std::vector<u64>(params_.size()));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto values = bfv::Encoder(params_[i]).decode(bfv::Decryptor(params_[i], sk_[i]).decrypt(results[i]));
    for (std::size_t c = 0; c < classes; ++c) residues[c][i] = math::from_signed(values[c], params_[i].t().value);
  }
  std::vector<i128> logits(classes);
  for (std::size_t c = 0; c < classes; ++c) logits[c] = crt_centred(residues[c], plan_.plan.t);
  return logits;
}

double LatencyClient::min_budget_bits(const std::vector<bfv::Ciphertext>& results) const {
  double b = 1e9;
  for (std::size_t i = 0; i < params_.size(); ++i) b = std::min(b, bfv::Decryptor(params_[i], sk_[i]).noise_budget(results[i]));
  return b;
}

// ---- server ----

LatencyServer::LatencyServer(const LatencyPlan& plan, LatencyEvalKeys keys, ThreadPool* pool)
    : plan_(plan), keys_(std::move(keys)), pool_(pool), params_(make_params(plan.plan)) {
  if (keys_.relin.size() != params_.size() || keys_.galois.size() != params_.size())
    throw Error("latency server: " + std::to_string(keys_.relin.size()) + " relinearization and " + std::to_string(keys_.galois.size()) +
                " Galois key sets for a plan of " + std::to_string(params_.size()) + " plaintext primes");
  const std::size_t slots = plan.layout.row_slots, n = 2 * slots;
  for (const bfv::Params& p : params_) {
    if (p.n() != n) throw Error("latency server: the layout is for N = " + std::to_string(n) + ", the plan's ring has " + std::to_string(p.n()));
    const bfv::Encoder encoder(p);
    const u64 t = p.t().value;
    std::vector<Encoded> steps;
    for (const LatencyStep& s : plan.layout.steps) {
      Encoded e;
      if (!s.square) {
        const LatencyLinear& l = s.linear;
        std::map<std::uint64_t, std::size_t> group_of;
        std::vector<std::int64_t> values(n);
        for (const auto& [d, entries] : l.diagonals) {
          const u64 b = d % l.baby, g = d - b;
          auto [it, fresh] = group_of.emplace(g, e.giant.size());
          if (fresh) {
            e.giant.push_back(g ? signed_step(g, slots) : 0);
            e.terms.emplace_back();
          }
          // Pre-rotated by -g: the entry for output slot i goes to slot (i + g) mod S.
          std::fill(values.begin(), values.end(), 0);
          for (auto [i, w] : entries) values[i / slots * slots + (i % slots + g) % slots] = centred_mod(w, t);  // within its row
          e.terms[it->second].push_back({b ? signed_step(b, slots) : 0, encoder.encode(values)});
        }
        std::fill(values.begin(), values.end(), 0);
        for (std::size_t i = 0; i < l.bias.size(); ++i) values[i] = centred_mod(l.bias[i], t);
        e.bias = encoder.encode(values);
      }
      steps.push_back(std::move(e));
    }
    encoded_.push_back(std::move(steps));
  }
}

std::size_t LatencyServer::plaintext_bytes() const {
  std::size_t b = 0;
  for (const auto& prime : encoded_)
    for (const Encoded& e : prime) {
      for (const auto& group : e.terms) b += group.size() * e.bias.coeffs.size() * sizeof(u64);
      b += e.bias.coeffs.size() * sizeof(u64);
    }
  return b;
}

std::vector<bfv::Ciphertext> LatencyServer::evaluate(const std::vector<bfv::SeededCiphertext>& image) const {
  if (image.size() != params_.size())
    throw Error("latency server: " + std::to_string(image.size()) + " ciphertexts for " + std::to_string(params_.size()) + " plaintext primes");
  std::vector<bfv::Ciphertext> out;
  for (std::size_t pi = 0; pi < params_.size(); ++pi) {
    const bfv::Evaluator eval(params_[pi], pool_);
    const bfv::GaloisKeys& gk = keys_.galois[pi];
    bfv::Ciphertext x = bfv::SymmetricEncryptor::expand(params_[pi], image[pi]);
    for (std::size_t si = 0; si < plan_.layout.steps.size(); ++si) {
      const LatencyStep& s = plan_.layout.steps[si];
      if (s.square) {
        x = eval.square(x);
        eval.relinearize_inplace(x, keys_.relin[pi]);
        continue;
      }
      const Encoded& e = encoded_[pi][si];
      // Baby steps: every rotation of x the layer uses, from one hoisted decomposition.
      std::map<int, bfv::Ciphertext> rotated;
      const std::vector<int>& babies = s.linear.baby_steps;
      if (!babies.empty()) {
        auto r = eval.rotate_rows_hoisted(x, babies, gk);
        rotations_ += babies.size();
        for (std::size_t k = 0; k < babies.size(); ++k) rotated.emplace(babies[k], std::move(r[k]));
      }
      bfv::Ciphertext y;
      bool started = false;
      for (std::size_t gi = 0; gi < e.giant.size(); ++gi) {
        bfv::Ciphertext inner;
        for (std::size_t k = 0; k < e.terms[gi].size(); ++k) {
          const auto& [b, pt] = e.terms[gi][k];
          bfv::Ciphertext term = b == 0 ? x : rotated.at(b);
          eval.multiply_plain_inplace(term, pt);
          if (k == 0)
            inner = std::move(term);
          else
            eval.add_inplace(inner, term);
        }
        if (e.giant[gi] != 0) {
          inner = eval.rotate_rows(inner, e.giant[gi], gk);
          ++rotations_;
        }
        if (started) {
          eval.add_inplace(y, inner);
        } else {
          y = std::move(inner);
          started = true;
        }
      }
      for (int f : s.linear.fold_steps) {  // hybrid: y_r = sum_q z_{r + q m}
        eval.add_inplace(y, eval.rotate_rows(y, f, gk));
        ++rotations_;
      }
      if (s.linear.swap_rows) {  // gathered over both rows: row 1's partial sums onto row 0's
        eval.add_inplace(y, eval.rotate_columns(y, gk));
        ++rotations_;
      }
      eval.add_plain_inplace(y, e.bias);
      x = std::move(y);
    }
    eval.mod_switch_to_inplace(x, plan_.plan.download_level);
    out.push_back(std::move(x));
  }
  return out;
}

// ---- one process, image by image ----

LatencyResult run_latency(const QuantizedModel& qm, const LatencyPlan& plan, const std::vector<std::vector<std::int64_t>>& inputs,
                          ThreadPool* pool) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].size() != qm.input_size)
      throw Error("run_latency: image " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
                  " values, the model takes " + std::to_string(qm.input_size));
  if (plan.plan.params.empty()) throw Error("run_latency: empty plan");
  LatencyResult res;
  const auto classes = static_cast<std::size_t>(qm.classes);
  const std::size_t k = plan.plan.t.size(), count = inputs.size();
  // residues[image * classes + c][prime]
  std::vector<std::vector<u64>> residues(count * classes, std::vector<u64>(k));
  res.min_budget_bits = 1e9;
  // One plaintext prime at a time: its keys and encoded model are freed before the next's are
  // made, so the process holds a k-th of what a server of all primes holds (the per-image time
  // is the sum over primes either way: they run one after the other).
  for (std::size_t pi = 0; pi < k; ++pi) {
    LatencyPlan one = plan;
    one.plan.params = {plan.plan.params[pi]};
    one.plan.t = {plan.plan.t[pi]};
    const bfv::Params params = bfv::Params::create(one.plan.params.front()).value();
    const u64 t = params.t().value;
    auto t0 = std::chrono::steady_clock::now();
    LatencyClient client(one);
    LatencyEvalKeys keys = client.eval_keys();
    res.eval_key_bytes += keys.bytes;
    res.galois_keys = keys.galois.front().keys.size();
    res.keygen_s += seconds_since(t0);
    res.secret_key_bytes += ring::serialize(bfv::KeyGenerator(params).secret_key(), params.ring()).size();  // the client's size
    t0 = std::chrono::steady_clock::now();
    const LatencyServer server(one, std::move(keys), pool);
    res.setup_s += seconds_since(t0);
    res.plaintext_bytes += server.plaintext_bytes();
    for (std::size_t img = 0; img < count; ++img) {
      t0 = std::chrono::steady_clock::now();
      double c0 = process_cpu_seconds();
      const auto up = client.encrypt(inputs[img]);
      res.upload_bytes += bfv::serialize(up.front(), params).size();
      res.encrypt_s += seconds_since(t0);
      res.encrypt_cpu_s += process_cpu_seconds() - c0;
      t0 = std::chrono::steady_clock::now();
      c0 = process_cpu_seconds();
      const auto down = server.evaluate(up);
      res.evaluate_s += seconds_since(t0);
      res.evaluate_cpu_s += process_cpu_seconds() - c0;
      t0 = std::chrono::steady_clock::now();
      res.download_bytes += bfv::serialize(down.front(), params).size();
      const auto centred = client.decrypt(down);  // one prime: the centred residues
      for (std::size_t c = 0; c < classes; ++c)
        residues[img * classes + c][pi] = static_cast<u64>(centred[c] < 0 ? centred[c] + static_cast<i128>(t) : centred[c]);
      res.decrypt_s += seconds_since(t0);
      res.min_budget_bits = std::min(res.min_budget_bits, client.min_budget_bits(down));
    }
    res.rotations += server.rotations_done();
  }
  auto t0 = std::chrono::steady_clock::now();
  res.logits.resize(count * classes);
  for (std::size_t i = 0; i < count * classes; ++i) res.logits[i] = crt_centred(residues[i], plan.plan.t);
  for (std::size_t img = 0; img < count; ++img) res.predicted.push_back(argmax(res.logits.data() + img * classes, qm.classes));
  res.decrypt_s += seconds_since(t0);
  return res;
}

}  // namespace hemi::quant
