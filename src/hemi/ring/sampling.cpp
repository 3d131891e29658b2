#include "hemi/ring/sampling.h"

#include <cmath>

namespace hemi::ring::detail {

std::vector<std::int8_t> sample_ternary(Prng& prng, std::size_t n) {
  std::vector<std::int8_t> out(n);
  std::vector<std::uint8_t> bytes(n);
  std::size_t i = 0;
  while (i < n) {
    const std::size_t want = n - i;
    prng.fill(bytes.data(), want);
    for (std::size_t k = 0; k < want; ++k) {
      const std::uint8_t b = bytes[k];
      if (b == 255) continue;  // 255 = 3 * 85: reject the remainder for uniformity
      out[i++] = static_cast<std::int8_t>(b % 3) - 1;
    }
  }
  secure_wipe(bytes.data(), bytes.size());
  return out;
}

namespace {
// Cumulative table for |x| under the discrete Gaussian restricted to [-bound, bound]:
// P(0) = rho(0)/Z, P(k) = 2 rho(k)/Z, as 64-bit thresholds.
const std::vector<std::uint64_t>& gaussian_cdt() {
  static const std::vector<std::uint64_t> table = [] {
    std::vector<double> w(kErrorBound + 1);
    double z = 0;
    for (int k = 0; k <= kErrorBound; ++k) {
      w[k] = std::exp(-static_cast<double>(k * k) / (2 * kErrorStdDev * kErrorStdDev)) * (k ? 2 : 1);
      z += w[k];
    }
    std::vector<std::uint64_t> t(kErrorBound + 1);
    double acc = 0;
    for (int k = 0; k <= kErrorBound; ++k) {
      acc += w[k] / z;
      t[k] = k == kErrorBound ? ~std::uint64_t{0} : static_cast<std::uint64_t>(std::ldexp(acc, 64));
    }
    return t;
  }();
  return table;
}
}  // namespace

std::vector<std::int8_t> sample_gaussian(Prng& prng, std::size_t n) {
  const auto& cdt = gaussian_cdt();
  std::vector<std::int8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = prng.next_u64();
    int k = 0;
    for (int j = 0; j < kErrorBound; ++j) k += r >= cdt[j];  // branch-free scan of the table
    const int neg = -static_cast<int>(prng.next_u64() & 1);  // 0 or all ones
    out[i] = static_cast<std::int8_t>((k ^ neg) - neg);         // k or -k without a branch
  }
  return out;
}

RnsPoly sample_uniform(Prng& prng, const Context& ctx, std::size_t q_limbs, bool with_p) {
  const std::size_t limbs = q_limbs + (with_p ? ctx.p.size() : 0);
  RnsPoly out(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const math::Modulus& m = ctx.qp[qp_index(ctx, i, q_limbs)];
    math::u64* dst = out.limb(i);
    const math::u64 mask = (m.bits == 64) ? ~0ull : ((1ull << m.bits) - 1);
    std::size_t c = 0;
    math::u64 buf[256];
    while (c < ctx.n) {
      prng.fill(buf, sizeof(buf));
      for (std::size_t k = 0; k < 256 && c < ctx.n; ++k) {
        math::u64 v = buf[k] & mask;
        if (v < m.value) dst[c++] = v;
      }
    }
  }
  return out;
}

RnsPoly small_to_ntt(const std::int8_t* coeffs, const Context& ctx, std::size_t q_limbs, bool with_p) {
  const std::size_t limbs = q_limbs + (with_p ? ctx.p.size() : 0);
  RnsPoly out(ctx.n, limbs);
  for (std::size_t i = 0; i < limbs; ++i) {
    const std::size_t idx = qp_index(ctx, i, q_limbs);
    const math::u64 q = ctx.qp[idx].value;
    math::u64* dst = out.limb(i);
    for (std::size_t c = 0; c < ctx.n; ++c) dst[c] = small_to_mod(coeffs[c], q);
    math::ntt_forward(dst, *ctx.ntt[idx]);
  }
  return out;
}

}  // namespace hemi::ring::detail
