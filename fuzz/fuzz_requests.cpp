// libFuzzer target: the service's files (evaluation keys, requests, results, secret keys),
// against the tiny plan in both packings; an accepted request is also evaluated.
#include "fuzz_common.h"
#include "hemi/service/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const Bytes b(data, data + size);
  HEMI_FUZZ_EXPECT_ERROR(service::peek_kind(b));
  for (he::Packing packing : {he::Packing::kLatency, he::Packing::kThroughput}) {
    const service::PlanContext& ctx = fuzz::plan(packing);
    HEMI_FUZZ_EXPECT_ERROR(service::read_eval_keys(b, ctx));
    HEMI_FUZZ_EXPECT_ERROR(service::read_result(b, ctx));
    HEMI_FUZZ_EXPECT_ERROR(service::read_secret_key(b, ctx));
    HEMI_FUZZ_EXPECT_ERROR(service::read_request(b, ctx, 4));
  }
  return 0;
}
