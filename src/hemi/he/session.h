// One encrypted evaluation of a set of images, client and server in one process, with the
// time of every phase and the comparison with the plaintext interpreter on the same weights.
// `hemi eval` and the experiment runner use it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hemi/he/compiler.h"
#include "hemi/nn/model.h"

namespace hemi::he {

struct SessionOptions {
  // How the plan is made (packing, scale, parameters, the server's memory limits); its
  // `images` is set to the number of images run_encrypted is given.
  CompileOptions compile;
  int threads = 0;  // 0: every core
  // Called after each batch (throughput) or image (latency): images done, images in all.
  std::function<void(std::size_t, std::size_t)> progress;
  // Called when a phase starts: "compile", "keygen", "setup" (the server pre-encodes the
  // plan's plaintexts), "evaluate", "plaintext reference"; for progress lines.
  std::function<void(const std::string&)> phase;
};

// Every phase of run_encrypted; compile + keygen + setup + encrypt + evaluate + decrypt + other
// = total, where `other` is the rest (progress callbacks, bookkeeping), so the printed phases
// always add up.
struct PhaseSeconds {
  double compile = 0, keygen = 0, setup = 0, encrypt = 0, evaluate = 0, decrypt = 0, other = 0, total = 0;
};

struct SessionResult {
  Plan plan;
  std::size_t images = 0;
  std::vector<std::vector<double>> logits;        // encrypted, decrypted
  std::vector<std::vector<double>> plain_logits;  // interpreter, same weights
  std::vector<int> predicted, plain_predicted;
  double accuracy = 0, plain_accuracy = 0;  // against labels (when given)
  double agreement = 0;                     // fraction of images with equal predictions
  double max_logit_error = 0;
  PhaseSeconds seconds;
  double plain_seconds = 0;
  double bytes_up_per_image = 0, bytes_down_per_image = 0;
  std::size_t eval_key_bytes = 0, secret_key_bytes = 0;
  int threads = 1;
};

// images: count × C×H×W normalized floats (the model's input shape); labels may be empty.
SessionResult run_encrypted(const nn::Model& model, const float* images, std::size_t count,
                            const std::vector<int>& labels, const SessionOptions& options);

}  // namespace hemi::he
