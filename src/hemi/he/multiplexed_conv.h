// The executor of the multiplexed latency layout (multiplexed_layout.h): runs the plan's
// program (its LayerPlan::mux steps, with the model's weights) on one image's ciphertext. Per
// linear layer: the fused pooling (hoisted rotations and sums), the kernel offsets of each
// input ciphertext (hoisted, shared by every output channel), per output ciphertext the
// plaintext products accumulated unreduced per block rotation, the block rotations (channel
// accumulation), rotate-and-sum steps, one rescale and the bias. Weights are
// encoded on demand at the level they are used, through a bounded PlaintextCache.
// It counts what it does, per model layer, so that tests can hold the plan's counts to it.
// Immutable apart from the cache; thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/he/multiplexed_layout.h"
#include "hemi/he/plaintext_cache.h"
#include "hemi/nn/model.h"

namespace hemi::he {

class MultiplexedExecutor {
 public:
  // Runs the plan's program (mux_program): throws hemi::Error if the plan is not a multiplexed
  // latency plan or its steps do not fit this model.
  MultiplexedExecutor(const Plan& plan, const nn::Model& model);
  const MuxProgram& program() const { return program_; }
  const PlaintextCache& cache() const { return *cache_; }

  // One image: the input ciphertext at the plan's input level -> the logits ciphertext (class k
  // in slot k * block). `counts`, if given, receives the operations done per model layer;
  // `outputs`, if given, the level and scale of each op's outputs, in order (MuxOp::layer
  // names the model layer).
  struct OpOutput {
    std::size_t layer = 0;
    int level = 0;
    double scale = 0;
  };
  ckks::Ciphertext run(const ckks::Ciphertext& input, const ckks::RelinKey& relin, const ckks::GaloisKeys& galois,
                       ThreadPool* pool, std::vector<OpCounts>* counts = nullptr,
                       std::vector<OpOutput>* outputs = nullptr) const;

 private:
  Plan plan_;
  nn::Model model_;
  ckks::Params params_;
  ckks::Encoder encoder_;
  MuxProgram program_;
  std::unique_ptr<PlaintextCache> cache_;
};

}  // namespace hemi::he
