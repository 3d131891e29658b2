// An experiment specification (SPEC.toml, docs/experiments.md): what `hemi run` trains and
// evaluates. A spec is parsed and fully validated in one step (parse_spec): every table
// accepts only its documented keys, every value is range-checked, and a refusal is a
// hemi::Error naming the file, the experiment and the key. No half-valid Spec exists.
// Locating the data sets (which touches the file system) is a separate step, done by the
// runner before any training starts (check_datasets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hemi/ckks/params.h"
#include "hemi/he/plan.h"

namespace hemi::report {

enum class Mode { kPlain, kEncrypted };
const char* to_string(Mode mode);  // "plain", "encrypted"

// One way to evaluate an experiment's trained weights on its test images.
struct VariantSpec {
  std::string name;  // unique within the experiment; default: the mode's name
  Mode mode = Mode::kPlain;
  std::optional<he::Packing> packing;  // encrypted only; nullopt = automatic
  int scale_bits = 0;                  // encrypted only; 0 = automatic
  std::optional<ckks::ParamsLiteral> params;  // encrypted only; nullopt = automatic
  std::size_t limit = 0;  // evaluate a seeded stratified sample of `limit` test images (0 = all)
  // The arithmetic (docs/bfv.md): "ckks" (default: the float model, plaintext or under CKKS)
  // or "bfv" (the integer-quantized model, plaintext or under BFV; throughput packing only).
  std::string scheme = "ckks";
  int weight_bits = 0, input_bits = 0;  // bfv only; 0 = the quant layer's defaults
  // Plain (float) only, with distill: evaluate the experiment's distillation teacher (the ReLU
  // network trained the same way on the same images) instead of the trained student, so one
  // training gives the ReLU reference too.
  bool teacher = false;
};

// DP-SGD ([experiment.train.dp]) or client-level DP of FedAvg ([experiment.train.federated.dp]):
// exactly one of epsilon (hemi picks the noise) and noise; delta 0 = 1e-5, or 1/n below 10^5
// examples (DP-SGD) / 1/K for K sites (client level). docs/privacy.md.
struct DpSpec {
  double epsilon = 0;
  double noise = 0;
  double delta = 0;
  double clip = 1.0;
};

// FedAvg over simulated sites ([experiment.train.federated]); the [train] table's epochs are
// ignored (rounds × local_epochs), batch_size and learning_rate are the local ones.
struct FederatedSpec {
  int sites = 4;
  int rounds = 20;
  int local_epochs = 1;
  double fraction = 1.0;
  double alpha = 0;     // 0 = IID; > 0 = Dirichlet label skew
  bool secure = false;  // CKKS secure aggregation
  std::optional<DpSpec> dp;
};

struct TrainSpec {
  int epochs = 10;
  int batch_size = 64;
  double learning_rate = 0.001;
  bool noise = false;  // the study's encryption-noise simulation (docs/training.md)
  double noise_factor = 1000.0;
  int threads = 1;  // libtorch threads; 1 is deterministic and fastest for these networks
  // The recipe for deeper polynomial networks (train::TrainOptions, docs/training.md).
  bool batch_norm = false;
  double clip = 0;                   // global gradient-norm bound, 0 = off
  std::string schedule = "constant";  // constant | cosine | step
  int step_epochs = 10;
  double step_gamma = 0.1;
  bool flip = false;
  double rotate = 0;  // degrees
  int shift = 0;      // pixels
  bool class_weights = false;
  double validation = 0;  // fraction of the training images held out for best-epoch selection
  int warm_start_epochs = 0;  // poly only: the first K epochs with ReLU, then the fitted polynomials
  bool distill = false;       // distillation from a ReLU teacher trained first on the same images
  double distill_temperature = 4.0;
  double distill_alpha = 0.5;
  bool start_from_teacher = false;  // with distill: the student starts from the trained teacher
  double student_learning_rate = 0;  // with distill, > 0: the student's base learning rate (0 = learning_rate)
  std::optional<DpSpec> dp;                // DP-SGD instead of Adam on exact gradients
  std::optional<FederatedSpec> federated;  // FedAvg instead of centralized training
};

struct ExperimentSpec {
  std::string name;
  std::string dataset;  // mnist, fashion-mnist, brain-mri or a path (data layer)
  std::string model;    // a built-in architecture (nn::architecture_names()) or a model file
  bool model_is_file = false;
  std::string activation = "default";  // architectures: square | poly | relu | default
  std::vector<int> widths;             // medcnn: conv channels x3 and dense hidden units (empty = its own)
  // Preprocessing. channels/size default to the architecture's (or the model file's) input.
  std::optional<std::string> channels;  // "gray" or "rgb"
  std::optional<int> height, width;
  std::vector<float> mean = {0.5f}, stddev = {0.5f};
  // The split (docs/data.md, "Splits"): `split` names the data set's own test split ("test",
  // "val"); `train_fraction` (when given) splits the training split by fraction; neither:
  // the data set's own test split when it has one, else train_fraction 0.8 of each class.
  // A model file evaluated without training uses the images held out when it was trained.
  std::string split;                // empty: automatic
  double train_fraction = 0.8;
  bool train_fraction_given = false;
  bool keep_duplicates = false;     // keep test images whose content is a training image's
  std::size_t train_limit = 0;  // 0 = all training images; else a seeded stratified sample
  std::size_t test_limit = 0;   // 0 = all test images; else a seeded stratified sample
  int folds = 0;                // >= 2: stratified k-fold cross-validation instead of the split
  std::uint64_t seed = 0;       // initialization, shuffling, noise, split
  std::optional<TrainSpec> train;  // nullopt: no training (a model file evaluated as is)
  std::vector<VariantSpec> variants;
};

// A paired comparison of two runs on the same test images (e.g. the study's plainly trained
// model vs its noise-trained model evaluated encrypted): McNemar's exact test on the images only
// one of them gets right. Runs are named "experiment/variant"; neither may be cross-validated.
struct ComparisonSpec {
  std::string a, b;
};

struct Spec {
  std::string path;  // where it was read from ("<string>" for parse_spec)
  std::string name;
  std::string description;
  std::uint64_t seed = 0;                  // default seed of every experiment
  std::size_t bootstrap_resamples = 1000;  // 0 disables the bootstrap intervals
  double confidence = 0.95;
  std::vector<ExperimentSpec> experiments;
  std::vector<ComparisonSpec> comparisons;
};

// Parses and validates TOML text; `origin` names it in error messages. Relative model-file
// paths are resolved against `base_dir` (the spec's folder) when it is not empty.
Spec parse_spec(const std::string& text, const std::string& origin = "<string>",
                const std::string& base_dir = "");
// Reads and parses a spec file. Throws hemi::Error (unreadable file, TOML syntax, validation).
Spec load_spec(const std::string& path);

// Locates every experiment's data set (data::locate_dataset) and checks that model files
// exist; throws hemi::Error naming the experiment on the first failure.
void check_datasets(const Spec& spec);

}  // namespace hemi::report
