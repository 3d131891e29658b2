// The first 8 bytes of SHA-256 in hex: a short known answer for a serialized object (the
// format known-answer tests of tests/ring, tests/ckks and tests/bfv).
#pragma once

#include <openssl/sha.h>

#include <cstdio>
#include <string>

#include "hemi/base/bytes.h"

namespace hemi::test_support {

inline std::string sha_prefix(const Bytes& b) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(b.data(), b.size(), d);
  std::string s;
  char buf[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", d[i]);
    s += buf;
  }
  return s;
}

}  // namespace hemi::test_support
