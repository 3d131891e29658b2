// libFuzzer target: results as the client sees them. The input is an inference answer for the
// tiny plan in both packings; an accepted result is decrypted with the client's key set (and,
// to reach the decoder whatever fingerprint the input carries, with the one it states), for
// the image count sent and for an unknown count. Every refusal must be a hemi::Error.
#include "fuzz_common.h"
#include "hemi/service/client.h"

namespace {
struct ClientSide {
  explicit ClientSide(hemi::he::Packing packing)
      : ctx(hemi::fuzz::plan(packing)), client(ctx.plan(), hemi::Seed{3}), key_set(hemi::service::key_set_fingerprint(client.eval_keys(), ctx)) {}
  const hemi::service::PlanContext& ctx;
  hemi::he::Client client;
  std::string key_set;  // the same as the seed corpus's (make_corpus.cpp: Seed{3}, first eval_keys())
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  static ClientSide latency(he::Packing::kLatency), throughput(he::Packing::kThroughput);
  const Bytes b(data, data + size);
  for (ClientSide* side : {&latency, &throughput}) {
    HEMI_FUZZ_EXPECT_ERROR({
      const service::Result res = service::read_result(b, side->ctx);
      HEMI_FUZZ_EXPECT_ERROR(service::decrypt_result(side->client, side->key_set, res, 2));
      HEMI_FUZZ_EXPECT_ERROR(service::decrypt_result(side->client, res.key_set, res, 0));
    });
  }
  return 0;
}
