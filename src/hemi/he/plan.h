// An encrypted-inference plan: everything a client and a server must agree on to evaluate one
// model under CKKS, made by the compiler (compiler.h) from a simulator run that needs no keys.
// Immutable once made; serializable (JSON text) so that both sides load the same plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/ckks/params.h"
#include "hemi/he/linear.h"
#include "hemi/he/program.h"

namespace hemi::he {

// Bounds on what a plan may ask for (validation_error); far above any model hemi trains.
inline constexpr int kMaxPlanClasses = 4096;
inline constexpr int kMaxPlanImageSide = 4096;
inline constexpr std::size_t kMaxPlanInputValues = std::size_t{1} << 22;  // C*H*W
inline constexpr std::size_t kMaxPlanLayers = 1024;

enum class Packing { kThroughput, kLatency };
const char* to_string(Packing p);  // "throughput", "latency"

// Format version 2: each layer carries its lowered program step (program.h). Version 3: a
// channel-packed plan's steps carry the op the executor runs (LayerPlan::mux), a throughput
// plan's linear steps their row order (LayerPlan::stream_rows).
inline constexpr int kPlanVersion = 3;

struct Plan {
  int version = kPlanVersion;
  Packing packing = Packing::kThroughput;
  ckks::ParamsLiteral params;
  std::string model_id;          // hex of SHA-256 over the model file bytes (first 16 bytes)
  // The layers are those of the model with its quadratic activations folded into their
  // neighbours (he::evaluated_model, nn/activation_fold.h); model_id names the model as given.
  bool folded_activations = false;
  std::string architecture;
  int input_channels = 1, input_height = 28, input_width = 28;
  int classes = 0;
  int depth = 0;                 // levels the network consumes
  int input_level = 0;           // level at which inputs are encrypted
  std::size_t images_per_batch = 1;   // throughput: N/2 images share each ciphertext
  std::size_t ciphertexts_per_batch = 1;  // throughput: one per input value; latency: 1
  std::size_t period = 0;        // latency: activations repeat every `period` slots
  bool input_im2col = false;     // latency: the client sends the first convolution's im2col
  ConvGeometry im2col_conv;      // ... of this convolution (shape only, no weights)
  std::size_t input_values = 0;  // values the client encodes per image (expanded or not)
  // latency, multiplexed layout (multiplexed_layout.h): slots per channel block (0: the
  // diagonal layout); the logits are in slots k * mux_block. The server keeps up to
  // plaintext_cache_bytes of encoded weights (the rest is encoded for each image).
  std::size_t mux_block = 0;
  int mux_phases = 1;  // the client's space-to-depth factor (multiplexed_layout.h)
  std::size_t plaintext_cache_bytes = 0;
  std::vector<int> rotation_steps;  // latency: exactly the steps that need Galois keys
  std::vector<LayerPlan> layers;  // the lowered program (program.h): one step per model layer
  OpCounts total;                 // count_program(layers)
  double predicted_seconds = 0;  // per batch (throughput) or per image (latency), one thread
  std::size_t upload_bytes_per_batch = 0;    // seeded input ciphertexts
  std::size_t download_bytes_per_batch = 0;  // logits ciphertexts
  std::size_t eval_key_bytes = 0;            // relinearization + Galois keys
  std::size_t server_memory_bytes = 0;       // estimate: keys in memory + pre-encoded plaintexts
                                             // (latency) or the peak of the streamed ciphertexts
                                             // (throughput, throughput_stream.h)
  std::size_t ciphertext_memory_bytes = 0;   // throughput: that peak alone (0 in older plans)

  // The one place a plan is validated: the plan, marked validated, or the reason it cannot be
  // used (validation_error). compile() and from_json() make their plans through it; Client,
  // PreparedModel and the service's PlanContext take only validated plans and do not check
  // again. The fields stay public for the compiler and for tests: a validated plan whose
  // fields are changed must go through create() again.
  static Result<Plan> create(Plan candidate);
  bool validated() const { return validated_; }

  std::string to_json() const;
  // Parses and validates (create): a plan that loads is self-consistent.
  static Plan from_json(const std::string& text);  // throws hemi::Error on malformed input
  // Why the plan cannot be used, or "" when it can: the CKKS parameters are accepted, and the
  // input shape, im2col geometry (strides >= 1, output inside the slots), period, batch layout,
  // class count, levels and rotation steps are within bounds and agree with each other and
  // with the slot count; the lowered program is consistent (program_error) and its count
  // (count_program) is the plan's total and rotation steps. Checked before anything is allocated from the plan's numbers, so a
  // plan from an untrusted server cannot make a client over-read or over-allocate.
  std::string validation_error() const;
  std::string describe() const;                    // the plan in words (hemi plan)

 private:
  bool validated_ = false;
};

Plan load_plan(const std::string& path);
void save_plan(const Plan& plan, const std::string& path);

}  // namespace hemi::he
