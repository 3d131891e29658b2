// The vector kernels of each SIMD path, called only by the dispatchers in ntt.cpp, eltwise.cpp
// and rns.cpp after the CPU check (simd.h). Each is defined in a file of its own inside a
// `#pragma GCC target` region and a per-path namespace, so neither its instructions nor any
// inline helper of its ISA can reach other code. Contracts are those of the scalar kernels
// (ntt.h, eltwise.h) plus the path's limits below; any length n is accepted (scalar tails) and
// pointers need no alignment. Only x86-64 builds define them.
#pragma once

#include <complex>
#include <cstddef>

#include "hemi/math/modarith.h"
#include "hemi/math/simd.h"

namespace hemi::math {
class NttTables;
class SpecialFft;
}

namespace hemi::math::simd {

// q < 2^31: 64-bit lanes whose operands fit 32 bits, products from _mm256_mul_epu32;
// 2^31 <= q < 2^50: exact products in double precision (FMA); additions: any q < 2^62.
namespace avx2 {
inline bool eligible(u64 q) { return q < (u64{1} << 50); }
inline bool eligible_int(u64 q) { return q < (u64{1} << 31); }  // mac_scalar_lazy, accumulators
void ntt_forward(u64* a, const NttTables& t);
void ntt_inverse(u64* a, const NttTables& t);
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
void mac_scalar_lazy(u64* acc, const u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);  // eligible_int
void reduce_from_2q(u64* x, std::size_t n, u64 q);
void convert_centered(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b);
void reduce_sub_const(u64* out, const u64* x, std::size_t n, u64 a, const Modulus& b, u64 c);
// eligible_int: lo[i] += low 32 bits of x[i] * w, hi[i] += the bits above (x, w < 2^31)
void dot_accumulate(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n);
void product_accumulate(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n);
// eligible && !eligible_int (x, w < 2^50): lo, mid, hi sum to x * w as lo + mid 2^32 + hi 2^64
void dot_accumulate_wide(u64* lo, u64* mid, u64* hi, const u64* x, u64 w, std::size_t n);
// The same for `terms` terms x[t] * w[t] at once (sums kept in registers across the terms).
void dot_accumulate_terms(u64* lo, u64* hi, const u64* const* x, const u64* w, std::size_t terms, std::size_t n);
// out[i] = (hi[i] 2^32 + lo[i]) mod q, for lo, hi < 2^52 (q < 2^31), and the wide form
// (lo + mid 2^32 + hi 2^64) mod q, for lo < 2^52, hi < 2^48 (q < 2^50).
void dot_finish(u64* out, const u64* lo, const u64* hi, std::size_t n, u64 q);
void dot_finish_wide(u64* out, const u64* lo, const u64* mid, const u64* hi, std::size_t n, u64 q);
void dot_accumulate_wide_terms(u64* lo, u64* mid, u64* hi, const u64* const* x, const u64* w, std::size_t terms,
                               std::size_t n);
void product_accumulate_wide(u64* lo, u64* mid, u64* hi, const u64* x, const u64* y, std::size_t n);
// The encoder's FFT (special_fft.h): bit-identical to the scalar kernels.
void fft_forward(std::complex<double>* v, const SpecialFft& f);
void fft_inverse(std::complex<double>* v, const SpecialFft& f);
}  // namespace avx2

// q < 2^50: 52-bit lanes and the IFMA multiply-add instructions.
namespace ifma {
inline bool eligible(u64 q) { return q < (u64{1} << 50); }
void ntt_forward(u64* a, const NttTables& t);
void ntt_inverse(u64* a, const NttTables& t);
void add_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void sub_mod_vec(u64* x, const u64* y, std::size_t n, u64 q);
void mul_mod_vec(u64* out, const u64* x, const u64* y, std::size_t n, const Modulus& m);
void mul_scalar_vec(u64* x, std::size_t n, u64 w, u64 w_shoup, u64 q);
void mac_shoup_lazy(u64* acc, const u64* x, const u64* w, const u64* w_shoup, std::size_t n, u64 q);
void reduce_from_2q(u64* x, std::size_t n, u64 q);
// lo[i] += low 52 bits of x[i] * w, hi[i] += the bits above (x, w < 2^52)
void dot_accumulate(u64* lo, u64* hi, const u64* x, u64 w, std::size_t n);
void dot_accumulate_terms(u64* lo, u64* hi, const u64* const* x, const u64* w, std::size_t terms, std::size_t n);
void product_accumulate(u64* lo, u64* hi, const u64* x, const u64* y, std::size_t n);
}  // namespace ifma

}  // namespace hemi::math::simd

namespace hemi::math::simd {

// The path a kernel call takes: the active path if the operands suit it, else the next one
// down (IFMA -> AVX2 -> scalar). Never a path the CPU lacks.
Path kernel_path(bool ifma_ok, bool avx2_ok);

}  // namespace hemi::math::simd

// `return`s F(args) from the chosen path's namespace (simd::ifma, simd::avx2 or scalar).
// Non-x86 builds compile only the scalar call.
#if defined(__x86_64__)
#define HEMI_DISPATCH(F, ifma_ok, avx2_ok, ...)                                      \
  switch (::hemi::math::simd::kernel_path((ifma_ok), (avx2_ok))) {                   \
    case ::hemi::math::simd::Path::avx512ifma: return simd::ifma::F(__VA_ARGS__);    \
    case ::hemi::math::simd::Path::avx2: return simd::avx2::F(__VA_ARGS__);          \
    case ::hemi::math::simd::Path::scalar: break;                                    \
  }                                                                                  \
  return scalar::F(__VA_ARGS__)
// For kernels with no IFMA version: AVX2 or scalar.
#define HEMI_DISPATCH_AVX2(F, avx2_ok, ...)                                         \
  if (::hemi::math::simd::kernel_path(false, (avx2_ok)) == ::hemi::math::simd::Path::avx2) \
    return simd::avx2::F(__VA_ARGS__);                                              \
  return scalar::F(__VA_ARGS__)
#else
#define HEMI_DISPATCH(F, ifma_ok, avx2_ok, ...) return scalar::F(__VA_ARGS__)
#define HEMI_DISPATCH_AVX2(F, avx2_ok, ...) return scalar::F(__VA_ARGS__)
#endif
