// The lowered program: what the compiler decided for every layer of a model, in the form the
// server runs and the counting evaluator counts. One step per model layer (Plan::layers), each
// with the level and scale of its input and output, the rotation steps it uses, the plaintexts
// it encodes and the operations it performs; a linear layer in the diagonal latency layout also
// carries that layout (the diagonals, the baby-step giant-step split, the hybrid replication and
// folding), so the server builds its plaintexts from the program instead of choosing a layout
// again. The channel-packed latency layout's steps (multiplexed_layout.h) and the throughput
// stream's (throughput_stream.h) carry their counts; their executors re-lower the model and are
// held to these counts when the server is prepared.
//
// Made by compile(), serialized with the plan (format version 2), checked once by Plan::create
// (program_error) and counted by count_program.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hemi::he {

// Counts of the operations one batch (throughput) or one image (latency) costs.
struct OpCounts {
  std::uint64_t rotations = 0;        // key switches for rotations (hoisted ones included)
  std::uint64_t hoisted_groups = 0;   // decompositions shared by hoisted rotations
  std::uint64_t relinearizations = 0;
  std::uint64_t rescales = 0;
  std::uint64_t plain_multiplies = 0;  // ciphertext x plaintext vector
  std::uint64_t dot_terms = 0;         // ciphertext x constant terms of fused dot products
  std::uint64_t additions = 0;
  std::uint64_t encodes = 0;           // plaintexts encoded while running (not the pre-encoded ones)
  OpCounts& operator+=(const OpCounts& o);
  bool operator==(const OpCounts&) const = default;
};
std::string to_string(const OpCounts& o);  // "rotations 3, hoisted_groups 1, ..." (for messages)

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
// short matrix. Made by diagonal_layout / hybrid_layout (compiler.h).
struct DiagonalLayout {
  std::size_t period = 0;
  bool hybrid = false;
  std::size_t in_period = 0, out_period = 0;  // hybrid: n' and m'
  std::vector<int> diagonals;  // i such that diagonal i has a non-zero entry, ascending
  int giant_stride = 1;        // g: diagonal i = a*g + b
  std::vector<int> baby;       // distinct b, ascending (0 included if used)
  std::vector<int> giant;      // distinct a, ascending
  std::vector<int> replicate_steps, fold_steps;  // hybrid: the rotations around the products
  bool bias = false;           // the layer adds a non-zero bias (encoded for each image)

  std::size_t rotations() const;
  std::vector<int> rotation_steps() const;  // every step that needs a Galois key
  // The diagonal index and slot (within the layout's period) of matrix entry (r, c).
  std::pair<int, std::size_t> place(std::size_t r, std::size_t c) const;
  std::size_t diagonal_period() const { return hybrid ? in_period : period; }
  // The slots of the period its output repeats in (hybrid: m'; square: the period).
  std::size_t output_period() const { return hybrid ? out_period : period; }
  // The input period a hybrid layout replicates from (n' times 2^replications).
  std::size_t input_period() const { return hybrid ? in_period << replicate_steps.size() : 0; }
  // Why the layout is not self-consistent (diagonals out of range or unsorted, a baby/giant
  // split that is not the diagonals', replication or folding steps that are not the periods'),
  // or "".
  std::string error() const;
  bool operator==(const DiagonalLayout&) const = default;
};

// What the server does for one linear layer in this layout, per image (Server::evaluate_image
// counts the same): the hoisted baby rotations, one product per diagonal, the giant rotations,
// the replication and folding, one rescale and the bias.
OpCounts diagonal_ops(const DiagonalLayout& d);

// One step of the program: one model layer.
struct LayerPlan {
  std::string kind;  // conv2d, avgpool2d, dense, flatten, square, polynomial
  std::string shape_out;
  int level_in = 0, level_out = 0;
  double log2_scale_out = 0;  // the input's is the step before's (the plan's default scale first)
  // latency packing, linear layers: the diagonal method (a summary of the layout)
  int diagonals = 0, baby_steps = 0, giant_steps = 0;
  bool hybrid = false;  // the hybrid (replicate, multiply, fold) diagonal layout
  std::size_t input_period = 0;  // hybrid: the period of its input (slots per repetition)
  std::optional<DiagonalLayout> layout;  // the diagonal latency layout of a linear layer
  std::vector<int> rotation_steps;  // the steps this layer rotates by, in [1, slots), ascending
  std::uint64_t plaintexts = 0;     // plaintexts the server encodes for it once (diagonals) or
                                    // at most once (channel-packed weights, cached)
  OpCounts ops;
  std::string note;  // polynomial activations: folded or kept, and why (nn/activation_fold.h)
};

// Makes `step` the diagonal-layout step of `d` in a ring with `slots` slots: the layout, its
// rotation steps, operations, plaintexts and summary (diagonals, baby and giant steps, hybrid,
// input period).
void assign_layout(LayerPlan& step, const DiagonalLayout& d, std::size_t slots);

// Why the program (the plan's layers) is not consistent with itself and with the plan's
// input level, depth, period and slot count, or "": known layer kinds; levels that chain from
// the input level down by the network's depth (a linear layer, a square: one level; a linear
// layer fused into the next, channel-packed: none; flatten: none); finite positive scales;
// rotation steps in normal form (none in throughput packing); and in the diagonal latency
// layout, a self-consistent layout per linear layer whose steps, counts and summary are its
// own and whose hybrid input period is the repetition the step before leaves.
// Plan::validation_error calls it.
std::string program_error(const std::vector<LayerPlan>& layers, int input_level, int depth, std::size_t period,
                          std::size_t slots, bool latency, bool multiplexed);

// What the counting evaluator finds when it runs the program: the operations, the rotation
// steps that need Galois keys, and the words of the plaintexts encoded in advance.
struct ProgramCount {
  OpCounts total;
  std::vector<int> rotation_steps;  // ascending, distinct
  std::size_t plaintext_words = 0;  // each plaintext at its layer's input level, ring degree n
};
ProgramCount count_program(const std::vector<LayerPlan>& layers, std::size_t n);

// Steps in [1, slots): s mod slots, zeros dropped, ascending, distinct.
std::vector<int> normalize_steps(const std::vector<int>& steps, std::size_t slots);

}  // namespace hemi::he
