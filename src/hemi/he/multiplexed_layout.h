// The channel-packed ("multiplexed") latency layout, and the program it lowers a model to.
//
// Slots are split into blocks of B = pow2(H0 * W0) slots (H0 x W0: the input image). Channel c
// of an activation lives in ciphertext c / nb, block c % nb (nb = slots / B blocks per
// ciphertext); inside a block, value (i, j) of a C x H x W activation sits at position
// i * gap * W0 + j * gap of the original grid. Strides and pooling multiply the gap instead of
// repacking (the gapped layout of Lee et al. 2022 without interleaving channels into the gaps).
// The client's input, when it has fewer channels than blocks, is replicated: block b holds
// channel b % C. Everything else in a block (non-grid positions, unused blocks) is don't-care:
// every linear layer reads only grid positions, through masks built into its plaintexts.
//
// A linear layer (convolution, dense; an average pooling before it is fused into it) is
//   out[T_o] = sum_r rot( sum_{T_i, d} pt[T_o, T_i, r, d] (*) rot(in[T_i], offset_d), r * B )
// followed by optional rotate-and-sum steps (dense), a rescale and the bias: the kernel
// offsets d are the baby steps, hoisted once per input ciphertext and shared by every output
// channel; the block rotations r (giant steps) accumulate over channels (block-diagonal method
// over the channel blocks, Gazelle / Halevi-Shoup). Plaintext pt[...] holds, in block b, the
// weight from the input channel that block b + r holds to output channel T_o * nb + b, at the
// output positions where the kernel reads inside the input (zero padding = a zero weight),
// pre-rotated by -r * B. A fused pooling is a sum of rotations of the input (no level), its
// 1 / (kh * kw) folded into the weights.
//
// The compiler lowers the model once (lower_multiplexed) and writes each op into its layer's
// program step (LayerPlan::mux, program.h, serialized with the plan); the executor
// (multiplexed_conv.h) runs the plan's steps with the model's weights (mux_program) and counts
// what it does; the counting evaluator counts the same steps (mux_op_counts), and the two agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hemi/he/compiler.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

struct MuxProgram {
  MuxFormat format;
  // The client's space-to-depth factor s (1: none): a first convolution with stride s reads
  // the image as s^2 phase channels of (H/s) x (W/s), as a stride-1 convolution (first_layer),
  // so every block is s^2 times smaller and holds s^2 times more channels.
  int phases = 1;
  std::optional<nn::Layer> first_layer;
  const nn::Layer& layer(const nn::Model& m, std::size_t i) const {
    return i == 0 && first_layer ? *first_layer : m.layers()[i];
  }
  std::vector<MuxOp> ops;
  int depth = 0;
  int input_channels = 1;
  int classes = 1;
  std::vector<int> rotation_steps() const;  // every step that needs a Galois key, in [1, slots)
  std::vector<int> rotation_steps(const MuxOp& op) const;  // the steps of one op, the same way
};

// The program for `model` in a ring with `slots` slots, levels counted down from top_level
// (< 0: the program's own depth), with the client's space-to-depth factor `phases`. Throws
// hemi::Error with the reason when the model does not fit this layout: an image block larger
// than the slots, more input channels or classes than blocks, unequal strides, a network that
// does not end in one value per class, or too few levels.
MuxProgram lower_multiplexed(const nn::Model& model, std::size_t slots, int top_level = -1, int phases = 1);
// The program the plan's steps (LayerPlan::mux, checked by Plan::create) make for `model` in a
// ring with `slots` slots: the plan's ops, with the model's first layer in its space-to-depth
// form and its polynomials' coefficients. Throws hemi::Error with the reason when a step does
// not fit the model: another layer kind, grids, offsets, pooling or sum steps that are not the
// layer's, a non-zero weight whose product the step does not list, or a polynomial whose cost
// is not the step's.
MuxProgram mux_program(const Plan& plan, const nn::Model& model, std::size_t slots);
// The space-to-depth factor the model allows: the first layer's stride if it is a convolution
// with equal strides s > 1 dividing the image, whose phase form has the same output; else 1.
int phase_factor(const nn::Model& model);

// The levels the multiplexed layout consumes (an average pooling before a linear layer costs
// none).
int multiplexed_depth(const nn::Model& model);

// Values of plaintext `t` of op `op` (slots values, zero where no weight), from layer `layer`
// of the model.
std::vector<double> mux_term_values(const MuxProgram& p, const MuxOp& op, const MuxTerm& t, const nn::Layer& layer);
// The bias of output ciphertext t at its grid positions.
std::vector<double> mux_bias_values(const MuxProgram& p, const MuxOp& op, int t, const nn::Layer& layer);

// Slots of the client's input ciphertext (the image, replicated over the blocks if it has
// fewer channels than blocks).
std::vector<double> mux_input_slots(const Plan& plan, std::size_t slots, const float* image);

// A latency plan in the multiplexed layout: the smallest ring (at most 2^16) that holds the
// depth at the security level and the image in one block, then the ring with the smallest
// predicted time among those up to 2^16. Refuses (hemi::Error, with the reason) a model that
// does not fit, or a server that would need more than options.max_server_memory.
Plan compile_multiplexed(const nn::Model& model, const CompileOptions& options);

// Bytes of one plaintext at `level` in the plan's ring.
std::size_t mux_plaintext_bytes(std::size_t n, int level);

}  // namespace hemi::he
