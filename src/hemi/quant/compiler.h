// The BFV compiler for a quantized network: picks the plaintext moduli, the ring and the
// ciphertext modulus, and proves the plan correct or refuses.
//  - Plaintext: k batching primes t_1..t_k of t_bits bits (distinct, t_i = 1 mod 2N), with
//    k the least such that prod t_i > 2 * max_bound + 1: then every intermediate value, taken
//    centred modulo prod t_i, equals the integer the quantized network computes -- nothing
//    wraps -- and the logits are recovered by the CRT (CryptoNets' approach). k = 1 is a
//    single t.
//  - Ciphertext: the smallest ring degree N and chain (equal primes, one special prime) for
//    which the worst-case NoiseEstimator keeps at least `min_budget_bits` after the network
//    under every t_i, within the security table; then the last primes the result can spare
//    are dropped by modulus switching before download.
// The simulation runs over the same op list the executor runs (quantize.h), so the prediction
// and the evaluation cannot drift apart.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hemi/bfv/params.h"
#include "hemi/quant/quantize.h"

namespace hemi::quant {

struct CompileOptions {
  int t_bits = 40;             // size of each plaintext prime (docs/bfv.md: chosen by measurement)
  int max_primes = 6;          // refuse beyond this many plaintext primes
  int security = 128;          // 0 with allow_insecure for tests
  bool allow_insecure = false;
  int min_log_n = 12;          // insecure test sets may go lower (with allow_insecure)
  double min_budget_bits = 1;  // worst-case budget left at the end
  // Latency packing only: the server's estimated memory (keys, encoded model, working
  // ciphertexts) must stay below this; and the plaintext prime sizes tried (the plan predicted
  // cheapest is kept; empty: t_bits alone).
  std::size_t max_server_bytes = std::size_t{8} << 30;
  std::vector<int> latency_t_bits{40, 30, 24};
};

struct Plan {
  std::vector<bfv::ParamsLiteral> params;  // one per plaintext prime (same ring, its own t)
  std::vector<std::uint64_t> t;
  double log2_bound = 0;           // log2 of the largest intermediate
  double log2_t_product = 0;
  std::vector<double> budget_after;  // estimated worst-case budget after each op (bits)
  std::size_t download_level = 0;    // level of the results after modulus switching
  std::string summary() const;      // one line for logs and reports
};

// The least k with k primes of t_bits bits (each above 2^(t_bits - 1)) over 2 max_bound + 1.
std::size_t plaintext_primes(const QuantizedModel& qm, int t_bits);

// Throughput packing (throughput.h): every op on one neuron per ciphertext.
Result<Plan> compile(const QuantizedModel& qm, const CompileOptions& options = {});

// The worst-case budget (bits) after each step of one packing's program on one candidate
// parameter set, or the reason the packing does not fit that ring (e.g. a layer wider than
// its slots). Each packing supplies its own; the search below is shared.
using NoiseSimulation = std::function<Result<std::vector<double>>(const bfv::Params&)>;

// The shared search behind every packing: the plaintext primes from the proven bound, then
// the smallest ring (N from 2^min_log_n) and chain on which `simulate` leaves at least
// options.min_budget_bits under every prime, then the download level.
// `admit`, when given, may refuse a candidate literal before its parameters are built (e.g. by
// memory), with the reason.
using LiteralCheck = std::function<std::optional<std::string>(const bfv::ParamsLiteral&)>;
Result<Plan> compile_with(const QuantizedModel& qm, const CompileOptions& options, const NoiseSimulation& simulate,
                          int min_log_n = 0, const LiteralCheck& admit = {});

}  // namespace hemi::quant
