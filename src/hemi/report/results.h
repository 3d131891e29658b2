// What `hemi run` measured: one RunResult per (experiment, variant, fold), fold summaries for
// cross-validated experiments, and the environment. Plain structs; the writers in output.h
// turn them into the console table, results.json (docs/results-schema.md), results.csv,
// report.md and the figures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hemi/metrics/agreement.h"
#include "hemi/metrics/classification.h"
#include "hemi/metrics/statistics.h"

namespace hemi::report {

struct TrainingInfo {
  bool trained = false;  // false: a model file evaluated as given
  int epochs = 0, batch_size = 0;
  double learning_rate = 0;
  bool noise = false;
  double noise_factor = 0;
  int threads = 1;
  double final_loss = 0, final_train_accuracy = 0;
  double seconds = 0;
  std::string recipe;  // the training recipe beyond plain Adam (activation, batch norm, ...); "" = none
  // Privacy-preserving training (privacy_runs.h, docs/privacy.md).
  std::string method = "centralized";  // centralized, dp-sgd, fedavg, fedavg+dp
  std::string privacy;                 // the training-time guarantee in words ("" = none)
  std::optional<double> dp_epsilon, dp_delta, dp_noise;
  std::size_t bytes_moved = 0;           // federated: all uploads
  std::vector<double> round_accuracy;    // federated: test accuracy after each round
  std::optional<double> aggregation_max_relative_error;  // secure aggregation vs plaintext sum
};

struct CkksInfo {
  std::string packing;
  std::size_t n = 0;
  int log_scale = 0;
  std::vector<int> q_bits, p_bits;
  double log2_qp = 0;
  int security_bits = 0;
  bool insecure = false;
  int depth = 0;
  std::size_t images_per_batch = 0;
};

// A BFV run (scheme bfv, encrypted): the compiler's plan and the exactness measured.
struct BfvInfo {
  std::size_t n = 0;
  std::vector<int> q_bits, p_bits;
  std::vector<std::uint64_t> t;  // the plaintext primes (CRT)
  double log2_bound = 0;         // the largest intermediate the quantized network can reach
  int weight_bits = 0, input_bits = 0;
  double exact_agreement = 0;    // images whose integer logits equal the quantized model's
  double min_budget_bits = 0;    // noise budget measured on the results
  std::size_t download_level = 0;
  std::string plan;              // the compiler's one-line summary
};

struct Timings {
  double load = 0;     // reading and preprocessing the data set (shared by an experiment's runs)
  double train = 0;    // training (shared by an experiment's runs)
  double keygen = 0, encrypt = 0, evaluate = 0, decrypt = 0;
  double setup = 0;      // encrypted: compiling the plan, the server's pre-encoding, the rest
  double inference = 0;  // the variant's end-to-end evaluation: plain forward, or setup + keygen..decrypt
  double total = 0;      // train + inference
};

struct RunResult {
  std::string experiment, variant, mode;  // mode: "plain" or "encrypted"
  std::string dataset, dataset_path, model;
  std::optional<int> fold;  // cross-validation: 0-based fold index
  std::size_t train_images = 0, test_images = 0;
  std::vector<std::string> class_names;
  std::uint64_t seed = 0;
  std::string input;  // e.g. "gray 28x28, mean 0.5, std 0.5"
  std::string dataset_identity;  // data::dataset_identity
  std::string split;             // the split used, in words
  std::string duplicate_policy;  // "drop" or "keep": test images whose content is a training image's
  std::size_t duplicates_in_test = 0, duplicates_dropped = 0;
  std::vector<std::string> data_notes;  // samples drawn, duplicates dropped, ... in words
  std::size_t parameters = 0;
  int model_depth = 0;
  TrainingInfo training;
  metrics::ClassificationMetrics metrics;
  std::optional<metrics::Agreement> agreement;  // encrypted: vs the plaintext interpreter, same weights
  std::optional<CkksInfo> ckks;
  // The arithmetic: "float" (plaintext float model), "quantized" (plaintext integer model,
  // BFV's twin), "ckks" or "bfv" (encrypted). The agreement of an encrypted run is with its
  // plaintext twin: the float model for ckks, the quantized model for bfv.
  std::string scheme = "float";
  std::optional<BfvInfo> bfv;
  std::optional<double> quantized_log2_bound;  // quantized and bfv runs
  Timings seconds;
  double images_per_second = 0;  // test images / inference seconds
  double bytes_up_per_image = 0, bytes_down_per_image = 0;
  std::size_t eval_key_bytes = 0, secret_key_bytes = 0;
  double peak_memory_mib = 0;  // the process's peak resident memory when the run ended
  int threads = 1;             // inference threads
  // In memory only (not written): the test labels and the logits, for paired comparisons.
  std::vector<int> truth;
  std::vector<std::vector<double>> logits;

  std::string label() const;  // "experiment/variant" (+ " fold k")
};

// Cross-validation: one metric of one variant over the folds.
struct FoldAggregate {
  std::string experiment, variant, mode;
  int folds = 0;
  std::map<std::string, metrics::FoldSummary> metrics;  // accuracy, precision, recall, f1, auroc, ...
};

// Two runs on the same test images: `agreement` holds McNemar's test with a = "plain" and
// b = "encrypted" in metrics::Agreement's terms (plain_only_correct: only a right).
struct Comparison {
  std::string a, b;
  double accuracy_a = 0, accuracy_b = 0;
  metrics::Agreement agreement;
};

struct Environment {
  std::string hemi_version, compiler, build_type, os, cpu, hostname;
  unsigned cores = 0;
  int threads = 0;  // inference threads asked for (0 = every core)
  std::string started_utc;
};

struct Report {
  std::string spec_path, spec_name, description, command;
  std::uint64_t seed = 0;
  std::size_t bootstrap_resamples = 0;
  double confidence = 0.95;
  Environment environment;
  std::vector<RunResult> runs;
  std::vector<FoldAggregate> folds;
  std::vector<Comparison> comparisons;
  double seconds = 0;  // the whole run
  std::vector<std::string> warnings;
};

}  // namespace hemi::report
