// Differentially private training, DP-SGD (Abadi et al. 2016), with libtorch. This header does
// not include libtorch.
//
// Each step samples every training example independently with probability q = batch / n
// (Poisson sampling, the sampling the accountant in dp_accountant.h analyses; a shuffled
// fixed-size batch would need a different analysis), computes each sampled example's gradient,
// clips it to L2 norm `clip`, sums, adds N(0, σ²·clip²) to every coordinate and divides by the
// expected batch size q·n (not the actual one, which would depend on the data). Adam then
// takes a step on that noisy mean; anything done with it afterwards is post-processing.
// An "epoch" is round(n / batch) steps. The privacy guarantee holds per training example
// (add/remove adjacency) for the released weights and every intermediate model.
//
// The noise comes from libtorch's generator seeded by options.seed, which is reproducible but
// not a cryptographic generator, and float32 sampling: see docs/privacy.md for what that means.
#pragma once

#include <cstdint>

#include "hemi/train/trainer.h"

namespace hemi::train {

struct DpOptions {
  double clip = 1.0;              // C: the L2 bound of each example's gradient
  double noise_multiplier = 0;    // σ; 0 = pick it from target_epsilon
  double target_epsilon = 0;      // used when noise_multiplier == 0
  double delta = 1e-5;            // should be below 1/n
};

// Throws hemi::Error naming the bad field (needs exactly one of noise_multiplier and
// target_epsilon).
void validate(const DpOptions& options);

struct DpReport {
  double noise_multiplier = 0;  // σ used (chosen by bisection if a target ε was given)
  double clip = 0;
  double sampling_rate = 0;     // q
  std::int64_t steps = 0;
  double epsilon = 0;           // ε actually spent, at `delta`
  double delta = 0;
  int order = 0;                // the RDP order that gave ε
  double mean_batch = 0;        // the average size of the Poisson batches drawn
  double clipped_fraction = 0;  // fraction of example gradients whose norm exceeded C
};

// The noise multiplier and the accounting for training on n examples with these options,
// without training (what `hemi train --dp-epsilon` prints before it starts).
DpReport plan_dp(std::size_t n, const TrainOptions& options, const DpOptions& dp);

struct DpTrainResult {
  TrainResult train;
  DpReport dp;
};

// DP-SGD with the learning rate, epochs, batch size (expected), seed and threads of `options`
// (options.noise, the encryption-noise simulation, is not supported with DP and is refused).
// Throws as train_model does.
DpTrainResult train_model_dp(const nn::Model& initial, const data::ImageSet& train, const TrainOptions& options,
                             const DpOptions& dp, const ProgressCallback& progress = {});

}  // namespace hemi::train
