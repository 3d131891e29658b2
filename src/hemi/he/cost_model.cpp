#include "hemi/he/cost_model.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "hemi/base/aligned_vector.h"
#include "hemi/base/error.h"
#include "hemi/math/ntt.h"
#include "hemi/math/primes.h"
#include "hemi/math/simd.h"

namespace hemi::he {

namespace {

// Single-thread microseconds in units of s(N) (N = 8192: s = 1), per path: least-squares fits
// (relative error; bench/cost_model_fit.py reproduces them from the measurements kept in
// bench/cost_model_ops/) of hemi-bench-cost-ops (bench/cost_model_ops.cpp) on the reference machine
// (AMD EPYC Zen 4, 2 cores, shared: lightly loaded for the IFMA and AVX2 rows), after taking
// out the memory term (its constants are in cost_model.h); `ntt_us` is the calibration
// kernel (measure_calibration_ntt_us) on the reference machine. IFMA and AVX2: from a later
// hemi-bench-cost-ops run whose compute-bound operations took 1.00x the fitted measurements
// (bench/cost_model_ops/calibration_check/, bench/cost_model_calibration_check.py); they were
// 14.9 and 21.6, single 0.4 ms windows on a polynomial the heap happened to place (unaligned
// reads 16.8 and 23.9 here). Scalar: in the same run as its fit (that kernel ignores alignment).
// Key-switching rows: {a per digit x (limbs + special), b per limb}; the others per limb.
struct KeySwitchCost {
  double per_digit_limb, per_limb;
};
struct OpCosts {
  double ntt_us;
  KeySwitchCost rotate, hoisted_rotate, relin;  // relin includes the tensor product before it
  double rescale, plain_mul, add, dot_term;     // per limb; plain_mul: a term of a fused sum
  double encode_per_limb, encode_fft;           // per limb, and the special FFT's share
};
// clang-format off
constexpr OpCosts kIfma{13.6, {45.66, 10.79}, {58.75, -33.19}, {40.78, 46.78}, 41.13, 18.86, 2.30, 3.57, 20.16, 80.68};
constexpr OpCosts kAvx2{21.3, {66.91, 18.76}, {63.85, -22.45}, {69.73, 24.51}, 63.59, 20.74, 2.80, 3.43, 27.10, 90.62};
// A plaintext product is a term of Evaluator::multiply_plain_sum (both latency executors run
// those): about 4x an in-place product on IFMA (it accumulates 104-bit sums and reduces once),
// so it is fitted to that, not to multiply_plain.
// The scalar path's fit is looser (within 70 % of each point; its key switching jumps between 3
// and 4 limbs at N = 8192) and checked on seed-cnn only; a relinearization takes the rotation
// row (its own fit had a negative per-limb term); dot_term from the previous table.
constexpr OpCosts kScalar{80.72, {183.87, 419.18}, {31.79, 1075.95}, {183.87, 419.18}, 219.26, 27.11, 8.72, 4.86, 87.5, 117.25};
// clang-format on

const OpCosts& costs_for(math::simd::Path p) {
  switch (p) {
    case math::simd::Path::avx512ifma: return kIfma;
    case math::simd::Path::avx2: return kAvx2;
    case math::simd::Path::scalar: break;
  }
  return kScalar;
}

// N log N in units of the N = 8192 transform.
double size_factor(std::size_t n) {
  const double nd = static_cast<double>(n);
  return nd / 8192.0 * std::log2(nd) / 13.0;
}

// One key switch at `limbs` primes: the digits (one per special-prime-sized group of limbs)
// each extended to limbs + special primes, and the key's memory traffic beyond the cache.
double key_switch_us(const KeySwitchCost& c, std::size_t n, double limbs, double special) {
  const double digits = std::ceil(limbs / special);
  const double compute = size_factor(n) * (c.per_digit_limb * digits * (limbs + special) + c.per_limb * limbs);
  const double key_bytes = digits * (limbs + special) * static_cast<double>(n) * 4 * sizeof(std::uint64_t);
  const double memory = std::max(0.0, key_bytes - kLastLevelCacheBytes) / kMemoryBytesPerSecond * 1e6;
  return std::max(0.0, compute) + memory;
}

double encode_us(const OpCosts& c, std::size_t n, double limbs) {
  return size_factor(n) * (c.encode_per_limb * limbs + c.encode_fft);
}

std::size_t plaintext_bytes(std::size_t n, std::size_t limbs) { return n * limbs * sizeof(std::uint64_t); }

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

double measure_calibration_ntt_us(double min_ms) {
  using Clock = std::chrono::steady_clock;
  const std::size_t n = 8192;
  const math::Modulus q(math::generate_ntt_primes({31}, n)[0]);
  const math::NttTables t(n, q);
  U64Vec a(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = (i * 2654435761u) % q.value;
  constexpr int kPerBlock = 24, kMinBlocks = 16, kMaxBlocks = 4096;
  const auto start = Clock::now();
  // Warm-up: the tables and the polynomial into the cache, the core out of any idle state.
  while (std::chrono::duration<double, std::milli>(Clock::now() - start).count() < 2) math::ntt_forward(a.data(), t);
  std::vector<double> best;
  const auto window = Clock::now();
  while (best.size() < static_cast<std::size_t>(kMinBlocks) ||
         (std::chrono::duration<double, std::milli>(Clock::now() - window).count() < min_ms && best.size() < kMaxBlocks)) {
    double b = 1e30;
    for (int rep = 0; rep < kPerBlock; ++rep) {
      const auto t0 = Clock::now();
      math::ntt_forward(a.data(), t);
      b = std::min(b, std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    best.push_back(b);
  }
  // The lower decile: a slow stretch of the machine shorter than 90 % of the window does not move
  // it (on the loaded 2-core machine the median moved by up to 1.28x in 5 % of calibrations).
  const auto decile = best.begin() + static_cast<std::ptrdiff_t>(best.size() / 10);
  std::nth_element(best.begin(), decile, best.end());
  return *decile;
}

double parse_cpu_factor(const std::string& text) {
  const std::string what = "HEMI_COST_CPU_FACTOR (this CPU's time / the reference machine's, a number in [" +
                           fixed(kMinCpuFactor) + ", " + fixed(kMaxCpuFactor) + "]) is '" + text + "'";
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto [end, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || end != e) throw Error(what + ": not a number");
  if (!std::isfinite(v) || v < kMinCpuFactor || v > kMaxCpuFactor) throw Error(what + ": out of range");
  return v;
}

CostModel calibrated_cost_model(double ntt_us) {
  const auto path = math::simd::active_path();
  const double reference = costs_for(path).ntt_us;
  const double factor = ntt_us / reference;
  const double clamped = std::clamp(factor, kMinCpuFactor, kMaxCpuFactor);
  return CostModel{math::simd::path_name(path), clamped, false, ntt_us, reference, clamped != factor};
}

CostModel make_cost_model(const std::optional<std::string>& pinned) {
  const auto path = math::simd::active_path();
  if (pinned) return CostModel{math::simd::path_name(path), parse_cpu_factor(*pinned), true, 0, costs_for(path).ntt_us, false};
  return calibrated_cost_model(measure_calibration_ntt_us());
}

std::string CostModel::how() const {
  if (pinned) return "pinned by HEMI_COST_CPU_FACTOR";
  char buf[200];
  std::snprintf(buf, sizeof buf, "NTT calibration: %.1f us against %.1f us on the reference%s", ntt_us, ntt_us_reference,
                clamped ? ", clamped" : "");
  return buf;
}

const CostModel& cost_model() {
  static const CostModel model = [] {
    const char* env = std::getenv("HEMI_COST_CPU_FACTOR");
    return make_cost_model(env && *env ? std::optional<std::string>(env) : std::nullopt);  // empty: unset
  }();
  return model;
}

double predict_seconds(const OpCounts& o, std::size_t n, std::size_t limbs, std::size_t special, const CostModel& model) {
  const OpCosts& c = costs_for(math::simd::parse_path(model.path));
  const double L = static_cast<double>(limbs), k = static_cast<double>(std::max<std::size_t>(special, 1));
  const double s = size_factor(n);
  // A hoisted group is one full rotation (with the decomposition) and further rotations that
  // reuse it.
  const double further = std::max(0.0, static_cast<double>(o.rotations) - static_cast<double>(o.hoisted_groups));
  const double full = static_cast<double>(o.rotations) - further;
  const double us = full * key_switch_us(c.rotate, n, L, k) + further * key_switch_us(c.hoisted_rotate, n, L, k) +
                    static_cast<double>(o.relinearizations) * key_switch_us(c.relin, n, L, k) +
                    s * L *
                        (static_cast<double>(o.rescales) * c.rescale +
                         static_cast<double>(o.plain_multiplies) * c.plain_mul +
                         static_cast<double>(o.dot_terms) * c.dot_term + static_cast<double>(o.additions) * c.add) +
                    static_cast<double>(o.encodes) * encode_us(c, n, L);
  return us * model.cpu_factor * 1e-6;
}

std::vector<std::uint64_t> cached_encodes(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes) {
  std::vector<std::uint64_t> kept(layers.size(), 0);
  std::size_t room = cache_bytes;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::size_t each = plaintext_bytes(n, static_cast<std::size_t>(layers[i].level_in) + 1);
    kept[i] = std::min<std::uint64_t>(layers[i].ops.encodes, room / each);
    room -= static_cast<std::size_t>(kept[i]) * each;
  }
  return kept;
}

double predict_layers_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes,
                              std::size_t special) {
  const std::vector<std::uint64_t> kept = cached_encodes(layers, n, cache_bytes);
  double s = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    OpCounts ops = layers[i].ops;
    ops.encodes -= kept[i];
    s += predict_seconds(ops, n, static_cast<std::size_t>(layers[i].level_in) + 1, special);
  }
  return s;
}

double predict_cache_fill_seconds(const std::vector<LayerPlan>& layers, std::size_t n, std::size_t cache_bytes) {
  return predict_cache_fill_seconds(layers, n, cached_encodes(layers, n, cache_bytes));
}

double predict_cache_fill_seconds(const std::vector<LayerPlan>& layers, std::size_t n,
                                  const std::vector<std::uint64_t>& kept) {
  if (kept.size() != layers.size())
    throw Error("predict_cache_fill_seconds: " + std::to_string(kept.size()) + " kept counts for " +
                std::to_string(layers.size()) + " layers");
  double s = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    OpCounts ops;
    ops.encodes = kept[i];
    s += predict_seconds(ops, n, static_cast<std::size_t>(layers[i].level_in) + 1);
  }
  return s;
}

double predict_peak_bytes(const Plan& plan, double before) {
  return before + static_cast<double>(plan.server_memory_bytes);
}

}  // namespace hemi::he
