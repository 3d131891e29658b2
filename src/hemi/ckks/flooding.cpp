#include "hemi/ckks/flooding.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "hemi/math/ntt.h"

namespace hemi::ckks {

double flooding_sigma(const FloodingPolicy& policy, double log2_error_std) {
  if (policy.statistical_security < 1 || policy.statistical_security > 128)
    throw Error("flooding: statistical security " + std::to_string(policy.statistical_security) +
                " bits is outside [1, 128]");
  if (policy.query_budget < 1) throw Error("flooding: the query budget must be at least 1");
  if (!std::isfinite(log2_error_std)) throw Error("flooding: the error estimate is not finite");
  const double log2_sigma = 0.5 * std::log2(12.0 * static_cast<double>(policy.query_budget)) +
                            0.5 * policy.statistical_security + log2_error_std;
  if (log2_sigma > 60)
    throw Error("flooding: width 2^" + std::to_string(log2_sigma) + " is beyond 2^60 (statistical security " +
                std::to_string(policy.statistical_security) + ", budget " + std::to_string(policy.query_budget) + ")");
  return std::exp2(log2_sigma);
}

double log2_rescale_noise(const Params& params) {
  const double h = 2.0 * static_cast<double>(params.n()) / 3.0;
  return 0.5 * std::log2((1.0 + h) / 12.0);
}

double estimate_error_std(const Encoder& encoder, const Plaintext& pt) {
  auto z = encoder.decode_complex(pt);
  double sum_sq = 0;
  for (const auto& v : z) sum_sq += v.imag() * v.imag();
  secure_wipe(z.data(), z.size() * sizeof(z[0]));  // the unflooded values
  const double std_imag = std::sqrt(sum_sq / static_cast<double>(z.size()));
  return pt.scale * std::numbers::sqrt2 * std_imag / std::sqrt(static_cast<double>(encoder.params().n()));
}

void add_flooding_noise(Plaintext& pt, double sigma, const Params& params, Prng& prng) {
  if (!(sigma > 0) || sigma > std::exp2(60)) throw Error("flooding: width " + std::to_string(sigma) + " is invalid");
  const auto& ctx = params.ctx();
  const std::size_t n = ctx.n;
  auto uniform = [&] {  // in (0, 1), 53 random bits
    return (static_cast<double>(prng.next_u64() >> 11) + 0.5) * 0x1p-53;
  };
  // Rounded Gaussian on the integers (Box-Muller, both outputs used). Adding an integer error e
  // commutes with the rounding, so the rounded noise hides e at least as well as the
  // continuous one does (data processing); the cut at 2^62 is > 2^30 sigma away.
  std::vector<std::int64_t> noise(n);
  for (std::size_t c = 0; c < n; c += 2) {
    const double r = sigma * std::sqrt(-2.0 * std::log(uniform()));
    const double a = 2.0 * std::numbers::pi * uniform();
    noise[c] = std::llround(std::clamp(r * std::cos(a), -0x1p62, 0x1p62));
    if (c + 1 < n) noise[c + 1] = std::llround(std::clamp(r * std::sin(a), -0x1p62, 0x1p62));
  }
  U64Vec limb(n);
  for (std::size_t i = 0; i < pt.poly.limbs(); ++i) {
    const math::Modulus& m = ctx.q[i];
    const auto q = static_cast<std::int64_t>(m.value);
    for (std::size_t c = 0; c < n; ++c) {
      const std::int64_t r = noise[c] % q;  // in (-q, q)
      limb[c] = static_cast<u64>(r) + (m.value & static_cast<u64>(r >> 63));
    }
    math::ntt_forward(limb.data(), *ctx.ntt[i]);
    u64* dst = pt.poly.limb(i);
    for (std::size_t c = 0; c < n; ++c) dst[c] = math::add_mod(dst[c], limb[c], m.value);
  }
  secure_wipe(limb.data(), limb.size() * sizeof(u64));
  secure_wipe(noise.data(), noise.size() * sizeof(std::int64_t));
}

std::vector<double> decrypt_flooded(const Decryptor& decryptor, const Encoder& encoder, const Ciphertext& ct,
                                    const FloodingPolicy& policy, Prng& prng, FloodingReport* report) {
  const Params& params = encoder.params();
  Plaintext pt = decryptor.decrypt(ct);
  double log2_t = policy.log2_error_std;
  if (log2_t == 0) {
    // Rounded up to a whole bit and floored at the rescaling noise: few public values.
    const double t = estimate_error_std(encoder, pt);
    log2_t = std::max(std::ceil(std::log2(std::max(t, 1.0))), std::ceil(log2_rescale_noise(params)));
  }
  const double sigma = flooding_sigma(policy, log2_t);
  // The flooded coefficients must stay inside (-Q_l/2, Q_l/2), or they wrap into garbage.
  const double log2_q = params.log2_q(ct.level);
  if (std::log2(sigma) + 4 > log2_q - 1) {
    pt.poly.wipe();  // the unflooded decryption
    throw Error("flooding: width 2^" + std::to_string(std::log2(sigma)) + " does not fit the ciphertext's modulus 2^" +
                std::to_string(log2_q) + " at level " + std::to_string(ct.level) +
                " (16 deviations must fit in half of it): lower the query budget or use a larger first prime");
  }
  add_flooding_noise(pt, sigma, params, prng);
  std::vector<double> values = encoder.decode(pt);
  pt.poly.wipe();
  // Each decoded real value carries noise of deviation sigma sqrt(N/2) / scale; values are
  // rounded to the largest power of two at most a sixteenth of that.
  const double slot_sigma = sigma * std::sqrt(static_cast<double>(params.n()) / 2.0) / ct.scale;
  const double grid = std::exp2(std::floor(std::log2(slot_sigma / 16.0)));
  for (auto& v : values) v = std::nearbyint(v / grid) * grid;
  if (report) *report = {log2_t, sigma, slot_sigma, grid};
  return values;
}

}  // namespace hemi::ckks
