// The latency-packed program of a quantized network under BFV: one image in one ciphertext
// (per plaintext prime), linear layers by generalized diagonals with baby-step giant-step
// rotations (the he layer's latency layout, docs/he.md), x² as a ciphertext square.
//
// Slots. BFV's N slots are a 2 x N/2 matrix whose row rotations are cyclic in S = N/2 slots
// (bfv/encoder.h). The activations live in row 0, value j in slot j; row 1 stays zero, so
// the column swap is never needed and no key for it is made. A layer fits when its inputs and
// its outputs each fit in S; the layout is refused otherwise (the compiler then tries a larger
// ring).
//
// Diagonals without a period. For y = W x + b with W of size n_out x n_in, diagonal d (taken
// mod S) holds W[i][(i + d) mod S] at slot i for i < n_out, and 0 where (i + d) mod S is not
// an input. Then y = sum_d diag_d ⊙ rot(x, d) exactly, whatever the slots beyond n_in hold
// (they are always multiplied by 0), and the result is zero beyond n_out: no replication, no
// masking, only the non-zero diagonals. d = g + b with b = d mod B: the baby rotations
// rot(x, b) are hoisted (one key-switching decomposition), the diagonals are stored
// pre-rotated by g, and every giant step g != 0 is one rotation of a partial sum:
//   y = sum_g rot( sum_b rot(diag_{g+b}, -g) ⊙ rot(x, b), g ).
// B is chosen per layer to minimise rotations plus Galois keys not yet needed by an earlier
// layer (keys are the largest thing the server holds).
//
// Hybrid layer (Gazelle's, as in the he layer) for a layer with fewer outputs than inputs:
// m = pow2(n_out), n' = pow2(n_in) <= S. The layer computes z_i = sum_{δ < m} W[i mod m][(i + δ)
// mod n'] x[(i + δ) mod n'] for i < n', whose entries lie on the diagonals δ and δ - n' (the
// wrapped part reads x directly, so nothing needs replicating and no slot beyond the inputs is
// read), then folds: y = z + rot(z, n'/2), + rot(., n'/4), ..., down to m (log2(n'/m)
// rotations), so y_r = sum_q z_{r + q m}. About 2m diagonals instead of n_in + n_out - 1 (dense
// 256→64: 128 instead of 319). Slots beyond the outputs then hold partial sums, which no later
// step reads. Used when its diagonals plus fold rotations are fewer than the plain diagonals.
//
// Gathered first layer (the he layer's im2col input). When the first linear op is a
// convolution -- rows c P + p (output channel c, position p) whose input index lists depend on p
// only -- and K P fits a row (K the longest list), the client encrypts the gathered image
// instead: slot k P + p holds the input under kernel offset k at position p (0 past a padded
// edge). The plan carries only this geometry, not weights. Over it the convolution's entries lie
// on the K + C - 1 diagonals (k - c) P: for seed-cnn 52 instead of 884. Used when it has fewer
// diagonals than the plain layout.
//
// Folding. Consecutive linear ops (average pooling followed by a convolution or a dense layer)
// are one matrix product of integer matrices, exact: the folded layer computes the same
// integers as the two ops, with one set of rotations and one plaintext product of noise.
// Immutable after plan_latency_layout(); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hemi/quant/quantize.h"

namespace hemi::quant {

struct LatencyLinear {
  std::string name;              // "conv2d 1", or "avgpool2d 3 + conv2d 4" when folded
  std::size_t inputs = 0, outputs = 0;
  // diagonal d in [0, S) -> its non-zero entries (output slot i, weight W[i][(i + d) mod S])
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, i128>>> diagonals;
  std::vector<i128> bias;        // outputs values
  std::size_t baby = 1;          // B
  std::vector<int> baby_steps;   // distinct b != 0 (rotations of the input, hoisted)
  std::vector<int> giant_steps;  // distinct g != 0, as signed steps in (-S/2, S/2]
  std::size_t groups = 0;        // distinct g, with 0
  std::vector<int> fold_steps;   // hybrid: n'/2, n'/4, ..., m (empty for the plain layout)
  std::size_t rotations() const { return baby_steps.size() + giant_steps.size() + fold_steps.size(); }
};

struct LatencyStep {
  bool square = false;  // x²; otherwise `linear`
  LatencyLinear linear;
};

struct LatencyLayout {
  std::size_t row_slots = 0;  // S = N/2
  std::vector<LatencyStep> steps;
  std::size_t input_size = 0;
  int classes = 0;
  // Hybrid layer (Gazelle's, as in the he layer) for a layer with fewer outputs than inputs:
// m = pow2(n_out), n' = pow2(n_in) <= S. The layer computes z_i = sum_{δ < m} W[i mod m][(i + δ)
// mod n'] x[(i + δ) mod n'] for i < n', whose entries lie on the diagonals δ and δ - n' (the
// wrapped part reads x directly, so nothing needs replicating and no slot beyond the inputs is
// read), then folds: y = z + rot(z, n'/2), + rot(., n'/4), ..., down to m (log2(n'/m)
// rotations), so y_r = sum_q z_{r + q m}. About 2m diagonals instead of n_in + n_out - 1 (dense
// 256→64: 128 instead of 319). Slots beyond the outputs then hold partial sums, which no later
// step reads. Used when its diagonals plus fold rotations are fewer than the plain diagonals.
//
// Gathered first layer: slot s of the uploaded vector holds input[gather[s]], or 0 for -1.
  // Empty: the image itself, value j in slot j.
  std::vector<std::int64_t> gather;
  std::vector<std::int64_t> upload(const std::vector<std::int64_t>& input) const;  // the slots the client encrypts
  std::size_t rotations() const;                 // per image and plaintext prime
  std::size_t plaintext_products() const;        // diagonals, per image and prime
  std::vector<int> rotation_steps() const;       // distinct signed steps: the Galois keys
  std::string summary() const;
};

// The signed rotation step of d mod S, in (-S/2, S/2].
int signed_step(std::uint64_t d, std::size_t row_slots);

// Refuses a network with a layer wider than S inputs or outputs (naming it and S).
Result<LatencyLayout> plan_latency_layout(const QuantizedModel& qm, std::size_t row_slots);

}  // namespace hemi::quant
