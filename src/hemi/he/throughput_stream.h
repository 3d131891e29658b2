// Throughput packing (one image per slot, one ciphertext per activation value), streamed through
// every layer so that the server's memory stays bounded.
//
// The network becomes a chain of stages: a linear layer (as a sparse matrix) followed by the
// element-wise activations after it. Each stage computes its output rows in a fixed order, a
// chunk of rows at a time; a chunk pulls from the stage before it just the values it reads, and
// a value is dropped after the chunk of its last reader. The source (the client's input values)
// is read position by position (y, x, then channel), each stage sorts its rows by the last input
// they need, so the values flow as bands of rows of the image through all layers at once: only a
// few rows of each layer's activations are alive, not whole layers.
//
// One schedule (stream_schedule) drives both the executor (Server::evaluate_batch) and the
// compiler's memory estimate (stream_peak_words), so the plan's peak is the executor's: the
// compiler writes its row orders into the plan's program (LayerPlan::stream_rows) and the
// server builds its schedule from those.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/he/linear.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

// Rows of one stage computed together (one Evaluator::dot_products call).
inline constexpr std::size_t kStreamChunkRows = 32;

// One model layer as the stream sees it (built by the compiler and by the server alike).
struct StreamLayer {
  enum Kind { kLinear, kSquare, kPolynomial, kFlatten } kind = kFlatten;
  const SparseMatrix* matrix = nullptr;               // linear
  const std::vector<double>* coefficients = nullptr;  // polynomial
  int level_out = 0;  // the level of its outputs (used only for the memory estimate)
  // linear: the order to compute its rows in (the plan's program: LayerPlan::stream_rows);
  // null: the compiler's choice, rows sorted by the last input they need.
  const std::vector<std::uint32_t>* rows = nullptr;
};

struct StreamStage {
  const SparseMatrix* matrix = nullptr;  // null: the identity (a network that starts with an activation)
  std::size_t width_in = 0, width_out = 0;
  std::size_t linear_layer = SIZE_MAX;  // model layer index of the matrix
  struct Activation {
    std::size_t layer = 0;
    const std::vector<double>* coefficients = nullptr;  // null: x^2
  };
  std::vector<Activation> activations;
  int level_out = 0;
};

struct StreamSchedule {
  nn::TensorShape input;
  int input_level = 0;
  std::vector<StreamStage> stages;
  std::vector<std::uint32_t> input_order;  // the source's value indices in fetch order
  struct Order {
    std::vector<std::uint32_t> rows;      // the stage's rows in computing order
    std::vector<std::size_t> need;        // per position: inputs that must have arrived first
                                          // (for it and every row before it: non-decreasing)
    std::vector<std::uint32_t> last_use;  // per input: 1 + position of its last reader (0: none)
  };
  std::vector<Order> orders;
};

// The stages and their order; layers are the model's, in order. A stage is a linear layer and
// the element-wise activations after it. Throws hemi::Error on a layer list that is not a chain
// of matching widths, or a given row order that is not a permutation of its layer's rows.
StreamSchedule stream_schedule(const nn::TensorShape& input, int input_level, const std::vector<StreamLayer>& layers);

// Peak words (64-bit) of ciphertexts alive at once when the schedule runs in a ring of degree n:
// each ciphertext 2 polynomials of level + 1 residues, counted from the moment it is fetched or
// computed until it is dropped (the outputs of a chunk before its inputs are dropped).
std::size_t stream_peak_words(const StreamSchedule& s, std::size_t n);

// What an evaluation did: operations per model layer, and the peak of the ciphertext words
// alive at once (measured on the ciphertexts themselves).
struct StreamStats {
  std::vector<OpCounts> layer_ops;
  std::size_t peak_words = 0;
};

// Predicted operations of each model layer in throughput packing, per batch: what
// stream_evaluate counts when it runs.
std::vector<OpCounts> stream_layer_ops(const StreamSchedule& s, std::size_t layers);

struct StreamContext {
  const ckks::Evaluator* eval = nullptr;       // per-ciphertext work (called from pool tasks)
  const ckks::Evaluator* eval_pool = nullptr;  // work that spreads itself over the pool
  const ckks::RelinKey* relin = nullptr;
  std::function<void(std::size_t, const std::function<void(std::size_t)>&)> for_each;  // over the pool
  std::function<ckks::Ciphertext(std::size_t)> fetch;  // the source, with its checks
};

// Runs the schedule; returns the last stage's outputs (one ciphertext per value). Every source
// value is fetched exactly once, also those no layer reads.
std::vector<ckks::Ciphertext> stream_evaluate(const StreamSchedule& s, const StreamContext& ctx,
                                              StreamStats* stats = nullptr);

}  // namespace hemi::he
