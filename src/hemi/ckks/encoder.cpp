#include "hemi/ckks/encoder.h"

#include <cmath>
#include <string>

#include "hemi/base/error.h"
#include "hemi/math/eltwise.h"

namespace hemi::ckks {

namespace {
std::string log2_str(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "2^%.1f", std::log2(v));
  return buf;
}
}  // namespace

void check_level(const Params& params, std::size_t level, const char* op) {
  if (level > params.max_level())
    throw Error(std::string(op) + ": level " + std::to_string(level) + " is above the top level " +
                std::to_string(params.max_level()));
}

Plaintext Encoder::encode(std::span<const double> values, std::size_t level, double scale) const {
  std::vector<std::complex<double>> z(values.begin(), values.end());
  return encode(std::span<const std::complex<double>>(z), level, scale);
}

Plaintext Encoder::encode(std::span<const std::complex<double>> values, std::size_t level,
                          double scale) const {
  return from_coefficients(embed(values), level, scale, "encode");
}

std::vector<double> Encoder::embed(std::span<const std::complex<double>> values) const {
  const std::size_t slots = params_.slots();
  if (values.size() > slots)
    throw Error("encode: " + std::to_string(values.size()) + " values exceed the " +
                std::to_string(slots) + " slots");
  for (auto& v : values)
    if (!std::isfinite(v.real()) || !std::isfinite(v.imag()))
      throw Error("encode: input contains a non-finite value");
  std::vector<std::complex<double>> w(slots, 0.0);
  std::copy(values.begin(), values.end(), w.begin());
  params_.ctx().fft->inverse(w.data());
  std::vector<double> coeffs(params_.n());
  for (std::size_t j = 0; j < slots; ++j) {
    coeffs[j] = w[j].real();
    coeffs[j + slots] = w[j].imag();
  }
  return coeffs;
}

Encoder::Coefficients Encoder::encode_coefficients(std::span<const double> values, std::size_t level,
                                                   double scale) const {
  std::vector<std::complex<double>> z(values.begin(), values.end());
  return rounded(embed(z), level, scale, "encode");
}

Plaintext Encoder::encode_constant(double value, std::size_t level, double scale) const {
  if (!std::isfinite(value)) throw Error("encode: constant is not finite");
  std::vector<double> coeffs(params_.n(), 0.0);
  coeffs[0] = value;
  return from_coefficients(coeffs, level, scale, "encode");
}

Encoder::Coefficients Encoder::rounded(const std::vector<double>& coeffs, std::size_t level, double scale,
                                       const char* op) const {
  check_level(params_, level, op);
  if (scale <= 0) scale = params_.default_scale();
  if (!std::isfinite(scale) || scale < 1)
    throw Error(std::string(op) + ": scale " + std::to_string(scale) + " is not a finite value >= 1");
  double max_abs = 0;
  for (double c : coeffs) max_abs = std::max(max_abs, std::fabs(c * scale));
  // The centred value must stay below Q_l / 2 and fit the 63-bit integer path.
  const double log_q = params_.log2_q(level);
  if (max_abs >= std::ldexp(1.0, 62) || (max_abs > 0 && std::log2(max_abs) >= log_q - 1))
    throw Error(std::string(op) + ": scale overflow: values times scale " + log2_str(scale) +
                " reach " + log2_str(max_abs) + " but the modulus at level " + std::to_string(level) +
                " is 2^" + std::to_string(static_cast<int>(log_q)));
  Coefficients out;
  out.level = level;
  out.scale = scale;
  out.ints.resize(coeffs.size());
  for (std::size_t c = 0; c < coeffs.size(); ++c) out.ints[c] = std::llround(coeffs[c] * scale);
  return out;
}

Plaintext Encoder::from_coefficients(const std::vector<double>& coeffs, std::size_t level,
                                     double scale, const char* op) const {
  const Coefficients r = rounded(coeffs, level, scale, op);
  const auto& ctx = params_.ctx();
  Plaintext pt;
  pt.level = level;
  pt.scale = r.scale;
  pt.params_id = params_.id();
  pt.poly = RnsPoly(params_.n(), level + 1);
  const math::u64 bound = math::max_abs(r.ints.data(), r.ints.size());  // < 2^62 (rounded checks it)
  for (std::size_t i = 0; i <= level; ++i) {
    math::u64* dst = pt.poly.limb(i);
    math::from_signed_vec(dst, r.ints.data(), r.ints.size(), ctx.q[i].value, bound);
    math::ntt_forward(dst, *ctx.ntt[i]);
  }
  return pt;
}

std::vector<std::complex<double>> Encoder::decode_complex(const Plaintext& pt) const {
  if (pt.params_id != params_.id()) throw Error("decode: plaintext from other parameters");
  check_level(params_, pt.level, "decode");
  if (pt.poly.limbs() != pt.level + 1 || pt.poly.n() != params_.n())
    throw Error("decode: plaintext shape does not match its level");
  const auto& ctx = params_.ctx();
  const std::size_t n = params_.n(), limbs = pt.level + 1, slots = params_.slots();
  RnsPoly coef = pt.poly;
  for (std::size_t i = 0; i < limbs; ++i) math::ntt_inverse(coef.limb(i), *ctx.ntt[i]);
  std::vector<std::complex<double>> w(slots);
  const long double inv_scale = 1.0L / pt.scale;
  auto value = [&](std::size_t c) -> double {
    if (limbs == 1) {
      const math::u64 q = ctx.q[0].value, x = coef.limb(0)[c];
      long double v = x > q / 2 ? -static_cast<long double>(q - x) : static_cast<long double>(x);
      return static_cast<double>(v * inv_scale);
    }
    math::u64 res[64];
    for (std::size_t i = 0; i < limbs; ++i) res[i] = coef.limb(i)[c];
    return static_cast<double>(ctx.crt[pt.level]->centered(res) * inv_scale);
  };
  for (std::size_t j = 0; j < slots; ++j) w[j] = {value(j), value(j + slots)};
  (void)n;
  ctx.fft->forward(w.data());
  return w;
}

std::vector<double> Encoder::decode(const Plaintext& pt) const {
  auto z = decode_complex(pt);
  std::vector<double> out(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) out[i] = z[i].real();
  return out;
}

}  // namespace hemi::ckks
