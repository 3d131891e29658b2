// The HomomorphicEncryption.org security standard (Albrecht et al., 2018), ternary secrets:
// the largest log2(Q*P) for which ring degree N reaches 128, 192 or 256 bits of security.
#pragma once

#include <optional>

namespace hemi::ring {

// security_bits in {128, 192, 256}; log_n in [12, 16]. Returns nullopt outside the table.
std::optional<int> max_log_qp(int log_n, int security_bits);

// The highest of 256, 192, 128 that a modulus of `log_qp` bits meets at degree 2^log_n, or 0.
int security_level_met(int log_n, double log_qp);

}  // namespace hemi::ring
