// What every encrypted BFV run reports, in either packing (throughput.h, latency.h).
#pragma once

#include <cstddef>
#include <vector>

#include "hemi/quant/quantize.h"

namespace hemi::quant {

struct EncryptedRun {
  std::vector<i128> logits;  // count x classes, exact integers
  std::vector<int> predicted;
  double keygen_s = 0, encrypt_s = 0, evaluate_s = 0, decrypt_s = 0;  // wall clock
  double encrypt_cpu_s = 0, evaluate_cpu_s = 0;  // process CPU time (what a shared machine does not distort)
  std::size_t upload_bytes = 0, download_bytes = 0, eval_key_bytes = 0, secret_key_bytes = 0;  // summed over primes
  double min_budget_bits = 0;  // measured on the results before download (over primes)
};

}  // namespace hemi::quant
