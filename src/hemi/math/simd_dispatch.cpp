#include <atomic>
#include <cstdlib>
#include <cstring>

#include "hemi/math/simd.h"

namespace hemi::math::simd {

namespace {
bool detect() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}
bool env_allows() {
  const char* v = std::getenv("HEMI_SIMD");
  return !(v && std::strcmp(v, "scalar") == 0);
}
std::atomic<bool>& enabled() {
  static std::atomic<bool> e{detect() && env_allows()};
  return e;
}
}  // namespace

bool cpu_has_ifma() {
  static const bool has = detect();
  return has;
}
bool use_ifma() { return enabled().load(std::memory_order_relaxed); }
void set_ifma_enabled(bool on) { enabled().store(on && cpu_has_ifma()); }
const char* active_path_name() { return use_ifma() ? "avx512ifma" : "scalar"; }

}  // namespace hemi::math::simd
