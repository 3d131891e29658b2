// Checked numbers from parsed JSON (nlohmann::json or any type with its interface), for the
// formats that users and peers send: converting a JSON float like 6e73 to an integer is
// undefined behaviour in nlohmann's get<int>(), so integers are checked for type and range
// first and anything else is a hemi::Error naming the field. (Found by fuzzing plans.)
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "hemi/base/error.h"

namespace hemi {

template <typename Json>
std::int64_t json_integer(const Json& j, const std::string& what, std::int64_t min = std::numeric_limits<int>::min(),
                          std::int64_t max = std::numeric_limits<int>::max()) {
  if (!j.is_number_integer()) throw Error(what + " must be an integer");
  std::int64_t v;
  if (j.is_number_unsigned()) {
    const auto u = j.template get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw Error(what + " " + std::to_string(u) + " is out of range");
    v = static_cast<std::int64_t>(u);
  } else {
    v = j.template get<std::int64_t>();
  }
  if (v < min || v > max)
    throw Error(what + " " + std::to_string(v) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return v;
}

template <typename Json>
int json_int(const Json& j, const std::string& what) {
  return static_cast<int>(json_integer(j, what));
}

// A count or size: a non-negative integer up to 2^62.
template <typename Json>
std::size_t json_count(const Json& j, const std::string& what) {
  return static_cast<std::size_t>(json_integer(j, what, 0, std::int64_t{1} << 62));
}

template <typename Json>
std::vector<int> json_ints(const Json& j, const std::string& what) {
  if (!j.is_array()) throw Error(what + " must be an array of integers");
  std::vector<int> out;
  for (const auto& e : j) out.push_back(json_int(e, what));
  return out;
}

}  // namespace hemi
