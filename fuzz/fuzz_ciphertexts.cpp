// libFuzzer target: the ciphertext, seeded-ciphertext and plaintext loaders.
#include "fuzz_common.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const Bytes b(data, data + size);
  const ckks::Params& p = fuzz::params();
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_ciphertext(b, p));
  HEMI_FUZZ_EXPECT_ERROR(ckks::SymmetricEncryptor::expand(p, ckks::load_seeded_ciphertext(b, p)));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_plaintext(b, p));
  return 0;
}
