// Run-time choice of SIMD kernels. The AVX-512 IFMA kernels are compiled with their own target
// flags (ntt_ifma.cpp) and used only when the CPU reports avx512f + avx512ifma + avx512vl and
// HEMI_SIMD is not "scalar". Each is checked against the scalar kernel in tests/math.
#pragma once

#include "hemi/math/modarith.h"

namespace hemi::math {
class NttTables;
}

namespace hemi::math::simd {

bool cpu_has_ifma();
// cpu_has_ifma() and not disabled by HEMI_SIMD=scalar (read once) or set_ifma_enabled(false).
bool use_ifma();
// For tests and benchmarks that compare the paths in one process.
void set_ifma_enabled(bool enabled);
const char* active_path_name();  // "avx512ifma" or "scalar"

// q < 2^50; same contracts as the scalar kernels in ntt.h.
void ntt_forward_ifma(u64* a, const NttTables& t);
void ntt_inverse_ifma(u64* a, const NttTables& t);

}  // namespace hemi::math::simd
