// libFuzzer target: plans as the client sees them. The input is the body of GET /v1/model
// (plan, plan id, input spec, class names, limits); what the client accepts it then uses as
// `hemi query` does: limits checked, key cost computed, keys generated (small plans only, to
// keep runs fast), images encrypted and an honest result decrypted. Every refusal must be a
// hemi::Error; crashes, over-reads and runaway allocations are findings.
#include <vector>

#include "fuzz_common.h"
#include "hemi/service/client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const std::string text(reinterpret_cast<const char*>(data), size);
  HEMI_FUZZ_EXPECT_ERROR({
    const service::ModelInfo info = service::parse_model_info(text);
    const service::PlanContext ctx(info.plan);
    service::ClientLimits limits;
    limits.allow_insecure = true;
    limits.max_rotation_keys = 16;
    limits.max_key_memory_mib = 64;
    service::check_plan(ctx, limits);
    (void)service::describe(service::eval_key_cost(ctx));
    (void)service::insecure_stamp(ctx);
    // Key generation and encryption are the costly parts: fuzzed on small rings only.
    if (ctx.params().n() <= 2048 && ctx.plan().input_values <= 4096 && ctx.plan().ciphertexts_per_batch <= 64 &&
        ctx.plan().classes <= 64) {
      he::Client client(ctx.plan(), Seed{5});
      const he::EvalKeys keys = client.eval_keys();
      const std::string key_set = service::key_set_fingerprint(keys, ctx);
      const std::size_t values = static_cast<std::size_t>(info.input.channels()) * info.input.height * info.input.width;
      std::vector<float> images(2 * values, 0.5f);
      const auto requests = service::encrypt_images(client, key_set, images.data(), 2, info.max_images_per_request);
      // The server's answer without evaluation (same layout): decrypts to some logits per image.
      for (const auto& req : requests) {
        service::Result res;
        res.images = req.images;
        res.key_set = key_set;
        if (ctx.plan().packing == he::Packing::kLatency)
          for (const auto& in : req.inputs) res.outputs.push_back(ckks::SymmetricEncryptor::expand(ctx.params(), in));
        else
          for (int c = 0; c < ctx.plan().classes; ++c)
            res.outputs.push_back(ckks::SymmetricEncryptor::expand(ctx.params(), req.inputs[0]));
        (void)service::decrypt_result(client, key_set, res, req.images);
      }
    }
  });
  return 0;
}
