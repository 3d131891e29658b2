// Keys of the ring, shared by CKKS and BFV (each scheme names them: ckks::SecretKey,
// bfv::SecretKey, ...). The secret key stays with the client: nothing on the evaluation path takes one.
// Key-switching keys (relinearization, Galois) store their uniform parts as a public seed, so
// they ship at half size. All keys are immutable after generation or loading and may be shared
// by any number of threads.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/ring/params.h"
#include "hemi/ring/poly.h"

namespace hemi::ring {

class SecretKey {
 public:
  SecretKey() = default;
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  SecretKey(SecretKey&&) = default;
  SecretKey& operator=(SecretKey&&) = default;
  ~SecretKey() {
    poly.wipe();
    secure_wipe(coeffs.data(), coeffs.size());
  }

  // Marks the pages of coeffs and poly MADV_DONTDUMP (best effort; keygen and load call it).
  void exclude_from_core_dumps() {
    hemi::exclude_from_core_dumps(coeffs.data(), coeffs.size());
    hemi::exclude_from_core_dumps(poly.data(), poly.size() * sizeof(math::u64));
  }

  std::vector<std::int8_t> coeffs;  // ternary coefficients in {-1, 0, 1}
  RnsPoly poly;                     // NTT form over all of Q and P
  ParamsId params_id{};
};

struct PublicKey {
  std::vector<RnsPoly> polys;  // (b, a) = (-a s + e, a), NTT form over all of Q
  ParamsId params_id{};
};

// Switches a ciphertext part encrypted under s' to one under s: one (b_j, a_j) per digit over
// Q and P, with b_j = -a_j s + e_j + P [j-th gadget] s'.
struct KeySwitchKey {
  std::vector<RnsPoly> b, a;
  std::vector<RnsPoly> b_shoup, a_shoup;  // Shoup factors of b and a (derived, never stored)
  Seed seed{};  // a_j expands from it (with the label of the key's purpose)
  ParamsId params_id{};
};

struct RelinKey {
  KeySwitchKey key;  // s^2 -> s
};

struct GaloisKeys {
  std::map<std::uint32_t, KeySwitchKey> keys;  // galois element -> key for sigma_g(s) -> s
  ParamsId params_id{};
  bool has(std::uint32_t galois_elt) const { return keys.count(galois_elt) != 0; }
};

// Key generation (client side). One KeyGenerator per thread.
class KeyGenerator {
 public:
  explicit KeyGenerator(Params params);               // randomness from the OS CSPRNG
  KeyGenerator(Params params, const Seed& test_seed);  // deterministic: tests only

  SecretKey secret_key();
  PublicKey public_key(const SecretKey& sk);
  RelinKey relin_key(const SecretKey& sk);
  // Keys for the Galois elements 5^step (negative: right) and, if asked, 2N - 1 (CKKS:
  // rotations of the slots and conjugation; BFV: row rotations and the row swap).
  GaloisKeys galois_keys(const SecretKey& sk, const std::vector<int>& steps, bool conjugate = false);
  KeySwitchKey galois_key(const SecretKey& sk, std::uint32_t galois_elt);

 private:
  KeySwitchKey switch_key(const SecretKey& sk, const RnsPoly& s_prime_ntt, std::string_view label);
  Params params_;
  Prng prng_;
};

// Expands the uniform parts a_j of a key-switching key from its seed (used on load too);
// `label` names the key's purpose (detail::kLabelRelinKeyA or kLabelGaloisKeyA).
void expand_key_uniform(const Params& params, KeySwitchKey& key, std::string_view label);
// Computes the Shoup factors of b and a; a key is usable once this has run.
void precompute_key(const Params& params, KeySwitchKey& key);

}  // namespace hemi::ring
