// Small formatting helpers for what commands print.
#pragma once

#include <string>

namespace hemi {

// "374.0 KiB", "1.5 MiB", "512 B".
std::string human_bytes(double bytes);

}  // namespace hemi
