// The main of every test executable (hemi_add_test): GoogleTest's, except that a run in which
// some case called GTEST_SKIP and none failed exits with 77, which CTest reports as skipped
// (SKIP_RETURN_CODE) instead of passed. A failure still exits with 1.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (status == 0 && unit->skipped_test_count() > 0) return 77;
  return status;
}
