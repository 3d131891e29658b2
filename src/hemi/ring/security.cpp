#include "hemi/ring/security.h"

namespace hemi::ring {

namespace {
struct Row {
  int log_n, b128, b192, b256;
};
constexpr Row kTable[] = {
    {12, 109, 75, 58},     {13, 218, 152, 118},   {14, 438, 305, 237},
    {15, 881, 611, 476},   {16, 1747, 1199, 929},
};
}  // namespace

std::optional<int> max_log_qp(int log_n, int security_bits) {
  for (const Row& r : kTable) {
    if (r.log_n != log_n) continue;
    switch (security_bits) {
      case 128: return r.b128;
      case 192: return r.b192;
      case 256: return r.b256;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

int security_level_met(int log_n, double log_qp) {
  for (int level : {256, 192, 128}) {
    auto bound = max_log_qp(log_n, level);
    if (bound && log_qp <= *bound) return level;
  }
  return 0;
}

}  // namespace hemi::ring
