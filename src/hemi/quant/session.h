// One BFV evaluation of a set of images, client and server in one process: quantize the model,
// compile the plan (or refuse), run the throughput executor (one image per slot, a batch of up
// to N images at once) or the latency executor (one image per request, rotations; latency.h),
// and compare with the plaintext
// twin -- the quantized integer model, which BFV must match bit for bit. `hemi eval --scheme
// bfv` and the experiment runner use it; the result mirrors he::SessionResult (CKKS) so both
// schemes land in the same table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hemi/quant/compiler.h"
#include "hemi/quant/quantize.h"

namespace hemi::quant {

// Defaults chosen by measurement on the trained MNIST models (docs/bfv.md, "The choice of t").
inline constexpr int kDefaultWeightBits = 5;
inline constexpr int kDefaultInputBits = 3;

enum class BfvPacking { kThroughput, kLatency };
const char* to_string(BfvPacking p);  // "throughput", "latency"

struct SessionOptions {
  QuantOptions quant{kDefaultWeightBits, kDefaultInputBits};
  BfvPacking packing = BfvPacking::kThroughput;
  CompileOptions compile;
  int threads = 0;  // 0: every core
  // Called when a phase starts: "quantize", "compile", "encrypted evaluation", "plaintext reference".
  std::function<void(const std::string&)> phase;
};

// compile + keygen + encrypt + evaluate + decrypt + other = total (quantization and the
// plaintext reference are outside, in plain_seconds / quantize).
struct PhaseSeconds {
  double quantize = 0, compile = 0, keygen = 0, setup = 0, encrypt = 0, evaluate = 0, decrypt = 0, other = 0, total = 0;
  double encrypt_cpu = 0, evaluate_cpu = 0;  // process CPU time of those phases
};

struct SessionResult {
  Plan plan;
  BfvPacking packing = BfvPacking::kThroughput;
  std::string layout;  // latency: the layout's summary (latency_layout.h); empty for throughput
  int weight_bits = 0, input_bits = 0;
  std::size_t images = 0;
  std::vector<std::vector<double>> logits;        // decrypted integers / output scale
  std::vector<std::vector<double>> plain_logits;  // integer model / output scale
  std::vector<int> predicted, plain_predicted;
  double accuracy = 0, plain_accuracy = 0;  // against labels (when given); plain = quantized model
  double agreement = 0;                     // fraction of images with equal predictions
  double exact_agreement = 0;               // fraction of images with identical integer logits
  double max_logit_error = 0;               // of the real-valued logits (0 when exact)
  PhaseSeconds seconds;
  double plain_seconds = 0;
  double bytes_up_per_image = 0, bytes_down_per_image = 0;
  std::size_t eval_key_bytes = 0, secret_key_bytes = 0;  // over all plaintext primes
  double min_budget_bits = 0;  // measured on the results before download
  std::size_t batches = 0;  // throughput: batches of up to N images
  // latency: rotations per image (all plaintext primes, counted), Galois keys per prime, and
  // the server's encoded diagonals (bytes)
  std::size_t rotations_per_image = 0, galois_keys = 0, plaintext_bytes = 0;
  int threads = 1;
};

// images: count x C x H x W normalized floats (the model's input shape); labels may be empty.
// Throws hemi::Error when the model cannot be quantized or no plan exists (with the reason).
SessionResult run_bfv(const nn::Model& model, const float* images, std::size_t count, const std::vector<int>& labels,
                      const SessionOptions& options);

}  // namespace hemi::quant
