#include "hemi/quant/throughput.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <functional>

#include "hemi/base/clock.h"
#include "hemi/bfv/encoder.h"
#include "hemi/bfv/encryptor.h"
#include "hemi/bfv/evaluator.h"
#include "hemi/bfv/serialize.h"
#include "hemi/ring/serialize.h"

namespace hemi::quant {

using math::u64;

std::int64_t centred_mod(i128 v, u64 t) {
  i128 r = v % static_cast<i128>(t);
  if (r < 0) r += t;
  if (r > static_cast<i128>(t / 2)) r -= t;
  return static_cast<std::int64_t>(r);
}

i128 crt_centred(const std::vector<u64>& residues, const std::vector<u64>& t) {
  const std::size_t k = t.size();
  HEMI_ASSERT(residues.size() == k);
  std::vector<math::Modulus> m;
  for (u64 x : t) m.emplace_back(x);
  // Balanced mixed radix: x = sum_j d_j M_j, M_j = t_0 ... t_{j-1}, d_j in (-t_j/2, t_j/2].
  std::vector<std::int64_t> d(k);
  for (std::size_t j = 0; j < k; ++j) {
    // (x - sum_{i<j} d_i M_i) / M_j mod t_j
    u64 acc = 0, mj = 1;
    for (std::size_t i = 0; i < j; ++i) {
      acc = math::add_mod(acc, math::mul_mod(math::from_signed(d[i], t[j]), mj, m[j]), t[j]);
      mj = math::mul_mod(mj, t[i] % t[j], m[j]);
    }
    const u64 diff = math::sub_mod(residues[j] % t[j], acc, t[j]);
    const u64 dj = math::mul_mod(diff, math::inv_mod(mj, m[j]), m[j]);
    d[j] = dj > t[j] / 2 ? static_cast<std::int64_t>(dj) - static_cast<std::int64_t>(t[j]) : static_cast<std::int64_t>(dj);
  }
  i128 x = 0;
  long double mj_ld = 1;
  i128 mj = 1;
  for (std::size_t j = 0; j < k; ++j) {
    if (d[j] != 0) {
      if (mj_ld >= 0x1p126L) throw Error("crt: the value does not fit in 128 bits");
      x += static_cast<i128>(d[j]) * mj;
    }
    mj_ld *= static_cast<long double>(t[j]);
    if (mj_ld < 0x1p126L) mj *= static_cast<i128>(t[j]);
  }
  return x;
}

int argmax(const i128* logits, int classes) {
  int best = 0;
  for (int c = 1; c < classes; ++c)
    if (logits[c] > logits[best]) best = c;
  return best;
}

ThroughputResult run_throughput(const QuantizedModel& qm, const Plan& plan, const std::vector<std::vector<std::int64_t>>& inputs,
                                ThreadPool* pool) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].size() != qm.input_size)
      throw Error("run_throughput: image " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
                  " values, the model takes " + std::to_string(qm.input_size));
  if (plan.params.empty()) throw Error("run_throughput: empty plan");
  ThroughputResult res;
  const std::size_t count = inputs.size(), classes = static_cast<std::size_t>(qm.classes);
  const std::size_t k = plan.params.size();
  // residues[prime][image * classes + c]
  std::vector<std::vector<u64>> residues(k, std::vector<u64>(count * classes));
  res.min_budget_bits = 1e9;
  for (std::size_t pi = 0; pi < k; ++pi) {
    auto t0 = std::chrono::steady_clock::now();
    const bfv::Params params = bfv::Params::create(plan.params[pi]).value();
    bfv::KeyGenerator keygen(params);
    const bfv::SecretKey sk = keygen.secret_key();
    const bfv::RelinKey rk = keygen.relin_key(sk);
    res.eval_key_bytes += ring::serialize(rk, params.ring()).size();
    res.secret_key_bytes += ring::serialize(sk, params.ring()).size();
    res.keygen_s += seconds_since(t0);
    const bfv::Encoder encoder(params);
    const bfv::Decryptor dec(params, sk);
    // Threads work on different neurons (whole ciphertexts), not on the limbs of one: every
    // neuron is independent and the ring has only a few limbs, so this keeps both cores busy.
    const bfv::Evaluator eval(params);
    const bfv::Evaluator layer_eval(params, pool);  // whole layers: blocks of every limb over the pool
    const u64 t = params.t().value;
    const std::size_t slots = params.slots();
    auto each = [&](std::size_t items, const std::function<void(std::size_t)>& f) {
      if (pool) return pool->parallel_for(0, items, f);
      for (std::size_t i = 0; i < items; ++i) f(i);
    };
    const std::size_t workers = pool ? pool->size() : 1;
    for (std::size_t first = 0; first < count; first += slots) {
      const std::size_t batch = std::min(slots, count - first);
      if (pi == 0) ++res.batches;
      // Client: one seeded ciphertext per input neuron, slot s = image first + s; one
      // encryptor (own random seed) per worker, each on a contiguous share of the neurons.
      t0 = std::chrono::steady_clock::now();
      double c0 = process_cpu_seconds();
      std::vector<bfv::Ciphertext> x(qm.input_size);
      std::vector<std::size_t> up(workers, 0);
      each(workers, [&](std::size_t w) {
        bfv::SymmetricEncryptor enc(params, sk);
        std::vector<std::int64_t> column(batch);
        for (std::size_t j = w * qm.input_size / workers; j < (w + 1) * qm.input_size / workers; ++j) {
          for (std::size_t s = 0; s < batch; ++s) column[s] = inputs[first + s][j];
          const bfv::SeededCiphertext sct = enc.encrypt_seeded(encoder.encode(column));
          up[w] += bfv::serialize(sct, params).size();
          x[j] = bfv::SymmetricEncryptor::expand(params, sct);  // what the server does on receipt
        }
      });
      for (std::size_t b : up) res.upload_bytes += b;
      res.encrypt_s += seconds_since(t0);
      res.encrypt_cpu_s += process_cpu_seconds() - c0;
      // Server.
      t0 = std::chrono::steady_clock::now();
      c0 = process_cpu_seconds();
      auto linear_row = [&](const Row& row, const std::vector<bfv::Ciphertext>& in_cts) {
        std::vector<const bfv::Ciphertext*> in;
        std::vector<std::int64_t> w;
        for (std::size_t q = 0; q < row.index.size(); ++q)
          if (row.weight[q] != 0) {
            in.push_back(&in_cts[row.index[q]]);
            w.push_back(centred_mod(row.weight[q], t));
          }
        if (in.empty()) {  // an all-zero row: 0 * x_0 keeps a valid ciphertext
          in.push_back(&in_cts[0]);
          w.push_back(0);
        }
        bfv::Ciphertext y = eval.dot_product(in, w);
        const std::int64_t b = centred_mod(row.bias, t);
        if (b != 0) eval.add_const_inplace(y, b);
        return y;
      };
      for (std::size_t oi = 0; oi < qm.ops.size(); ++oi) {
        const QOp& op = qm.ops[oi];
        if (op.kind == QOp::Kind::kSquare) {
          each(x.size(), [&](std::size_t i) {
            x[i] = eval.square(x[i]);
            eval.relinearize_inplace(x[i], rk);
          });
          continue;
        }
        // linear -> square -> pooling (each squared value used by at most one sum): each
        // squared output is folded into its sum at once, so the wide middle layer never
        // exists in full (LeNet-1's 2,304 conv outputs become 576 pooled sums).
        bool fuse = oi + 2 < qm.ops.size() && qm.ops[oi + 1].kind == QOp::Kind::kSquare && qm.ops[oi + 2].kind == QOp::Kind::kLinear;
        // terms[r]: the (output of op, weight) pairs summed by row r of the op after the square.
        std::vector<std::vector<std::pair<std::uint32_t, std::int64_t>>> terms;
        if (fuse) {
          const QOp& next = qm.ops[oi + 2];
          std::vector<int> uses(op.outputs, 0);
          terms.resize(next.rows.size());
          for (std::size_t r = 0; r < next.rows.size(); ++r)
            for (std::size_t q = 0; q < next.rows[r].index.size(); ++q)
              if (next.rows[r].weight[q] != 0) {
                ++uses[next.rows[r].index[q]];
                terms[r].push_back({next.rows[r].index[q], centred_mod(next.rows[r].weight[q], t)});
              }
          for (int u : uses) fuse = fuse && u <= 1;
        }
        if (fuse) {
          const QOp& next = qm.ops[oi + 2];
          std::vector<bfv::Ciphertext> acc(next.rows.size());
          each(next.rows.size(), [&](std::size_t r) {
            bool started = false;
            for (auto [o, w] : terms[r]) {
              bfv::Ciphertext y = linear_row(op.rows[o], x);
              y = eval.square(y);
              eval.relinearize_inplace(y, rk);
              if (w != 1) eval.multiply_const_inplace(y, w);
              if (started) {
                eval.add_inplace(acc[r], y);
              } else {
                acc[r] = std::move(y);
                started = true;
              }
            }
            if (!started) {  // no nonzero weight: the constant 0
              acc[r] = x[0];
              eval.multiply_const_inplace(acc[r], 0);
            }
            const std::int64_t b = centred_mod(next.rows[r].bias, t);
            if (b != 0) eval.add_const_inplace(acc[r], b);
          });
          x = std::move(acc);
          oi += 2;
          continue;
        }
        // A whole layer at once (the evaluator blocks it over the coefficients), then biases.
        std::vector<std::vector<std::uint32_t>> index(op.rows.size());
        std::vector<std::vector<std::int64_t>> weight(op.rows.size());
        for (std::size_t o = 0; o < op.rows.size(); ++o)
          for (std::size_t q = 0; q < op.rows[o].index.size(); ++q)
            if (op.rows[o].weight[q] != 0) {
              index[o].push_back(op.rows[o].index[q]);
              weight[o].push_back(centred_mod(op.rows[o].weight[q], t));
            }
        std::vector<bfv::Ciphertext> y = layer_eval.linear(x, index, weight);
        each(y.size(), [&](std::size_t o) {
          const std::int64_t b = centred_mod(op.rows[o].bias, t);
          if (b != 0) eval.add_const_inplace(y[o], b);
        });
        x = std::move(y);
      }
      each(x.size(), [&](std::size_t i) { eval.mod_switch_to_inplace(x[i], plan.download_level); });
      res.evaluate_s += seconds_since(t0);
      res.evaluate_cpu_s += process_cpu_seconds() - c0;
      // Client: decrypt.
      t0 = std::chrono::steady_clock::now();
      for (std::size_t c = 0; c < classes; ++c) {
        res.download_bytes += bfv::serialize(x[c], params).size();
        res.min_budget_bits = std::min(res.min_budget_bits, dec.noise_budget(x[c]));
        const auto values = encoder.decode(dec.decrypt(x[c]));
        for (std::size_t s = 0; s < batch; ++s) residues[pi][(first + s) * classes + c] = math::from_signed(values[s], t);
      }
      res.decrypt_s += seconds_since(t0);
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  res.logits.resize(count * classes);
  std::vector<u64> r(k);
  for (std::size_t i = 0; i < count * classes; ++i) {
    for (std::size_t pi = 0; pi < k; ++pi) r[pi] = residues[pi][i];
    res.logits[i] = crt_centred(r, plan.t);
  }
  for (std::size_t i = 0; i < count; ++i) res.predicted.push_back(argmax(res.logits.data() + i * classes, qm.classes));
  res.decrypt_s += seconds_since(t0);
  return res;
}

}  // namespace hemi::quant
