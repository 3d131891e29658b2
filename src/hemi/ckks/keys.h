// CKKS keys are the ring's (ring/keys.h): secret, public, relinearization and Galois keys, the
// KeyGenerator, and the seeded half-size key-switching keys, one code path for both schemes.
// Galois elements 5^k rotate the slots left by k; 2N - 1 conjugates them.
#pragma once

#include "hemi/ckks/ciphertext.h"
#include "hemi/ckks/params.h"
#include "hemi/ring/keys.h"

namespace hemi::ckks {

using ring::expand_key_uniform;
using ring::GaloisKeys;
using ring::KeyGenerator;
using ring::KeySwitchKey;
using ring::precompute_key;
using ring::PublicKey;
using ring::RelinKey;
using ring::SecretKey;

}  // namespace hemi::ckks
