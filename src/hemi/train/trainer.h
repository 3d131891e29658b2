// Training an nn::Model with libtorch (CPU), and evaluating it with the nn reference
// interpreter. This header does not include libtorch.
//
// Determinism: with threads == 1 the same model, data, options and seed give bit-identical
// weights. With more threads libtorch's parallel reductions may round differently.
// Concurrency: train_model sets libtorch's process-wide thread count; run one at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hemi/data/image_set.h"
#include "hemi/nn/model.h"

namespace hemi::train {

// The study's encryption-noise simulation (docs/training.md): each training input value x
// becomes round(x · factor) / factor + e / factor, with e drawn uniformly and independently
// per value from `values`, fresh for every batch.
struct NoiseSimulation {
  bool enabled = false;
  double factor = 1000.0;
  std::vector<int> values = {-1, 0, 1};
};

struct TrainOptions {
  int epochs = 10;
  int batch_size = 64;
  double learning_rate = 0.001;  // Adam, betas (0.9, 0.999), no weight decay
  std::uint64_t seed = 0;        // torch::manual_seed: shuffling and noise
  int threads = 0;               // 0 = every core
  NoiseSimulation noise;
};

// Throws hemi::Error naming the bad field.
void validate(const TrainOptions& options);

// Throws hemi::Error (prefixed by `what`) if the images' shape differs from the model's input
// or a label is outside the model's classes.
void check_set(const nn::Model& model, const data::ImageSet& set, const char* what);

// The study's settings: MNIST 10 epochs batch 64, brain MRI 20 epochs batch 32 (lr 0.001).
TrainOptions study_options(const std::string& dataset);

struct EpochReport {
  int epoch = 0;  // 1-based
  int epochs = 0;
  double loss = 0;            // mean cross-entropy over the epoch's training batches
  double train_accuracy = 0;  // on the (noisy, if simulated) training batches, in training mode
  double seconds = 0;         // this epoch
};
using ProgressCallback = std::function<void(const EpochReport&)>;

struct TrainResult {
  nn::Model model;  // the trained weights, same structure as the initial model
  std::vector<EpochReport> epochs;
  double seconds = 0;  // training only
};

// Trains `initial` (its weights are the starting point) with Adam on cross-entropy, shuffling
// each epoch. Throws hemi::Error if the images' shape differs from the model's input, a label
// is outside the model's classes, the options are invalid, or training diverges (NaN).
TrainResult train_model(const nn::Model& initial, const data::ImageSet& train,
                        const TrainOptions& options, const ProgressCallback& progress = {});

struct Evaluation {
  std::size_t count = 0;
  double accuracy = 0;
  double loss = 0;  // mean cross-entropy
  std::vector<int> predicted;
};

// Evaluates with the nn reference interpreter (double precision), on `threads` threads
// (0 = every core).
Evaluation evaluate(const nn::Model& model, const data::ImageSet& set, int threads = 0);

}  // namespace hemi::train
