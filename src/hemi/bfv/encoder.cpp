#include "hemi/bfv/encoder.h"

#include "hemi/math/ntt.h"

namespace hemi::bfv {

using math::u64;

u64 to_plain(std::int64_t v, const math::Modulus& t, const char* op, std::size_t index) {
  const std::int64_t half = static_cast<std::int64_t>((t.value - 1) / 2);
  if (v > half || v < -half)
    throw Error(std::string(op) + ": value " + std::to_string(v) + " at slot " + std::to_string(index) +
                " is outside the plaintext range [-" + std::to_string(half) + ", " + std::to_string(half) +
                "] of t = " + std::to_string(t.value));
  return math::from_signed(v, t.value);
}

std::int64_t from_plain(u64 x, const math::Modulus& t) {
  return x > t.value / 2 ? -static_cast<std::int64_t>(t.value - x) : static_cast<std::int64_t>(x);
}

Plaintext Encoder::encode(std::span<const std::int64_t> values) const {
  const auto& ctx = params_.ctx();
  const std::size_t n = params_.n();
  if (values.size() > n)
    throw Error("encode: " + std::to_string(values.size()) + " values exceed the " + std::to_string(n) + " slots");
  Plaintext pt;
  pt.coeffs.assign(n, 0);
  for (std::size_t s = 0; s < values.size(); ++s) pt.coeffs[ctx.slot_to_ntt[s]] = to_plain(values[s], ctx.t, "encode", s);
  math::ntt_inverse(pt.coeffs.data(), *ctx.t_ntt);
  pt.params_id = params_.id();
  return pt;
}

Plaintext Encoder::encode_constant(std::int64_t value) const {
  const std::size_t n = params_.n();
  Plaintext pt;
  pt.coeffs.assign(n, 0);
  pt.coeffs[0] = to_plain(value, params_.t(), "encode_constant", 0);  // the constant polynomial
  pt.params_id = params_.id();
  return pt;
}

std::vector<std::int64_t> Encoder::decode(const Plaintext& pt) const {
  const auto& ctx = params_.ctx();
  const std::size_t n = params_.n();
  if (pt.params_id != params_.id()) throw Error("decode: plaintext from other parameters");
  if (pt.coeffs.size() != n)
    throw Error("decode: plaintext has " + std::to_string(pt.coeffs.size()) + " coefficients, not N = " + std::to_string(n));
  std::vector<u64> a(pt.coeffs);
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] >= ctx.t.value) throw Error("decode: coefficient " + std::to_string(i) + " is not below t");
  math::ntt_forward(a.data(), *ctx.t_ntt);
  std::vector<std::int64_t> out(n);
  for (std::size_t s = 0; s < n; ++s) out[s] = from_plain(a[ctx.slot_to_ntt[s]], ctx.t);
  return out;
}

}  // namespace hemi::bfv
