// The child of ConstantTime.ValgrindFindsNoBranchOnSecrets (constant_time_valgrind_test.cpp),
// run under valgrind: `hemi_ckks_ct_probe kernels` marks secret coefficients undefined and runs
// the secret-handling kernels (memcheck must report nothing); `hemi_ckks_ct_probe control`
// branches on a secret (memcheck must report it, so the check is known to work). Not a test of
// its own: it only makes sense under valgrind.
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "hemi/ring/sampling.h"
#include "hemi/ckks/serialize.h"

namespace hemi::ckks {
namespace {

namespace detail = ring::detail;

std::vector<std::int8_t> undefined_ternary(std::size_t n) {
  std::mt19937 rng(1);
  std::vector<std::int8_t> s(n);
  for (auto& x : s) x = static_cast<std::int8_t>(static_cast<int>(rng() % 3) - 1);
  VALGRIND_MAKE_MEM_UNDEFINED(s.data(), s.size());
  return s;
}

int kernels() {
  const std::size_t n = 4096;
  const auto s = undefined_ternary(n);
  std::vector<u64> residues(n);
  std::vector<std::int8_t> back(n);
  for (std::size_t c = 0; c < n; ++c) {
    residues[c] = detail::small_to_mod(s[c], (u64{1} << 50) - 27);
    back[c] = detail::ternary_from_code(detail::ternary_code(s[c]));
  }
  // The secret key's encoder, on an undefined key, through the real serializer.
  auto params = Params::create({12, {36, 36}, {36}, 30, 128, false}).value();
  SecretKey sk;
  sk.coeffs = s;
  sk.params_id = params.id();
  Bytes bytes = serialize(sk, params);
  // The whole of small_to_ntt, the NTT included (on the SIMD path valgrind's CPU offers).
  RnsPoly poly = detail::small_to_ntt(s.data(), params.ctx(), 2, true);
  VALGRIND_MAKE_MEM_DEFINED(poly.data(), poly.size() * sizeof(u64));
  VALGRIND_MAKE_MEM_DEFINED(residues.data(), residues.size() * sizeof(u64));
  VALGRIND_MAKE_MEM_DEFINED(back.data(), back.size());
  VALGRIND_MAKE_MEM_DEFINED(bytes.data(), bytes.size());
  VALGRIND_MAKE_MEM_DEFINED(sk.coeffs.data(), sk.coeffs.size());
  if (bytes.size() != kHeaderBytes + 4 + n / 4 || back != sk.coeffs) {
    std::fprintf(stderr, "probe: the kernels computed wrong results\n");
    return 1;
  }
  return 0;
}

int control() {
  const auto s = undefined_ternary(64);
  volatile int sink = 0;
  for (auto x : s)
    if (x < 0) sink = sink + 1;  // a branch on a secret: memcheck must report it
  return 0;
}

}  // namespace
}  // namespace hemi::ckks

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "kernels") == 0) return hemi::ckks::kernels();
  if (argc == 2 && std::strcmp(argv[1], "control") == 0) return hemi::ckks::control();
  std::fprintf(stderr, "usage: %s kernels|control (under valgrind)\n", argv[0]);
  return 2;
}
