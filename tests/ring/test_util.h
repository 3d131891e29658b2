// A small insecure ring (N = 2^12, named so) with keys from fixed seeds, for the ring tests.
#pragma once

#include <gtest/gtest.h>

#include "hemi/ring/keys.h"
#include "support/sha_prefix.h"

namespace hemi::ring::testing {

// The ring of the BFV known-answer set (tests/bfv/format_kat_test.cpp): q = [40, 40], p = [40].
inline RingLiteral insecure_ring_n4096() { return RingLiteral{12, {40, 40}, {40}, 0, true}; }

inline const Params& ring_params() {
  static const Params p = Params::create(insecure_ring_n4096()).value();
  return p;
}

using test_support::sha_prefix;

}  // namespace hemi::ring::testing
