// Where the tests' data comes from: the full shared data sets when they are found, else a
// synthetic MNIST-format set the tests generate themselves (tests/support/synthetic_mnist.h),
// so that a fresh clone passes its tests with no data beside it.
//
//   HEMI_REQUIRE_FULL_DATA();         // first line of a test that needs real MNIST / brain MRI:
//                                     // skips, with where it looked, when they are missing
//   test_support::use_mnist_or_synthetic();  // load_dataset("mnist") then finds MNIST, or
//                                            // the synthetic digits when MNIST is missing
//
// Such tests carry the CTest label `full-data` (hemi_add_test FULL_DATA, cmake/HemiTest.cmake).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/synthetic_mnist.h"

namespace hemi::test_support {

// The full shared data: $HEMI_DATA, else $HEMI_SOURCE_DIR/../shared/data, else the compile-time
// HEMI_SOURCE_DIR's, whichever holds mnist/ (the four IDX .gz files) and brain-mri/ (yes/, no/).
// nullopt if none does; `looked` then lists the places tried.
inline std::optional<std::string> find_full_data(std::string* looked = nullptr) {
  namespace fs = std::filesystem;
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("HEMI_DATA"); env && *env) tried.emplace_back(env);
  if (const char* env = std::getenv("HEMI_SOURCE_DIR"); env && *env)
    tried.push_back(fs::path(env) / ".." / "shared" / "data");
  tried.push_back(fs::path(HEMI_SOURCE_DIR) / ".." / "shared" / "data");
  std::vector<std::string> seen;
  for (const auto& dir : tried) {
    const std::string name = dir.lexically_normal().string();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    std::error_code ec;
    if (fs::exists(dir / "mnist" / "t10k-labels-idx1-ubyte.gz", ec) &&
        fs::is_directory(dir / "brain-mri" / "yes", ec))
      return name;
    if (looked) *looked += (looked->empty() ? "" : ", ") + name;
  }
  return std::nullopt;
}

// Empty when the full data is there; else the one-line reason a full-data test does not run.
inline std::string full_data_missing() {
  std::string looked;
  if (find_full_data(&looked)) return {};
  return "needs the full data sets (MNIST, brain MRI), not found in " + looked +
         " (set HEMI_DATA or put them at ../shared/data beside the repository)";
}

// Makes the data layer's lookup (load_dataset("mnist")) find the real MNIST when the full data
// is there, else the synthetic set, by setting HEMI_DATA for this process. Returns true for
// the real data.
inline bool use_mnist_or_synthetic() {
  if (auto full = find_full_data()) {
    ::setenv("HEMI_DATA", full->c_str(), 1);
    return true;
  }
  ::setenv("HEMI_DATA", synthetic_data_root().c_str(), 1);
  return false;
}

}  // namespace hemi::test_support

#define HEMI_REQUIRE_FULL_DATA()                                                 \
  if (const std::string hemi_missing_ = ::hemi::test_support::full_data_missing(); \
      !hemi_missing_.empty())                                                    \
  GTEST_SKIP() << hemi_missing_
