// libFuzzer target: the model file loader (and the interpreter on what it accepts).
#include "fuzz_common.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const Bytes b(data, data + size);
  HEMI_FUZZ_EXPECT_ERROR({
    nn::Model m = nn::deserialize_model(b, "fuzz input");
    if (m.input_shape().size() <= 4096) {
      std::vector<float> x(m.input_shape().size(), 0.5f);
      (void)nn::forward(m, x.data());
    }
  });
  return 0;
}
