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
#include <optional>
#include <string>
#include <vector>

#include "hemi/data/image_set.h"
#include "hemi/nn/model.h"
#include "hemi/train/recipe.h"

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
  double learning_rate = 0.001;  // Adam, betas (0.9, 0.999), no weight decay; the base of `schedule`
  std::uint64_t seed = 0;        // torch::manual_seed: shuffling and noise; augmentation, validation split
  int threads = 0;               // 0 = every core
  NoiseSimulation noise;
  // The recipe for deeper polynomial networks (docs/training.md, "Training recipe"); the
  // defaults are off, i.e. the study's plain Adam.
  bool batch_norm = false;         // batch norm before every activation, folded at export
  bool train_polynomials = false;  // polynomial activations' coefficients are trained too
  double clip_norm = 0;            // > 0: the gradient's global L2 norm is clipped to it
  ScheduleOptions schedule;        // learning rate per epoch
  Augmentation augment;            // training images only
  bool class_weights = false;      // cross-entropy weighted by balanced_class_weights
  // > 0: a seeded stratified fraction of the training images is held out for validation
  // (never trained on); after every epoch it is scored, and the weights of the best epoch
  // (best_epoch) are the result.
  double validation_fraction = 0;
  // Warm start (progressive replacement): > 0 trains the first K epochs with ReLU in place
  // of every polynomial activation (same module, batch norm and Adam state); before epoch
  // K + 1 each polynomial is set to the least-squares quadratic fit of ReLU over the
  // pre-activations it then sees (relu_least_squares_quadratic; eval mode, the first 512
  // training images) and training goes on with the polynomials for epochs K + 1 .. epochs.
  // The learning-rate schedule runs over all epochs; only polynomial epochs can be the best
  // epoch. Needs train_polynomials and a polynomial layer; K < epochs.
  int warm_start_epochs = 0;
  // Distillation from a ReLU teacher (recipe.h): train_model first trains the same network
  // with ReLU in place of every square/polynomial, with these options (no distillation or
  // warm start) on the same training images (the same validation split held out), then
  // trains the student on the distillation loss against the teacher's eval-mode logits of
  // each (augmented) batch.
  Distillation distill;
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
  double learning_rate = 0;   // this epoch's (the schedule's value)
  bool validated = false;     // with a validation split: its scores, in eval mode
  double validation_accuracy = 0;
  double validation_loss = 0;  // unweighted mean cross-entropy
  double max_gradient_norm = 0;  // largest global gradient norm of the epoch, before clipping
  bool teacher = false;  // an epoch of the distillation teacher (trained before the student)
  bool relu = false;     // a warm-start epoch (ReLU in place of the polynomials)
};
using ProgressCallback = std::function<void(const EpochReport&)>;

struct TrainResult {
  nn::Model model;  // the trained weights (the best epoch's with a validation split), same structure
  std::vector<EpochReport> epochs;
  double seconds = 0;  // training only
  int best_epoch = 0;  // 1-based: the epoch whose weights `model` holds (the last one without validation)
  std::size_t train_images = 0, validation_images = 0;
  // With distillation: the teacher's best epoch and its validation accuracy (0 without validation).
  int teacher_best_epoch = 0;
  double teacher_validation_accuracy = 0;
  // With warm start: the fitted starting coefficients of each polynomial layer (c0 first),
  // and the model at the swap (the ReLU phase's weights, batch norm folded, with those fits).
  std::vector<std::vector<double>> warm_start_fits;
  std::optional<nn::Model> at_swap;
  // With distillation: the teacher (the ReLU network, its best epoch's weights) and its
  // training time (not in `seconds`).
  std::optional<nn::Model> teacher;
  double teacher_seconds = 0;
};

// The options the distillation teacher is trained with: `options` as they are for a ReLU
// network, without distillation (nor a student's start or learning rate) or a warm start.
TrainOptions teacher_options(const TrainOptions& options);

// The ReLU network with the same layers and weights as `model`: every square and polynomial
// activation replaced by relu (the distillation teacher's starting point).
nn::Model relu_version(const nn::Model& model);

// `model` with the conv and dense layers of `source` (same structure up to the activations,
// e.g. a ReLU teacher); throws hemi::Error if a linear layer's kind differs.
nn::Model with_weights_of(const nn::Model& model, const nn::Model& source);

// The validation split of train_model: stratified_split(labels, 1 - fraction, seed) of the
// data layer (its `test` part validates). With `groups` (one key per image: ImageSet::content,
// the content hashes), every copy of an image goes to the side of its first copy, so no
// validation image is also trained on.
struct ValidationSplit {
  std::vector<std::size_t> train, validation;
};
ValidationSplit validation_split(const std::vector<int>& labels, double fraction, std::uint64_t seed,
                                 const std::vector<std::string>* groups = nullptr);

// Trains `initial` (its weights are the starting point) with Adam on cross-entropy, shuffling
// each epoch, with the recipe of `options`. Throws hemi::Error if the images' shape differs from the model's input, a label
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
// (0 = every core). An empty set gives count 0 and nothing else.
Evaluation evaluate(const nn::Model& model, const data::ImageSet& set, int threads = 0);

}  // namespace hemi::train
