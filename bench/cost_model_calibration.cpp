// hemi-bench-cost-calibration: how stable the cost model's CPU calibration is in this process
// (issue 12; docs/he.md, "Cost"). Prints R readings of the calibration kernel
// (he::measure_calibration_ntt_us: the lower decile of block minima over >= 20 ms, on an aligned
// polynomial) next to R readings of the earlier single window (the best of 24 NTTs, about
// 0.4 ms) on an aligned and on an unaligned (8 bytes off) polynomial, in microseconds, and the
// factor each gives against the reference. With --busy, a second thread runs NTTs meanwhile
// (the other vCPU busy, as under a thread pool or another process).
// Usage: hemi-bench-cost-calibration [readings] [--busy]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hemi/base/aligned_vector.h"
#include "hemi/he/cost_model.h"
#include "hemi/math/ntt.h"
#include "hemi/math/primes.h"
#include "hemi/math/simd.h"

using namespace hemi;

namespace {

struct Kernel {
  math::Modulus q{math::generate_ntt_primes({31}, 8192)[0]};
  math::NttTables t{8192, q};
  U64Vec buf = U64Vec(8192 + 8);
  math::u64* at(std::size_t offset) {
    for (std::size_t i = 0; i < 8192; ++i) buf[offset + i] = (i * 2654435761u) % q.value;
    return buf.data() + offset;
  }
};

// The earlier calibration: the best of 24 transforms, one window.
double single_window_us(Kernel& k, math::u64* a) {
  double best = 1e30;
  for (int rep = 0; rep < 24; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    math::ntt_forward(a, k.t);
    best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int readings = 10;
  bool busy = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--busy")) busy = true;
    else readings = std::max(1, std::atoi(argv[i]));
  }
  std::atomic<bool> stop{false};
  std::thread other;
  if (busy)
    other = std::thread([&] {
      Kernel k;
      math::u64* a = k.at(0);
      while (!stop) math::ntt_forward(a, k.t);
    });
  const double reference = he::make_cost_model(std::string("1")).ntt_us_reference;
  std::printf("# path %s, reference %.1f us%s\n# calibration   single-window-aligned   single-window-unaligned (us, factor)\n",
              math::simd::active_path_name(), reference, busy ? ", a second thread busy" : "");
  Kernel k;
  for (int r = 0; r < readings; ++r) {
    const double c = he::measure_calibration_ntt_us();
    const double s0 = single_window_us(k, k.at(0)), s1 = single_window_us(k, k.at(1));
    std::printf("%.1f %.2f   %.1f %.2f   %.1f %.2f\n", c, c / reference, s0, s0 / reference, s1, s1 / reference);
  }
  stop = true;
  if (other.joinable()) other.join();
}
