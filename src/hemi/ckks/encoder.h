// CKKS encoding: up to N/2 real (or complex) values -> a plaintext polynomial at a level and
// scale, through the canonical embedding (special FFT); and back. Encoding refuses values that
// would overflow the modulus at the chosen level and scale ("scale overflow").
// Immutable; thread-safe.
#pragma once

#include <complex>
#include <cstdint>
#include <span>
#include <vector>

#include "hemi/ckks/ciphertext.h"
#include "hemi/ckks/params.h"

namespace hemi::ckks {

class Encoder {
 public:
  explicit Encoder(Params params) : params_(std::move(params)) {}

  // values.size() <= N/2; the rest of the slots are zero. scale <= 0 means the default scale.
  Plaintext encode(std::span<const double> values, std::size_t level, double scale = 0) const;
  Plaintext encode(std::span<const std::complex<double>> values, std::size_t level, double scale = 0) const;
  // Every slot = value.
  Plaintext encode_constant(double value, std::size_t level, double scale = 0) const;

  // The encoding before its NTT: the rounded coefficients, centred. `encode` is this followed
  // by a reduction and an NTT per limb; an encryptor that adds its error first saves one NTT
  // per limb (SymmetricEncryptor::encrypt_seeded(Coefficients)). Same checks as encode.
  struct Coefficients {
    std::vector<std::int64_t> ints;  // N of them
    std::size_t level = 0;
    double scale = 0;
  };
  Coefficients encode_coefficients(std::span<const double> values, std::size_t level, double scale = 0) const;

  std::vector<std::complex<double>> decode_complex(const Plaintext& pt) const;
  std::vector<double> decode(const Plaintext& pt) const;  // real parts

  const Params& params() const { return params_; }

 private:
  Plaintext from_coefficients(const std::vector<double>& coeffs, std::size_t level, double scale,
                              const char* op) const;
  Coefficients rounded(const std::vector<double>& coeffs, std::size_t level, double scale, const char* op) const;
  std::vector<double> embed(std::span<const std::complex<double>> values) const;  // slots -> coefficients
  Params params_;
};

// Throws unless level <= the top level; `op` names the operation in the message.
void check_level(const Params& params, std::size_t level, const char* op);

}  // namespace hemi::ckks
