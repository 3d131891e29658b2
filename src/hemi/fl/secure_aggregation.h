// Secure aggregation of federated-learning updates with hemi's CKKS: every site encodes its
// update vector into CKKS plaintexts (N/2 values each), encrypts them with a secret key the
// sites share and the server does not hold (symmetric, seeded: half-size uploads), and
// uploads the serialized ciphertexts; the server deserializes and adds them; only the sum is
// decrypted (by a site, or whoever holds the key). The server sees ciphertexts only.
//
// Simulation and trust model (docs/privacy.md): all roles run in this process; the shared key
// stands in for a threshold or multi-party key set, so a server colluding with one site learns
// that site's key and with it every upload. Addition only, so the chain is a single 60-bit
// prime (plus the special prime every hemi parameter set has): N = 2^13 is 128-bit secure.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "hemi/train/federated.h"

namespace hemi::fl {

struct SecureAggregationOptions {
  int log_n = 13;      // 4096 values per ciphertext
  int log_scale = 40;  // encoding scale 2^40; values must stay below 2^18 / sites in magnitude
};

// Error of the decrypted sum against the plaintext sum of the same uploads (last call).
struct AggregationCheck {
  double max_abs_error = 0;
  double max_abs_sum = 0;
  double relative_error() const { return max_abs_sum > 0 ? max_abs_error / max_abs_sum : max_abs_error; }
};

// Not thread-safe: one per federated run. Keys are generated at construction (OS CSPRNG).
class CkksAggregator {
 public:
  explicit CkksAggregator(const SecureAggregationOptions& options = {});
  ~CkksAggregator();
  CkksAggregator(CkksAggregator&&) noexcept;

  // Sums equal-length update vectors through encryption; throws hemi::Error if lengths differ
  // or a value is too large for the encoding scale.
  train::AggregateResult operator()(const std::vector<std::vector<double>>& updates);

  // As a train::Aggregator (refers to *this: keep the aggregator alive while it is used).
  train::Aggregator as_function();

  const AggregationCheck& last_check() const { return check_; }
  double worst_relative_error() const { return worst_relative_error_; }
  std::size_t ciphertexts_per_site(std::size_t values) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  AggregationCheck check_;
  double worst_relative_error_ = 0;
};

}  // namespace hemi::fl
