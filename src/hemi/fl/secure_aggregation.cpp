#include "hemi/fl/secure_aggregation.h"

#include <chrono>
#include <cmath>
#include <span>

#include "hemi/base/clock.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/ckks/keys.h"
#include "hemi/ckks/serialize.h"

namespace hemi::fl {
namespace {

ckks::Params make_params(const SecureAggregationOptions& o) {
  if (o.log_scale < 20 || o.log_scale > 50)
    throw Error("secure aggregation: log scale must be in [20, 50], got " + std::to_string(o.log_scale));
  ckks::ParamsLiteral lit;
  lit.log_n = o.log_n;
  lit.q_bits = {60};
  lit.p_bits = {60};
  lit.log_scale = o.log_scale;
  lit.security = 128;
  auto p = ckks::Params::create(lit);
  if (!p) throw Error("secure aggregation: " + p.error());
  return std::move(p).value();
}

}  // namespace

struct CkksAggregator::State {
  ckks::Params params;
  ckks::SecretKey sk;
  ckks::Encoder encoder;
  ckks::Evaluator evaluator;
  int log_scale;
  explicit State(const SecureAggregationOptions& o)
      : params(make_params(o)),
        sk(ckks::KeyGenerator(params).secret_key()),
        encoder(params),
        evaluator(params),
        log_scale(o.log_scale) {}
};

CkksAggregator::CkksAggregator(const SecureAggregationOptions& options)
    : state_(std::make_unique<State>(options)) {}
CkksAggregator::~CkksAggregator() = default;
CkksAggregator::CkksAggregator(CkksAggregator&&) noexcept = default;

std::size_t CkksAggregator::ciphertexts_per_site(std::size_t values) const {
  const std::size_t slots = state_->params.slots();
  return (values + slots - 1) / slots;
}

train::AggregateResult CkksAggregator::operator()(const std::vector<std::vector<double>>& updates) {
  train::AggregateResult r;
  if (updates.empty()) return r;
  const std::size_t len = updates[0].size(), slots = state_->params.slots();
  // q_0 has 60 bits: a sum below 2^(60 − log_scale − 2) decodes without wrapping around.
  const double bound = std::ldexp(1.0, 58 - state_->log_scale) / static_cast<double>(updates.size());
  for (std::size_t k = 0; k < updates.size(); ++k) {
    if (updates[k].size() != len)
      throw Error("secure aggregation: site " + std::to_string(k + 1) + " sent " + std::to_string(updates[k].size()) +
                  " values, site 1 sent " + std::to_string(len));
    for (double v : updates[k])
      if (!(std::abs(v) < bound))
        throw Error("secure aggregation: site " + std::to_string(k + 1) + " sent the value " + std::to_string(v) +
                    ", beyond the encoding's range +-" + std::to_string(bound));
  }
  const std::size_t chunks = ciphertexts_per_site(len);
  // Sites: encode, encrypt (seeded), serialize.
  std::vector<std::vector<Bytes>> uploads(updates.size());
  auto t_sites = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < updates.size(); ++k) {
    ckks::SymmetricEncryptor enc(state_->params, state_->sk);
    for (std::size_t c = 0; c < chunks; ++c) {
      const std::size_t begin = c * slots, end = std::min(len, begin + slots);
      auto pt = state_->encoder.encode(std::span<const double>(updates[k].data() + begin, end - begin), 0);
      uploads[k].push_back(ckks::serialize(enc.encrypt_seeded(pt), state_->params));
      r.bytes_up += uploads[k].back().size();
    }
  }
  r.site_seconds = seconds_since(t_sites);
  // Server: load (validating) and add; then the key holder decrypts the sum only.
  auto t_server = std::chrono::steady_clock::now();
  std::vector<ckks::Ciphertext> sum;
  for (std::size_t k = 0; k < uploads.size(); ++k)
    for (std::size_t c = 0; c < chunks; ++c) {
      ckks::Ciphertext ct =
          ckks::SymmetricEncryptor::expand(state_->params, ckks::load_seeded_ciphertext(uploads[k][c], state_->params));
      if (k == 0)
        sum.push_back(std::move(ct));
      else
        state_->evaluator.add_inplace(sum[c], ct);
    }
  ckks::Decryptor dec(state_->params, state_->sk);
  r.sum.reserve(len);
  for (std::size_t c = 0; c < chunks; ++c) {
    auto values = state_->encoder.decode(dec.decrypt(sum[c]));
    const std::size_t count = std::min(slots, len - c * slots);
    r.sum.insert(r.sum.end(), values.begin(), values.begin() + static_cast<std::ptrdiff_t>(count));
  }
  r.server_seconds = seconds_since(t_server);
  // The check against the plaintext sum (not part of the protocol; for the report).
  check_ = {};
  for (std::size_t i = 0; i < len; ++i) {
    double plain = 0;
    for (const auto& u : updates) plain += u[i];
    check_.max_abs_error = std::max(check_.max_abs_error, std::abs(plain - r.sum[i]));
    check_.max_abs_sum = std::max(check_.max_abs_sum, std::abs(plain));
  }
  worst_relative_error_ = std::max(worst_relative_error_, check_.relative_error());
  return r;
}

train::Aggregator CkksAggregator::as_function() {
  return [this](const std::vector<std::vector<double>>& u) { return (*this)(u); };
}

}  // namespace hemi::fl
