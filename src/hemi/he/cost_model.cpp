#include "hemi/he/cost_model.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "hemi/math/ntt.h"
#include "hemi/math/primes.h"
#include "hemi/math/simd.h"

namespace hemi::he {

namespace {

// Single-thread microseconds at N = 8192 with 7 primes on the reference machine (AMD EPYC
// Zen 4, BENCHMARKS.md), per path; scaled linearly in N and in the number of primes, each
// layer at the primes of its input level. Checked against single-thread end-to-end runs
// (docs/he.md, "Cost"): after the second speed round the vector rows' key-switching and
// element-wise costs were scaled by 0.85 so that seed-cnn (latency and throughput) and medcnn
// (latency) fall within 30 % of what they measure.
struct OpCosts {
  double ntt_us;  // one forward NTT, 31-bit prime: the calibration kernel
  double rotate, hoisted_rotate, relin, rescale, plain_mul, dot_term, add;
};
constexpr OpCosts kIfma{14.9, 3400, 2635, 2805, 340, 34, 25, 17};
constexpr OpCosts kAvx2{21.6, 4080, 3145, 3530, 450, 34, 24, 19};
constexpr OpCosts kScalar{92.7, 12600, 8000, 11000, 2100, 230, 34, 66};

const OpCosts& costs_for(math::simd::Path p) {
  switch (p) {
    case math::simd::Path::avx512ifma: return kIfma;
    case math::simd::Path::avx2: return kAvx2;
    case math::simd::Path::scalar: break;
  }
  return kScalar;
}

double measure_ntt_us() {
  const std::size_t n = 8192;
  const math::Modulus q(math::generate_ntt_primes({31}, n)[0]);
  const math::NttTables t(n, q);
  std::vector<math::u64> a(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = (i * 2654435761u) % q.value;
  double best = 1e30;
  for (int rep = 0; rep < 24; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    math::ntt_forward(a.data(), t);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return best;
}

}  // namespace

const CostModel& cost_model() {
  static const CostModel model = [] {
    const auto path = math::simd::active_path();
    const double factor = measure_ntt_us() / costs_for(path).ntt_us;
    return CostModel{math::simd::path_name(path), std::clamp(factor, 0.25, 8.0)};
  }();
  return model;
}

double predict_seconds(const OpCounts& o, std::size_t n, std::size_t limbs) {
  const CostModel& model = cost_model();
  const OpCosts& c = costs_for(math::simd::parse_path(model.path));
  const double f = (static_cast<double>(n) / 8192.0) * (static_cast<double>(limbs) / 7.0) * model.cpu_factor;
  const double hoisted = static_cast<double>(o.rotations) - static_cast<double>(o.hoisted_groups);
  double us = static_cast<double>(o.hoisted_groups) * c.rotate + std::max(0.0, hoisted) * c.hoisted_rotate +
              static_cast<double>(o.relinearizations) * c.relin + static_cast<double>(o.rescales) * c.rescale +
              static_cast<double>(o.plain_multiplies) * c.plain_mul + static_cast<double>(o.dot_terms) * c.dot_term +
              static_cast<double>(o.additions) * c.add +
              // an encoding: a special FFT and one NTT per prime, about 8 NTTs at the reference size
              static_cast<double>(o.encodes) * 8 * c.ntt_us;
  return us * f * 1e-6;
}

double predict_layers_seconds(const std::vector<LayerPlan>& layers, std::size_t n) {
  double s = 0;
  for (const LayerPlan& l : layers) s += predict_seconds(l.ops, n, static_cast<std::size_t>(l.level_in) + 1);
  return s;
}

}  // namespace hemi::he
