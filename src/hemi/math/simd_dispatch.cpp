#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "hemi/base/error.h"
#include "hemi/math/simd.h"

namespace hemi::math::simd {

namespace {

bool detect(Path p) {
  if (p == Path::scalar) return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (p == Path::avx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("fma");
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

Path initial_path() {
  const Path best = best_supported_path();
  const char* v = std::getenv("HEMI_SIMD");
  if (!v || !*v) return best;
  try {
    const Path asked = parse_path(v);
    if (cpu_supports(asked)) return asked;
    std::fprintf(stderr, "hemi: HEMI_SIMD=%s: this CPU lacks %s; using %s\n", v, path_requirements(asked),
                 path_name(best));
  } catch (const Error& e) {
    std::fprintf(stderr, "hemi: %s; using %s\n", e.what(), path_name(best));
  }
  return best;
}

std::atomic<Path>& active() {
  static std::atomic<Path> p{initial_path()};
  return p;
}

}  // namespace

const char* path_name(Path p) {
  switch (p) {
    case Path::scalar: return "scalar";
    case Path::avx2: return "avx2";
    case Path::avx512ifma: return "avx512ifma";
  }
  return "?";
}

const char* path_requirements(Path p) {
  switch (p) {
    case Path::scalar: return "nothing beyond the baseline";
    case Path::avx2: return "avx2, bmi2 and fma";
    case Path::avx512ifma: return "avx512f, avx512ifma and avx512vl";
  }
  return "?";
}

bool cpu_supports(Path p) {
  static const bool has[3] = {detect(Path::scalar), detect(Path::avx2), detect(Path::avx512ifma)};
  return has[static_cast<int>(p)];
}

Path best_supported_path() {
  if (cpu_supports(Path::avx512ifma)) return Path::avx512ifma;
  if (cpu_supports(Path::avx2)) return Path::avx2;
  return Path::scalar;
}

std::vector<Path> supported_paths() {
  std::vector<Path> out;
  for (Path p : kAllPaths)
    if (cpu_supports(p)) out.push_back(p);
  return out;
}

Path active_path() { return active().load(std::memory_order_relaxed); }
const char* active_path_name() { return path_name(active_path()); }

void set_active_path(Path p) {
  if (!cpu_supports(p))
    throw Error(std::string("SIMD path ") + path_name(p) + " needs " + path_requirements(p) +
                ", which this CPU lacks");
  active().store(p, std::memory_order_relaxed);
}

Path parse_path(const std::string& name) {
  for (Path p : kAllPaths)
    if (name == path_name(p)) return p;
  throw Error("unknown SIMD path '" + name + "' (use scalar, avx2 or avx512ifma)");
}

}  // namespace hemi::math::simd

#include "hemi/math/simd_kernels.h"

namespace hemi::math::simd {

Path kernel_path(bool ifma_ok, bool avx2_ok) {
  const Path p = active_path();
  if (p == Path::avx512ifma && ifma_ok) return p;
  if (p != Path::scalar && avx2_ok && cpu_supports(Path::avx2)) return Path::avx2;
  return Path::scalar;
}

}  // namespace hemi::math::simd
