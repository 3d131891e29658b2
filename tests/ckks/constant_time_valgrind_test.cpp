// Secret independence checked with valgrind (the ctgrind technique): secret coefficients are
// marked undefined, and memcheck reports any conditional jump or address that depends on them.
// ConstantTime.ValgrindFindsNoBranchOnSecrets runs hemi_ckks_ct_probe (constant_time_probe.cpp)
// under valgrind twice: on the kernels (must be clean) and on a control that branches on a
// secret (must be caught, so the check is known to work).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace hemi::ckks {
namespace {

constexpr int kValgrindError = 42;

int run_under_valgrind(const char* mode) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string exitcode = "--error-exitcode=" + std::to_string(kValgrindError);
    ::execlp("valgrind", "valgrind", "-q", exitcode.c_str(), HEMI_CT_PROBE, mode, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ConstantTime, ValgrindFindsNoBranchOnSecrets) {
  if (std::system("valgrind --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "valgrind is not installed";
  EXPECT_EQ(run_under_valgrind("control"), kValgrindError) << "the check does not see branches";
  EXPECT_EQ(run_under_valgrind("kernels"), 0) << "a branch or index depends on a secret";
}

}  // namespace
}  // namespace hemi::ckks
