// The compiler's time model: single-thread costs of each CKKS operation, per SIMD path, scaled
// to this CPU by a short calibration (the best of a few N = 8192 NTTs on the active path,
// against the same kernel on the reference machine). Estimates, not promises; the figures come
// from bench/run_ckks.sh (BENCHMARKS.md).
#pragma once

#include <cstddef>
#include <vector>

#include "hemi/he/plan.h"

namespace hemi::he {

struct CostModel {
  const char* path;   // the SIMD path whose table is used
  double cpu_factor;  // this CPU's time / the reference machine's, for that path (clamped)
};

// Measured once per process (about a millisecond), then reused.
const CostModel& cost_model();

// Predicted single-thread seconds for the operations, at ring degree n with `limbs` primes.
double predict_seconds(const OpCounts& ops, std::size_t n, std::size_t limbs);
// The same for a plan's layers, each at the primes of its input level (an operation's cost
// scales with the limbs it touches; late layers run on few).
double predict_layers_seconds(const std::vector<LayerPlan>& layers, std::size_t n);

}  // namespace hemi::he
