// libFuzzer target: plans (JSON) and what the service makes of them.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const std::string text(reinterpret_cast<const char*>(data), size);
  HEMI_FUZZ_EXPECT_ERROR({
    he::Plan plan = he::Plan::from_json(text);
    (void)plan.describe();
    (void)service::plan_id(plan);
  });
  return 0;
}
