// The HomomorphicEncryption.org table lives in the ring layer (ring/security.h), shared with
// BFV; these names keep callers of the ckks layer compiling.
#pragma once

#include "hemi/ring/security.h"

namespace hemi::ckks {
using ring::max_log_qp;
using ring::security_level_met;
}  // namespace hemi::ckks
