// libFuzzer target: the key loaders (secret, public, relinearization, Galois) and parameters.
#include "fuzz_common.h"
#include "hemi/ckks/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hemi;
  const Bytes b(data, data + size);
  const ckks::Params& p = fuzz::params();
  HEMI_FUZZ_EXPECT_ERROR(ckks::read_header(b));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_secret_key(b, p));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_public_key(b, p));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_relin_key(b, p));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_galois_keys(b, p));
  HEMI_FUZZ_EXPECT_ERROR(ckks::load_params(b));
  return 0;
}
