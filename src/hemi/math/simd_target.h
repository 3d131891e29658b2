// Opens and closes a region whose functions are compiled for an instruction set
// (`HEMI_TARGET_BEGIN("avx2,bmi2,fma")` ... `HEMI_TARGET_END()`), for the kernel files of one
// SIMD path only (simd_kernels.h). GCC: push_options and `#pragma GCC target`; clang, which
// ignores that pragma: the same target attribute on every function of the region.
#pragma once

#define HEMI_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define HEMI_TARGET_BEGIN(isa) HEMI_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define HEMI_TARGET_END() HEMI_PRAGMA(clang attribute pop)
#else
#define HEMI_TARGET_BEGIN(isa) HEMI_PRAGMA(GCC push_options) HEMI_PRAGMA(GCC target(isa))
#define HEMI_TARGET_END() HEMI_PRAGMA(GCC pop_options)
#endif
