// The lowered program: what the compiler decided for every layer of a model, in the form the
// server runs and the counting evaluator counts. One step per model layer (Plan::layers), each
// with the level and scale of its input and output, the rotation steps it uses, the plaintexts
// it encodes and the operations it performs; a linear layer in the diagonal latency layout also
// carries that layout (the diagonals, the baby-step giant-step split, the hybrid replication and
// folding), so the server builds its plaintexts from the program instead of choosing a layout
// again; in the channel-packed latency layout (multiplexed_layout.h) each step carries the op
// its executor runs (MuxOp: grids, gaps, offsets, products, pooling and sum steps, level; the
// weights stay the model's), so that executor runs the plan's steps, not a lowering of its own;
// in throughput packing a linear layer's step carries the order the stream computes its rows
// in (throughput_stream.h), which the server streams; the stream's counts are held to the
// step's when the server is prepared.
//
// Made by compile(), serialized with the plan (format version 3), checked once by Plan::create
// (program_error, mux_program_error) and counted by count_program.
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

// ---- the channel-packed ("multiplexed") latency layout's steps (multiplexed_layout.h) ----

// C x H x W values at `gap`-multiple positions of the original grid.
struct MuxGrid {
  int channels = 1, height = 1, width = 1, gap = 1;
  bool operator==(const MuxGrid&) const = default;
};

struct MuxFormat {
  std::size_t slots = 0, block = 0;  // B: a power of two >= H0 * W0
  int base_width = 1;                // W0
  int blocks = 1;                    // nb = slots / B
  int ciphertexts(int channels, bool replicated) const {
    return replicated ? 1 : (channels + blocks - 1) / blocks;
  }
};

// One plaintext product: output ciphertext, input ciphertext, block rotation r, offset index.
struct MuxTerm {
  int out_ct = 0, in_ct = 0, r = 0, offset = 0;
  bool operator==(const MuxTerm&) const = default;
};

// What the channel-packed executor does for one model layer. Everything but the weights (and a
// polynomial's coefficients): those come from the model when it runs.
struct MuxOp {
  enum Kind { kLinear, kPoolOnly, kSquare, kPolynomial } kind = kLinear;
  std::size_t layer = 0;        // the model layer this op implements (a linear op: the linear one)
  int level_in = 0;
  MuxGrid in, out;
  bool replicated_in = false;   // input ciphertext block b holds channel b % C
  int in_cts = 1, out_cts = 1;
  // Pooling before the products: in += rot(in, s) for each step; weights scaled by factor.
  std::vector<int> pool_steps;
  double weight_factor = 1.0;
  // kLinear: the products.
  enum Weights { kConv, kDenseSum, kDenseOffsets } weights = kConv;
  MuxGrid pooled;               // the grid the products read (in, or in after the fused pooling)
  std::vector<int> offsets;     // rotation of each offset (slots); kConv: kernel (u, v) row-major
  std::vector<MuxTerm> terms;   // by out_ct, then r, then in_ct, then offset
  std::vector<int> sum_steps;   // kDenseSum: rotate-and-sum after the products
  bool has_bias = false;
  std::vector<double> coefficients;  // kPolynomial: from the model (not in the plan)

  // Per input ciphertext: the non-zero offsets used (baby rotations, hoisted together).
  std::vector<std::vector<int>> babies() const;
  // Per output ciphertext: the non-zero block rotations used (giant steps).
  std::vector<std::vector<int>> giants() const;
  // Every step it rotates by, in [1, slots), ascending (block: the slots per channel block).
  std::vector<int> rotation_steps(std::size_t slots, std::size_t block) const;
  bool operator==(const MuxOp&) const = default;
};

// The operation counts of one op, as the channel-packed executor performs them (a polynomial's
// from its coefficients: activations.h).
OpCounts mux_op_counts(const MuxOp& op);

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
  // The channel-packed latency layout: the op this layer runs (none for a flatten or a pooling
  // fused into the next linear layer).
  std::optional<MuxOp> mux;
  // Throughput packing, linear layers: the order the stream computes the layer's output rows in
  // (a permutation of them; throughput_stream.h), which decides when each value is alive.
  std::vector<std::uint32_t> stream_rows;
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
// rotation steps in normal form (none in throughput packing); in throughput packing a row
// order (a permutation) on every linear layer and on no other; a channel-packed op only in
// that layout (mux_program_error checks the ops); and in the diagonal latency layout, a
// self-consistent layout per linear layer whose steps, counts and summary are its own and
// whose hybrid input period is the repetition the step before leaves.
// Plan::validation_error calls it.
std::string program_error(const std::vector<LayerPlan>& layers, int input_level, int depth, std::size_t period,
                          std::size_t slots, bool latency, bool multiplexed);

// Bound on the channels of a channel-packed grid (far above any model hemi trains).
inline constexpr int kMaxMuxChannels = 1 << 16;

// Why the channel-packed steps (LayerPlan::mux) do not chain into a program the executor can
// run in format f from the client's input (height x f.base_width, `channels` channels after
// space-to-depth) to one value per class, or "": every layer but a flatten or a fused pooling
// has its op, of its kind, layer and level; each op reads the grid, replication and
// ciphertexts the op before leaves; grids fit a block (so every plaintext position is inside
// the slots); products in range, ascending, at least one per output ciphertext; steps within
// the slots; its rotation steps, counts (a polynomial's are the server's to check) and summary
// are the step's. Plan::validation_error calls it for a channel-packed plan.
std::string mux_program_error(const std::vector<LayerPlan>& layers, const MuxFormat& f, int height, int channels,
                              int classes);

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
