#include "hemi/he/session.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "hemi/base/clock.h"
#include "hemi/base/thread_pool.h"
#include "hemi/ckks/serialize.h"
#include "hemi/he/roles.h"
#include "hemi/nn/interpreter.h"

namespace hemi::he {

namespace {
using Clock = std::chrono::steady_clock;
int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}
}  // namespace

SessionResult run_encrypted(const nn::Model& model, const float* images, std::size_t count,
                            const std::vector<int>& labels, const SessionOptions& options) {
  if (count == 0) throw Error("evaluate: no images");
  if (!labels.empty() && labels.size() != count)
    throw Error("evaluate: " + std::to_string(labels.size()) + " labels for " + std::to_string(count) + " images");
  const auto t_all = Clock::now();
  SessionResult r;
  r.images = count;
  ThreadPool pool(options.threads > 0 ? static_cast<std::size_t>(options.threads) : 0);
  r.threads = static_cast<int>(pool.size());
  CompileOptions co = options.compile;
  co.images = count;
  auto phase = [&](const char* name) {
    if (options.phase) options.phase(name);
  };
  phase("compile");
  auto t = Clock::now();
  r.plan = compile(model, co);
  r.seconds.compile = seconds_since(t);
  const Plan& plan = r.plan;
  const std::size_t values = model.input_shape().size();

  phase("keygen");
  t = Clock::now();
  Client client(plan);
  EvalKeys keys = client.eval_keys();
  r.eval_key_bytes = ckks::serialize(keys.relin, client.params()).size() +
                     (keys.galois.keys.empty() ? 0 : ckks::serialize(keys.galois, client.params()).size());
  r.secret_key_bytes = ckks::serialize(client.secret_key(), client.params()).size();
  r.seconds.keygen = seconds_since(t);
  phase("setup");
  t = Clock::now();
  Server server(plan, model, std::move(keys), &pool);
  r.seconds.setup = seconds_since(t);
  phase("evaluate");

  r.logits.resize(count);
  double up = 0, down = 0;
  if (plan.packing == Packing::kThroughput) {
    for (std::size_t start = 0; start < count; start += plan.images_per_batch) {
      const std::size_t n = std::min(plan.images_per_batch, count - start);
      std::vector<const float*> batch;
      for (std::size_t i = 0; i < n; ++i) batch.push_back(images + (start + i) * values);
      double enc = 0;
      const auto t_batch = Clock::now();
      auto out = server.evaluate_batch([&](std::size_t k) {
        const auto te = Clock::now();
        auto seeded = client.encrypt_value(batch, k);
        up += static_cast<double>(client.params().seeded_ciphertext_bytes(seeded.level));
        auto ct = ckks::SymmetricEncryptor::expand(client.params(), seeded);
        enc += seconds_since(te);
        return ct;
      });
      r.seconds.encrypt += enc;
      r.seconds.evaluate += seconds_since(t_batch) - enc;
      for (auto& c : out) down += static_cast<double>(client.params().ciphertext_bytes(c.level));
      t = Clock::now();
      auto logits = client.decrypt_logits(out, n);
      r.seconds.decrypt += seconds_since(t);
      for (std::size_t i = 0; i < n; ++i) r.logits[start + i] = std::move(logits[i]);
      if (options.progress) options.progress(start + n, count);
    }
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      t = Clock::now();
      auto seeded = client.encrypt_image(images + i * values);
      up += static_cast<double>(client.params().seeded_ciphertext_bytes(seeded.level));
      auto ct = ckks::SymmetricEncryptor::expand(client.params(), seeded);
      r.seconds.encrypt += seconds_since(t);
      t = Clock::now();
      auto out = server.evaluate_image(ct);
      r.seconds.evaluate += seconds_since(t);
      down += static_cast<double>(client.params().ciphertext_bytes(out.level));
      t = Clock::now();
      r.logits[i] = client.decrypt_logits({out}, 1)[0];
      r.seconds.decrypt += seconds_since(t);
      if (options.progress) options.progress(i + 1, count);
    }
  }
  r.seconds.total = seconds_since(t_all);
  const PhaseSeconds& ps = r.seconds;
  r.seconds.other = std::max(0.0, ps.total - ps.compile - ps.keygen - ps.setup - ps.encrypt - ps.evaluate - ps.decrypt);

  phase("plaintext reference");
  t = Clock::now();
  nn::ImageBatch batch{images, count, model.input_shape()};
  nn::BatchOutput plain = nn::forward_batch(model, batch, &pool);
  r.plain_seconds = seconds_since(t);
  const std::size_t classes = static_cast<std::size_t>(model.classes());
  std::size_t agree = 0, correct = 0, plain_correct = 0;
  r.plain_logits.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    r.plain_logits[i].assign(plain.logits.begin() + static_cast<long>(i * classes),
                             plain.logits.begin() + static_cast<long>((i + 1) * classes));
    r.predicted.push_back(argmax(r.logits[i]));
    r.plain_predicted.push_back(plain.predicted[i]);
    agree += r.predicted[i] == r.plain_predicted[i];
    for (std::size_t c = 0; c < classes; ++c)
      r.max_logit_error = std::max(r.max_logit_error, std::fabs(r.logits[i][c] - r.plain_logits[i][c]));
    if (!labels.empty()) {
      correct += r.predicted[i] == labels[i];
      plain_correct += r.plain_predicted[i] == labels[i];
    }
  }
  r.agreement = static_cast<double>(agree) / static_cast<double>(count);
  if (!labels.empty()) {
    r.accuracy = static_cast<double>(correct) / static_cast<double>(count);
    r.plain_accuracy = static_cast<double>(plain_correct) / static_cast<double>(count);
  }
  r.bytes_up_per_image = up / static_cast<double>(count);
  r.bytes_down_per_image = down / static_cast<double>(count);
  return r;
}

}  // namespace hemi::he
