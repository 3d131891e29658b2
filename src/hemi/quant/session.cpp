#include "hemi/quant/session.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "hemi/base/clock.h"
#include "hemi/base/thread_pool.h"
#include "hemi/quant/latency.h"
#include "hemi/quant/throughput.h"

namespace hemi::quant {

const char* to_string(BfvPacking p) { return p == BfvPacking::kLatency ? "latency" : "throughput"; }

SessionResult run_bfv(const nn::Model& model, const float* images, std::size_t count, const std::vector<int>& labels,
                      const SessionOptions& o) {
  using Clock = std::chrono::steady_clock;
  if (count == 0) throw Error("bfv: no images to evaluate");
  if (!labels.empty() && labels.size() != count)
    throw Error("bfv: " + std::to_string(labels.size()) + " labels for " + std::to_string(count) + " images");
  if (o.threads < 0) throw Error("bfv: threads must be at least 0, not " + std::to_string(o.threads));
  SessionResult r;
  r.images = count;
  r.weight_bits = o.quant.weight_bits;
  r.input_bits = o.quant.input_bits;
  auto phase = [&](const char* name) {
    if (o.phase) o.phase(name);
  };
  phase("quantize");
  auto t0 = Clock::now();
  auto q = quantize(model, o.quant);
  if (!q) throw Error("bfv: the model cannot be quantized: " + q.error());
  const QuantizedModel& qm = q.value();
  r.seconds.quantize = seconds_since(t0);
  const auto t_total = Clock::now();
  phase("compile");
  t0 = Clock::now();
  r.packing = o.packing;
  std::optional<LatencyPlan> lplan;
  if (o.packing == BfvPacking::kLatency) {
    auto lp = compile_latency(qm, o.compile);
    if (!lp) throw Error("bfv: no plan: " + lp.error());
    lplan = std::move(lp.value());
    r.plan = lplan->plan;
    r.layout = lplan->layout.summary();
  } else {
    auto plan = compile(qm, o.compile);
    if (!plan) throw Error("bfv: no plan: " + plan.error());
    r.plan = plan.value();
  }
  r.seconds.compile = seconds_since(t0);
  const std::size_t values = model.input_shape().size();
  std::vector<std::vector<std::int64_t>> inputs(count);
  for (std::size_t i = 0; i < count; ++i) inputs[i] = to_inputs(qm, model, images + i * values);
  phase("encrypted evaluation");
  ThreadPool pool(static_cast<std::size_t>(o.threads));
  r.threads = static_cast<int>(pool.size());
  std::vector<i128> enc_logits;
  std::vector<int> enc_predicted;
  std::size_t up = 0, down = 0;
  auto take = [&](EncryptedRun&& e) {
    r.seconds.keygen = e.keygen_s;
    r.seconds.encrypt = e.encrypt_s;
    r.seconds.evaluate = e.evaluate_s;
    r.seconds.decrypt = e.decrypt_s;
    r.seconds.encrypt_cpu = e.encrypt_cpu_s;
    r.seconds.evaluate_cpu = e.evaluate_cpu_s;
    up = e.upload_bytes;
    down = e.download_bytes;
    r.eval_key_bytes = e.eval_key_bytes;
    r.secret_key_bytes = e.secret_key_bytes;
    r.min_budget_bits = e.min_budget_bits;
    enc_logits = std::move(e.logits);
    enc_predicted = std::move(e.predicted);
  };
  if (lplan) {
    LatencyResult lr = run_latency(qm, *lplan, inputs, &pool);
    r.seconds.setup = lr.setup_s;
    r.rotations_per_image = lr.rotations / count;
    r.galois_keys = lr.galois_keys;
    r.plaintext_bytes = lr.plaintext_bytes;
    take(std::move(lr));
  } else {
    ThroughputResult tr = run_throughput(qm, r.plan, inputs, &pool);
    r.batches = tr.batches;
    take(std::move(tr));
  }
  r.seconds.total = seconds_since(t_total);
  r.seconds.other = std::max(0.0, r.seconds.total - r.seconds.compile - r.seconds.keygen - r.seconds.setup - r.seconds.encrypt -
                                      r.seconds.evaluate - r.seconds.decrypt);
  r.bytes_up_per_image = static_cast<double>(up) / static_cast<double>(count);
  r.bytes_down_per_image = static_cast<double>(down) / static_cast<double>(count);
  // The plaintext twin: the exact integer model, image by image.
  phase("plaintext reference");
  t0 = Clock::now();
  const auto classes = static_cast<std::size_t>(qm.classes);
  std::vector<std::vector<i128>> plain(count);
  pool.parallel_for(0, count, [&](std::size_t i) { plain[i] = forward_int(qm, inputs[i]); });
  r.plain_seconds = seconds_since(t0);
  const long double scale = qm.output_scale();
  std::size_t exact = 0, agree = 0, correct = 0, plain_correct = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const i128* enc = enc_logits.data() + i * classes;
    bool same = true;
    std::vector<double> l(classes), pl(classes);
    for (std::size_t c = 0; c < classes; ++c) {
      same = same && enc[c] == plain[i][c];
      l[c] = static_cast<double>(static_cast<long double>(enc[c]) / scale);
      pl[c] = static_cast<double>(static_cast<long double>(plain[i][c]) / scale);
      r.max_logit_error = std::max(r.max_logit_error, std::fabs(l[c] - pl[c]));
    }
    exact += same;
    r.logits.push_back(std::move(l));
    r.plain_logits.push_back(std::move(pl));
    r.predicted.push_back(enc_predicted[i]);
    r.plain_predicted.push_back(argmax(plain[i].data(), qm.classes));
    agree += r.predicted.back() == r.plain_predicted.back();
    if (!labels.empty()) {
      correct += r.predicted.back() == labels[i];
      plain_correct += r.plain_predicted.back() == labels[i];
    }
  }
  const auto n = static_cast<double>(count);
  r.exact_agreement = static_cast<double>(exact) / n;
  r.agreement = static_cast<double>(agree) / n;
  r.accuracy = static_cast<double>(correct) / n;
  r.plain_accuracy = static_cast<double>(plain_correct) / n;
  return r;
}

}  // namespace hemi::quant
