#include "hemi/math/primes.h"

#include <algorithm>
#include <map>
#include <string>

namespace hemi::math {

bool is_prime(u64 n) {
  if (n < 2) return false;
  for (u64 p : {2ull, 3ull, 5ull, 7ull, 11ull, 13ull, 17ull, 19ull, 23ull, 29ull, 31ull, 37ull}) {
    if (n % p == 0) return n == p;
  }
  u64 d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++s;
  }
  auto mulm = [n](u64 a, u64 b) { return static_cast<u64>(static_cast<u128>(a) * b % n); };
  auto powm = [&](u64 b, u64 e) {
    u64 r = 1;
    while (e) {
      if (e & 1) r = mulm(r, b);
      b = mulm(b, b);
      e >>= 1;
    }
    return r;
  };
  // These bases are a proven deterministic set for n < 2^64.
  for (u64 a : {2ull, 3ull, 5ull, 7ull, 11ull, 13ull, 17ull, 19ull, 23ull, 29ull, 31ull, 37ull}) {
    u64 x = powm(a, d);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s; ++r) {
      x = mulm(x, x);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

std::vector<u64> generate_ntt_primes(const std::vector<int>& bit_sizes, std::size_t n,
                                     const std::vector<u64>& exclude) {
  const u64 step = 2 * static_cast<u64>(n);
  std::vector<u64> used(exclude);
  std::map<int, u64> next_candidate;  // per bit size, where the downward search resumes
  std::vector<u64> out;
  for (int bits : bit_sizes) {
    if (bits < 2 || bits > kMaxModulusBits)
      throw Error("prime size " + std::to_string(bits) + " bits is outside [2, " +
                  std::to_string(kMaxModulusBits) + "]");
    auto it = next_candidate.find(bits);
    u64 c;
    if (it == next_candidate.end()) {
      u64 top = u64{1} << bits;  // largest c < 2^bits with c = 1 mod 2n
      if (top <= step) throw Error("no " + std::to_string(bits) + "-bit prime = 1 mod " + std::to_string(step));
      c = top - step + 1;
    } else {
      c = it->second;
    }
    const u64 bottom = u64{1} << (bits - 1);
    for (;;) {
      if (c <= bottom || c < step)
        throw Error("not enough " + std::to_string(bits) + "-bit primes = 1 mod " +
                    std::to_string(step));
      if (is_prime(c) && std::find(used.begin(), used.end(), c) == used.end()) break;
      c -= step;
    }
    out.push_back(c);
    used.push_back(c);
    next_candidate[bits] = c - step;
  }
  return out;
}

u64 minimal_primitive_root(std::size_t two_n, const Modulus& q) {
  if ((q.value - 1) % two_n != 0)
    throw Error(std::to_string(q.value) + " is not 1 mod " + std::to_string(two_n));
  const u64 cofactor = (q.value - 1) / two_n;
  const u64 half = two_n / 2;
  // Find one primitive 2n-th root: g^cofactor for a non-residue-like g with root^n = -1.
  u64 root = 0;
  for (u64 g = 2; g < q.value; ++g) {
    u64 r = pow_mod(g, cofactor, q);
    if (pow_mod(r, half, q) == q.value - 1) {
      root = r;
      break;
    }
  }
  if (!root) throw Error("no primitive root found modulo " + std::to_string(q.value));
  // All primitive 2n-th roots are root^k for odd k; take the least.
  u64 best = root, sq = mul_mod(root, root, q), cur = root;
  for (std::size_t k = 3; k < two_n; k += 2) {
    cur = mul_mod(cur, sq, q);
    best = std::min(best, cur);
  }
  return best;
}

}  // namespace hemi::math
