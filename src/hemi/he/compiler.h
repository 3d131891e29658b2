// The compiler: model + intended use -> Plan. It picks CKKS parameters from the network's
// multiplicative depth at the requested security level, lays out every layer for the chosen
// packing, tracks the level and scale of every intermediate, lists the exact rotation steps
// that need Galois keys, and predicts the cost, all by simulation: no keys, no encryption.
#pragma once

#include <optional>

#include "hemi/he/linear.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

struct CompileOptions {
  std::optional<Packing> packing;  // nullopt: choose by predicted cost for `images`
  std::size_t images = 1;          // how many images the plan will serve
  int security = 128;
  int scale_bits = 0;              // 0: the largest scale that fits the smallest ring
  // Explicit parameters instead of the automatic choice (e.g. the study's, or INSECURE test
  // parameters); they must hold the network's depth.
  std::optional<ckks::ParamsLiteral> params;
  // A latency plan whose server would hold more than this (pre-encoded diagonals and the
  // evaluation keys with their precomputations) is refused with the reason.
  std::size_t max_server_memory = std::size_t{8} << 30;
  // The same for a throughput plan: the evaluation keys and the peak of the ciphertexts alive
  // at once when the server streams every layer (throughput_stream.h), computed from the
  // schedule the server runs. A smaller batch does not change it (one ciphertext per value).
  std::size_t max_throughput_memory = std::size_t{8} << 30;
  // Latency, multiplexed layout: at most this many bytes of encoded weights kept by the server
  // (within max_server_memory); the rest is encoded for each image.
  std::size_t plaintext_cache_bytes = std::size_t{1} << 30;
  // Latency: which layout (both by default: the one with the smaller predicted time that fits).
  enum class LatencyLayout { kAuto, kDiagonal, kMultiplexed } latency_layout = LatencyLayout::kAuto;
  // Fold each quadratic activation a y² + b y + c into its neighbouring linear layers
  // (nn/activation_fold.h): one level instead of two, the same function. The plan records it
  // (Plan::folded_activations, a note per activation) and the server folds the model the same way.
  bool fold_activations = true;
};

// The smallest ring that holds `depth` levels (and at least min_slots slots) at the security
// level, with the largest scale in [25, 40] bits that fits (or exactly scale_bits if nonzero).
ckks::ParamsLiteral params_for_depth(int depth, int security, int scale_bits, std::size_t min_slots);

Plan compile(const nn::Model& model, const CompileOptions& options);

// The model's identity as recorded in plans: hex SHA-256 (first 16 bytes) of its file bytes.
// A plan with folded activations still names the model it was given, not the rewrite.
std::string model_id(const nn::Model& model);

// The model a plan's server evaluates: `model` itself, or its rewrite with the quadratic
// activations folded when the plan says so (Plan::folded_activations). Throws hemi::Error when
// the rewrite's layers are not the plan's (a plan from a hemi that folds differently).
nn::Model evaluated_model(const Plan& plan, const nn::Model& model);

// The latency packing's layout of one linear layer in a ring with `period`-periodic slots:
// the non-zero generalized diagonals and their baby-step giant-step split.
//
// Square layout: diagonal i (0 <= i < period) holds M[j][j + i mod period] at slot j.
// Hybrid layout (for fewer outputs than inputs, on an input that repeats every
// `input_period` slots and is zero beyond its values within each repetition): the input is
// first replicated to period n' = pow2(cols) (rotations by -n', -2n', ... up to input_period),
// then diagonal i < m' = pow2(rows) holds M[j mod m'][j + i mod n'] at slot j, and the partial
// sums are folded (rotations by n'/2, ..., m'). The output then repeats every m' slots, zero
// beyond its values: the next hybrid layer needs no replication. Fewer diagonals for a wide,
// short matrix.
struct DiagonalLayout {
  std::size_t period = 0;
  bool hybrid = false;
  std::size_t in_period = 0, out_period = 0;  // hybrid: n' and m'
  std::vector<int> diagonals;  // i such that diagonal i has a non-zero entry, ascending
  int giant_stride = 1;        // g: diagonal i = a*g + b
  std::vector<int> baby;       // distinct b, ascending (0 included if used)
  std::vector<int> giant;      // distinct a, ascending
  std::vector<int> replicate_steps, fold_steps;  // hybrid: the rotations around the products

  std::size_t rotations() const;
  std::vector<int> rotation_steps() const;  // every step that needs a Galois key
  // The diagonal index and slot (within the layout's period) of matrix entry (r, c).
  std::pair<int, std::size_t> place(std::size_t r, std::size_t c) const;
  std::size_t diagonal_period() const { return hybrid ? in_period : period; }
};
DiagonalLayout diagonal_layout(const SparseMatrix& m, std::size_t period);
// nullopt when the hybrid layout does not apply (not fewer outputs than inputs, or an input
// period shorter than pow2(cols)).
std::optional<DiagonalLayout> hybrid_layout(const SparseMatrix& m, std::size_t period, std::size_t input_period);

}  // namespace hemi::he
