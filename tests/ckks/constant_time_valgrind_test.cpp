// Secret independence checked with valgrind (the ctgrind technique): secret coefficients are
// marked undefined, and memcheck reports any conditional jump or address that depends on them.
// ConstantTime.ValgrindFindsNoBranchOnSecrets runs this binary under valgrind twice: on the
// kernels (must be clean) and on a control that branches on a secret (must be caught, so the
// check is known to work).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "hemi/ckks/sampling.h"
#include "hemi/ckks/serialize.h"

namespace hemi::ckks {
namespace {

constexpr int kValgrindError = 42;

std::vector<std::int8_t> undefined_ternary(std::size_t n) {
  std::mt19937 rng(1);
  std::vector<std::int8_t> s(n);
  for (auto& x : s) x = static_cast<std::int8_t>(static_cast<int>(rng() % 3) - 1);
  VALGRIND_MAKE_MEM_UNDEFINED(s.data(), s.size());
  return s;
}

bool inner() { return RUNNING_ON_VALGRIND && std::getenv("HEMI_CT_INNER"); }

TEST(ConstantTimeValgrind, Kernels) {
  if (!inner()) GTEST_SKIP() << "runs only under valgrind, started by ConstantTime.ValgrindFindsNoBranchOnSecrets";
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
  EXPECT_EQ(bytes.size(), kHeaderBytes + 4 + n / 4);
  EXPECT_EQ(back, sk.coeffs);
}

TEST(ConstantTimeValgrind, Control) {
  if (!inner()) GTEST_SKIP() << "runs only under valgrind, started by ConstantTime.ValgrindFindsNoBranchOnSecrets";
  const auto s = undefined_ternary(64);
  volatile int sink = 0;
  for (auto x : s)
    if (x < 0) sink = sink + 1;  // a branch on a secret: memcheck must report it
}

int run_under_valgrind(const std::string& filter) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("HEMI_CT_INNER", "1", 1);
    const std::string exitcode = "--error-exitcode=" + std::to_string(kValgrindError);
    const std::string gfilter = "--gtest_filter=" + filter;
    ::execlp("valgrind", "valgrind", "-q", exitcode.c_str(), self.c_str(), gfilter.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ConstantTime, ValgrindFindsNoBranchOnSecrets) {
  if (RUNNING_ON_VALGRIND) GTEST_SKIP() << "already under valgrind";
  if (std::system("valgrind --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "valgrind is not installed";
  EXPECT_EQ(run_under_valgrind("ConstantTimeValgrind.Control"), kValgrindError) << "the check does not see branches";
  EXPECT_EQ(run_under_valgrind("ConstantTimeValgrind.Kernels"), 0) << "a branch or index depends on a secret";
}

}  // namespace
}  // namespace hemi::ckks
