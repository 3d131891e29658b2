#include "hemi/ring/security.h"

#include <gtest/gtest.h>

namespace hemi::ring {
namespace {

// The HomomorphicEncryption.org standard's ternary-secret column (Albrecht et al., 2018).
TEST(Security, TableValues) {
  EXPECT_EQ(max_log_qp(12, 128), 109);
  EXPECT_EQ(max_log_qp(13, 128), 218);
  EXPECT_EQ(max_log_qp(14, 192), 305);
  EXPECT_EQ(max_log_qp(15, 256), 476);
  EXPECT_EQ(max_log_qp(16, 128), 1747);
  EXPECT_EQ(max_log_qp(11, 128), std::nullopt);
  EXPECT_EQ(max_log_qp(13, 100), std::nullopt);
  EXPECT_EQ(security_level_met(13, 218), 128);
  EXPECT_EQ(security_level_met(13, 152), 192);
  EXPECT_EQ(security_level_met(13, 118), 256);
  EXPECT_EQ(security_level_met(13, 219), 0);
}

}  // namespace
}  // namespace hemi::ring
