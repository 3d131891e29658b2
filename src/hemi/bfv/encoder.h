// Batch encoding (Smart-Vercauteren SIMD packing): N integers modulo t <-> one plaintext
// polynomial, through the NTT over Z_t (t prime, t = 1 mod 2N). The slots form a 2 x N/2
// matrix: slot r * N/2 + c holds m(psi^(+-5^c)), row 0 with +, row 1 with -. Rotating rows
// (Evaluator::rotate_rows) moves columns left within each row; rotate_columns swaps the rows.
// Values are signed and must lie in [-(t-1)/2, (t-1)/2] (decode gives them back centred).
// Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hemi/bfv/ciphertext.h"
#include "hemi/bfv/params.h"

namespace hemi::bfv {

class Encoder {
 public:
  explicit Encoder(Params params) : params_(std::move(params)) {}

  // values.size() <= N; the remaining slots are zero.
  Plaintext encode(std::span<const std::int64_t> values) const;
  Plaintext encode_constant(std::int64_t value) const;  // every slot = value
  std::vector<std::int64_t> decode(const Plaintext& pt) const;  // N centred values

  const Params& params() const { return params_; }

 private:
  Params params_;
};

// The centred residue of v mod t, refusing |v| > (t-1)/2: `op` and `index` name the value.
math::u64 to_plain(std::int64_t v, const math::Modulus& t, const char* op, std::size_t index);
std::int64_t from_plain(math::u64 x, const math::Modulus& t);

}  // namespace hemi::bfv
