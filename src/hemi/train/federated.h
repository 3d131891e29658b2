// Federated averaging (McMahan et al. 2017), simulated on one machine: K sites ("hospitals")
// each hold a part of the training set; every round the selected sites train the global
// model locally (train_model: Adam, E epochs, fresh optimizer state each round) and send their
// update Δ_k = w_k − w; the server adds the updates up and moves the global model. This header
// does not include libtorch.
//
// Without DP the server applies the sample-weighted mean Σ n_k Δ_k / Σ n_k: each site sends
// n_k·Δ_k with n_k appended as one more coordinate, so a secure aggregator hides n_k as well.
// With DP (client-level, McMahan et al. 2018 "DP-FedAvg"): sites are sampled independently with
// probability `fraction` (Poisson, which the accountant analyses), each clips Δ_k to L2 norm C
// and adds its share N(0, σ²C²/m) of the noise (m = sites selected this round), so the sum,
// the only thing a secure aggregator reveals, already carries N(0, σ²C²); the server divides
// by the expected number of sites fraction·K (and adds N(0, σ²C²) itself in a round that
// sampled no site). The guarantee is per site (a whole hospital's
// data), over the R rounds, assuming the sites add their noise honestly.
//
// The summing of updates is a parameter (Aggregator): plaintext here; the fl layer provides
// CKKS secure aggregation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "hemi/train/trainer.h"

namespace hemi::train {

struct FederatedOptions {
  int sites = 4;                 // K
  int rounds = 20;               // R
  int local_epochs = 1;          // E
  double fraction = 1.0;         // sites per round: round(fraction·K) of them (≥ 1), or with DP
                                 // each site with this probability
  double dirichlet_alpha = 0;    // 0 = IID partition; > 0 = label skew by a Dirichlet(α) draw
  std::uint64_t seed = 0;        // partition, site selection, local training, DP noise
  // Client-level DP: give dp_noise (σ) or dp_epsilon; both 0 = no DP.
  double dp_clip = 1.0;
  double dp_noise = 0;
  double dp_epsilon = 0;
  double dp_delta = 1e-5;
  bool dp() const { return dp_noise > 0 || dp_epsilon > 0; }
};

// Throws hemi::Error naming the bad field.
void validate(const FederatedOptions& options);

// The sites' example indices: IID (a seeded shuffle cut into K near-equal parts) when
// alpha == 0, otherwise for every class a Dirichlet(α) draw of the sites' shares of that
// class's examples (Hsu et al. 2019). Throws if a site would be left without examples.
std::vector<std::vector<std::size_t>> partition_sites(const std::vector<int>& labels, int classes, int sites,
                                                     double alpha, std::uint64_t seed);

// A model's trainable weights, layer by layer, weight then bias (conv2d and dense), and the
// model with those weights replaced (throws if the count differs).
std::vector<double> model_weights(const nn::Model& model);
nn::Model with_weights(const nn::Model& model, const std::vector<double>& weights);

// What the server learns from one round's uploads: their sum, and the cost of getting it.
struct AggregateResult {
  std::vector<double> sum;
  std::size_t bytes_up = 0;   // bytes the sites sent to the server in total
  double site_seconds = 0;    // encoding/encryption at the sites, summed over sites
  double server_seconds = 0;  // summing (and decrypting) at the server
};
using Aggregator = std::function<AggregateResult(const std::vector<std::vector<double>>& updates)>;

// The plaintext aggregator: sums the vectors; counts 8 bytes per value.
AggregateResult plain_sum(const std::vector<std::vector<double>>& updates);

struct RoundReport {
  int round = 0;  // 1-based
  std::vector<int> sites;
  double test_accuracy = 0;
  double test_loss = 0;
  double seconds = 0;              // the whole round, evaluation excluded
  double aggregation_seconds = 0;  // site + server aggregation time
  std::size_t bytes = 0;           // uploads of this round (the download of the model excluded)
};
using RoundCallback = std::function<void(const RoundReport&)>;

struct FederatedResult {
  nn::Model model;
  std::vector<RoundReport> rounds;
  double seconds = 0;       // training (evaluation excluded)
  std::size_t bytes = 0;    // all uploads
  std::vector<std::size_t> site_sizes;
  // Client-level DP, when enabled.
  double dp_noise = 0, dp_epsilon = 0, dp_delta = 0;
};

// FedAvg of `initial` on `train`, evaluated on `test` after every round. `local` gives the
// local training's batch size, learning rate and threads (its epochs and seed are replaced).
FederatedResult federated_train(const nn::Model& initial, const data::ImageSet& train, const data::ImageSet& test,
                                const TrainOptions& local, const FederatedOptions& options,
                                const Aggregator& aggregate = plain_sum, const RoundCallback& progress = {});

}  // namespace hemi::train
