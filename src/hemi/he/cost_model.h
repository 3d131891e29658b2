// The compiler's time model: single-thread cost of each CKKS operation, per SIMD path, as a few
// physically meaningful terms, scaled to this CPU by a calibration (N = 8192 NTTs on the active
// path, against the same kernel on the reference machine) or a pinned factor
// (HEMI_COST_CPU_FACTOR).
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
#include <optional>
#include <string>
#include <vector>

#include "hemi/he/plan.h"

namespace hemi::he {

struct CostModel {
  const char* path;    // the SIMD path whose table is used
  double cpu_factor;   // this CPU's time / the reference machine's, for that path (clamped)
  bool pinned;         // cpu_factor was given (HEMI_COST_CPU_FACTOR), not measured
  double ntt_us;       // measured: the calibration kernel here (0 when pinned)
  double ntt_us_reference;  // the same kernel on the reference machine
  bool clamped;        // the measured ratio fell outside [kMinCpuFactor, kMaxCpuFactor]
  // How the factor was obtained, for hemi plan / hemi eval: "pinned by HEMI_COST_CPU_FACTOR"
  // or "NTT calibration: 13.6 us against 13.6 us on the reference".
  std::string how() const;
};

// The range of a factor: a measurement outside it is clamped, a pinned value outside it refused.
inline constexpr double kMinCpuFactor = 0.25, kMaxCpuFactor = 8.0;

// The cost model of this process, made once, on the first call (hemi plan and hemi eval call
// it first thing, before any worker thread starts): pinned by the environment variable
// HEMI_COST_CPU_FACTOR if set, else calibrated (about 30 ms). Throws hemi::Error for a bad
// HEMI_COST_CPU_FACTOR.
const CostModel& cost_model();
// What cost_model() makes: with `pinned` (the variable's text) that factor, else a calibration.
CostModel make_cost_model(const std::optional<std::string>& pinned);
// The model for a calibration that read `ntt_us` on the active path (the factor clamped).
CostModel calibrated_cost_model(double ntt_us);
// A pinned factor's text: a number in [kMinCpuFactor, kMaxCpuFactor], else hemi::Error naming
// HEMI_COST_CPU_FACTOR and the value.
double parse_cpu_factor(const std::string& text);

// The calibration kernel: forward NTTs at N = 8192 (31-bit prime) on a 64-byte aligned
// polynomial (as a ciphertext's limbs are: an unaligned one runs the IFMA kernel 1.2x slower),
// in microseconds. After a warm-up, blocks of 24 transforms for at least `min_ms` milliseconds
// (and at least 16 blocks); the result is the lower decile of the blocks' best times: a
// preemption costs one transform, not a block's best, and a slow stretch of the machine (another
// process, a throttled vCPU) shorter than 90 % of the window does not move it.
double measure_calibration_ntt_us(double min_ms = 20);

// The last-level cache and the memory bandwidth one thread sees (the memory term above).
inline constexpr double kLastLevelCacheBytes = 32.0 * 1024 * 1024;
inline constexpr double kMemoryBytesPerSecond = 8e9;

// Predicted single-thread seconds for the operations, at ring degree n with `limbs` primes and
// `special` special primes (one per digit of the key switching, as the compiler's chains have).
// `model` (default: this process's) gives the path's table and the CPU factor.
double predict_seconds(const OpCounts& ops, std::size_t n, std::size_t limbs, std::size_t special = 1,
                       const CostModel& model = cost_model());
// The same for a plan's layers, each at the primes of its input level (an operation's cost
// grows with the limbs it touches; late layers run on few). With a plaintext cache of
// `cache_bytes` (latency, multiplexed layout), the plaintexts it keeps (the first ones encoded,
// up to the budget: he/plaintext_cache.h) are encoded once, not per image: the steady state.
double predict_layers_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes = 0,
                              std::size_t special = 1);
// The one-off cost the steady state leaves out: encoding the plaintexts the cache keeps (the
// first image pays it).
double predict_cache_fill_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes);
// The same from cached_encodes' answer (a caller that prints it too computes it once).
double predict_cache_fill_seconds(const std::vector<LayerPlan>& layers, std::size_t n,
                                  const std::vector<std::uint64_t>& kept);
// How many of each layer's plaintexts the cache keeps (the rest are encoded for every image).
std::vector<std::uint64_t> cached_encodes(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes);

// The peak resident bytes of a process that runs the plan as client and server (hemi eval,
// hemi run): `before` (what the process held before the session) plus the server's memory
// (Plan::server_memory_bytes). The client's evaluation keys are moved into the server, not
// copied, so they are not counted twice.
double predict_peak_bytes(const Plan& plan, double before);

}  // namespace hemi::he
