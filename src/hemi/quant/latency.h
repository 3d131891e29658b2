// Encrypted inference of a quantized network under BFV, latency packing: one image per
// request, encrypted in one ciphertext per plaintext prime (values in row 0 of the 2 x N/2
// slot matrix), linear layers by rotations over the layout of latency_layout.h, x² by a
// square and a relinearization, exact integers modulo each prime and the CRT at the client.
//
// Roles, as in the CKKS latency split (he/roles.h): the client holds the secret keys and
// makes the evaluation keys (relinearization, and Galois keys for exactly the layout's
// rotation steps: no column-swap key), encrypts an image as seeded ciphertexts and decrypts
// and recombines the logits; the server holds only the plan, the public evaluation keys and
// the model's diagonals encoded once per prime, and evaluates.
//
// The compiler (compile_latency) is the shared BFV search of compiler.h with this program's
// noise simulation: per linear layer a hoisted key switch for the baby rotations, a plaintext
// product of worst-case coefficients t/2 per diagonal summed over a giant group, a key switch
// per giant rotation, the bias rounding; per x² the HPS product and a relinearization. Layers
// must fit the N/2 slots of a row, so the search starts at the smallest such ring.
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/keys.h"
#include "hemi/quant/compiler.h"
#include "hemi/quant/encrypted_run.h"
#include "hemi/quant/latency_layout.h"

namespace hemi::quant {

struct LatencyPlan {
  Plan plan;             // primes, ring, budget per step, download level
  LatencyLayout layout;  // for the plan's S = N/2
  std::size_t server_bytes = 0;  // estimated server memory (latency_server_bytes)
  double cost = 0;               // predicted relative cost of one image (latency_cost)
  std::string summary() const;
};

// The server's memory for `layout` on the ring of `lit`, per the ring's in-memory formats, all
// k primes: Galois and relinearization keys (digits x 4 polynomials -- a, b and their Shoup
// factors -- over Q and P), the encoded diagonals (N words each), and the ciphertexts a layer
// holds at once (its baby rotations and a few more).
std::size_t latency_server_bytes(const LatencyLayout& layout, const bfv::ParamsLiteral& lit, std::size_t primes);

// A coarse cost model to choose between plans (not a time): per prime, a plaintext product
// lifts its plaintext to every limb (~ L + 1 NTTs) and a key switch costs ~ digits (L + 2) NTTs,
// all of N log N: k N log2 N ((L + 1) products + digits (L + 2) rotations).
double latency_cost(const LatencyLayout& layout, const bfv::ParamsLiteral& lit, std::size_t primes);

// Tries each of options.latency_t_bits and keeps the cheapest plan by latency_cost. Refuses as
// compile() does, when no ring up to 2^16 has rows wide enough, and when the server would need
// more than options.max_server_bytes.
Result<LatencyPlan> compile_latency(const QuantizedModel& qm, const CompileOptions& options = {});

// The worst-case budget after each step of `layout` on one parameter set (what the compiler
// plans with; exposed for tests).
std::vector<double> simulate_latency(const LatencyLayout& layout, const bfv::Params& params);

// What the server needs from the client, per plaintext prime.
struct LatencyEvalKeys {
  std::vector<bfv::RelinKey> relin;
  std::vector<bfv::GaloisKeys> galois;
  std::size_t bytes = 0;  // serialized, all primes
};

// Holds the secret keys; one client per thread.
class LatencyClient {
 public:
  explicit LatencyClient(const LatencyPlan& plan);  // generates a secret key per prime
  LatencyEvalKeys eval_keys();
  // One image (layout.input_size integers): one seeded ciphertext per prime.
  std::vector<bfv::SeededCiphertext> encrypt(const std::vector<std::int64_t>& input);
  // The exact integer logits from one result ciphertext per prime.
  std::vector<i128> decrypt(const std::vector<bfv::Ciphertext>& results) const;
  double min_budget_bits(const std::vector<bfv::Ciphertext>& results) const;  // measured

 private:
  const LatencyPlan& plan_;
  std::vector<bfv::Params> params_;
  std::vector<bfv::SecretKey> sk_;
};

// One server per thread: evaluate() counts its rotations in a member (the pool spreads the
// limbs of each operation instead).
class LatencyServer {
 public:
  // Encodes every diagonal, pre-rotated, and every bias once per prime. The pool (not owned,
  // must outlive the server) spreads the limbs of each operation.
  LatencyServer(const LatencyPlan& plan, LatencyEvalKeys keys, ThreadPool* pool = nullptr);
  std::vector<bfv::Ciphertext> evaluate(const std::vector<bfv::SeededCiphertext>& image) const;
  // Row rotations performed so far (every hoisted step counts one), all primes.
  std::size_t rotations_done() const { return rotations_; }
  std::size_t plaintext_bytes() const;  // the encoded model held in memory

 private:
  struct Encoded {  // one linear step under one prime
    std::vector<int> giant;                                   // per group, 0 first if present
    std::vector<std::vector<std::pair<int, bfv::Plaintext>>> terms;  // per group: (baby step, pre-rotated diagonal)
    bfv::Plaintext bias;
  };
  const LatencyPlan& plan_;
  LatencyEvalKeys keys_;
  ThreadPool* pool_;
  std::vector<bfv::Params> params_;
  std::vector<std::vector<Encoded>> encoded_;  // [prime][step]
  mutable std::size_t rotations_ = 0;
};

// keygen_s once (the client's keys); encrypt, evaluate and decrypt summed over images.
struct LatencyResult : EncryptedRun {
  double setup_s = 0;             // once: the server encodes the model
  std::size_t rotations = 0;      // counted, all images and primes
  std::size_t galois_keys = 0;    // per prime
  std::size_t plaintext_bytes = 0;
};

// Runs the client and the server in one process, image by image, one plaintext prime after
// the other (only one prime's keys and encoded model in memory at a time); the CRT at the end.
LatencyResult run_latency(const QuantizedModel& qm, const LatencyPlan& plan, const std::vector<std::vector<std::int64_t>>& inputs,
                          ThreadPool* pool = nullptr);

}  // namespace hemi::quant
