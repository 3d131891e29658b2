// The message of the hemi::Error that f() throws, or "(no error)": for tests that check what
// a rejection says.
#pragma once

#include <string>

#include "hemi/base/error.h"

namespace hemi::test_support {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace hemi::test_support
