// The compiler's time model: single-thread cost of each CKKS operation, per SIMD path, as a few
// physically meaningful terms, scaled to this CPU by a short calibration (the best of a few
// N = 8192 NTTs on the active path, against the same kernel on the reference machine).
//
//   key switching (rotate, a further hoisted rotation, relinearize):
//       s(N) * (a * digits * (limbs + special) + b * limbs) + max(0, key bytes - L3) / bandwidth
//   element-wise (rescale, plaintext product, addition, dot-product term):  s(N) * c * limbs
//   encoding (special FFT, then one NTT per prime):                        s(N) * (c * limbs + d)
//
// with s(N) = (N / 8192) * (log2 N / 13): the NTT's N log N, in units of the N = 8192 size. Key
// switching is quadratic in the limbs (every digit is extended to every prime), and once the
// key-switching key it streams (digits x (limbs + special) x N x 4 words: b, a and their Shoup
// tables) no longer fits in the last-level cache, each use reads the rest from memory. The
// constants are fitted to bench/cost_model_ops.cpp (every operation at every level of the
// medcnn and seed-cnn chains); the end-to-end runs they are checked on are in docs/he.md, "Cost".
// Estimates, not promises.
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
// The calibration kernel: the best of 24 forward NTTs at N = 8192 (31-bit prime), microseconds.
double measure_calibration_ntt_us();

// The last-level cache and the memory bandwidth one thread sees (the memory term above).
inline constexpr double kLastLevelCacheBytes = 32.0 * 1024 * 1024;
inline constexpr double kMemoryBytesPerSecond = 8e9;

// Predicted single-thread seconds for the operations, at ring degree n with `limbs` primes and
// `special` special primes (one per digit of the key switching, as the compiler's chains have).
double predict_seconds(const OpCounts& ops, std::size_t n, std::size_t limbs, std::size_t special = 1);
// The same for a plan's layers, each at the primes of its input level (an operation's cost
// grows with the limbs it touches; late layers run on few). With a plaintext cache of
// `cache_bytes` (latency, multiplexed layout), the plaintexts it keeps (the first ones encoded,
// up to the budget: he/plaintext_cache.h) are encoded once, not per image: the steady state.
double predict_layers_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes = 0,
                              std::size_t special = 1);
// The one-off cost the steady state leaves out: encoding the plaintexts the cache keeps (the
// first image pays it).
double predict_cache_fill_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes);
// How many of each layer's plaintexts the cache keeps (the rest are encoded for every image).
std::vector<std::uint64_t> cached_encodes(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes);

// The peak resident bytes of a process that runs the plan as client and server (hemi eval,
// hemi run): `before` (what the process held before the session) plus the server's memory
// (Plan::server_memory_bytes). The client's evaluation keys are moved into the server, not
// copied, so they are not counted twice.
double predict_peak_bytes(const Plan& plan, double before);

}  // namespace hemi::he
