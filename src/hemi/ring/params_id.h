// A parameter set's identity: the full SHA-256 of its canonical description (Params::id).
// 256 bits, so two different parameter sets collide only with probability about 2^-128, even
// for an adversary who picks them. Every key, plaintext, ciphertext and serialized object
// carries it, and every operation compares it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace hemi::ring {

inline constexpr std::size_t kParamsIdBytes = 32;
using ParamsId = std::array<std::uint8_t, kParamsIdBytes>;

std::string to_hex(const ParamsId& id);  // 64 lower-case hex digits

}  // namespace hemi::ring
