// Run-time choice of SIMD kernels ("paths"). Every hot kernel has a portable scalar version,
// the reference; x86-64 CPUs may add an AVX2 path (q < 2^50: 32x32-bit products below 2^31,
// exact double-precision products above) and an AVX-512 IFMA path (q < 2^50, 52-bit lanes). The vector kernels live in their
// own files inside `#pragma GCC target` regions and per-path namespaces (simd_kernels.h), so
// nothing compiled for an ISA runs, or is shared with other code, before the CPU check here.
//
// The active path is the best one the CPU supports, unless HEMI_SIMD=scalar|avx2|avx512ifma
// asks for another (a path the CPU lacks is refused with a warning on stderr and the best
// supported one is used). Tests and benchmarks may switch paths with set_active_path.
#pragma once

#include <string>
#include <vector>

namespace hemi::math::simd {

enum class Path { scalar, avx2, avx512ifma };

inline constexpr Path kAllPaths[] = {Path::scalar, Path::avx2, Path::avx512ifma};

const char* path_name(Path p);
// The instruction-set extensions a path needs, as the CPU check names them.
const char* path_requirements(Path p);
bool cpu_supports(Path p);
Path best_supported_path();
std::vector<Path> supported_paths();

Path active_path();
const char* active_path_name();
// Throws hemi::Error when the CPU lacks the path.
void set_active_path(Path p);
// "avx2" -> Path::avx2; throws hemi::Error naming the accepted values otherwise.
Path parse_path(const std::string& name);

// Restores the previous path on destruction (tests, benchmarks).
class ScopedPath {
 public:
  explicit ScopedPath(Path p) : previous_(active_path()) { set_active_path(p); }
  ~ScopedPath() { set_active_path(previous_); }
  ScopedPath(const ScopedPath&) = delete;
  ScopedPath& operator=(const ScopedPath&) = delete;

 private:
  Path previous_;
};

}  // namespace hemi::math::simd
