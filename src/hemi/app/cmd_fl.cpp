// `hemi federated`: federated averaging over K simulated sites on a data set, optionally with
// client-level DP and with CKKS secure aggregation; prints the per-round accuracy curve.
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/data/dataset.h"
#include "hemi/fl/secure_aggregation.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/model_file.h"
#include "hemi/train/federated.h"

namespace hemi::app {
namespace {

struct FlArgs {
  std::string data, arch = "seed-cnn", output;
  train::FederatedOptions fed;
  int batch = 64;
  double lr = 0.001;
  int threads = 0;
  std::size_t limit = 0;
  bool secure = false, json = false;
};

std::string fmt_error(const fl::AggregationCheck& c) {
  char buf[96];
  std::snprintf(buf, sizeof buf, ", sum error %.3g (max |sum| %.3g)", c.max_abs_error, c.max_abs_sum);
  return buf;
}

void run_fl(const FlArgs& a) {
  if (!nn::is_architecture(a.arch)) throw Error("unknown architecture '" + a.arch + "' (known: " + nn::architecture_list() + ")");
  train::validate(a.fed);
  nn::InputSpec input = nn::default_input(a.arch);
  data::LoadOptions load;
  load.height = input.height;
  load.width = input.width;
  load.channels = input.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  load.seed = a.fed.seed;
  load.limit = a.limit;
  data::validate(load);
  const auto means = data::channel_means(load), stds = data::channel_stddevs(load);
  input.mean.assign(means.begin(), means.end());
  input.std.assign(stds.begin(), stds.end());
  data::Dataset ds = data::load_dataset(a.data, load);
  nn::ArchitectureOptions ao;
  ao.input = input;
  ao.class_names = ds.train.class_names;
  ao.seed = a.fed.seed;
  nn::Model initial = nn::build_architecture(a.arch, ao).value();

  train::TrainOptions local;
  local.batch_size = a.batch;
  local.learning_rate = a.lr;
  local.threads = a.threads;
  const train::FederatedOptions& fed = a.fed;

  FILE* log = a.json ? stderr : stdout;
  std::fprintf(log, "data %s: %zu train, %zu test images; %d sites (%s), %d rounds, %d local epochs, fraction %g%s%s\n",
               ds.location.name.c_str(), ds.train.size(), ds.test.size(), fed.sites,
               fed.dirichlet_alpha > 0 ? ("Dirichlet alpha " + std::to_string(fed.dirichlet_alpha)).c_str() : "IID",
               fed.rounds, fed.local_epochs, fed.fraction, fed.dp() ? ", client-level DP" : "",
               a.secure ? ", CKKS secure aggregation" : "");
  std::unique_ptr<fl::CkksAggregator> ckks;
  train::Aggregator aggregate = train::plain_sum;
  if (a.secure) {
    ckks = std::make_unique<fl::CkksAggregator>();
    aggregate = ckks->as_function();
  }
  auto result = train::federated_train(initial, ds.train, ds.test, local, fed, aggregate, [&](const train::RoundReport& r) {
    std::fprintf(log, "round %d/%d  %zu sites  test accuracy %.2f%%  loss %.4f  %.2f s (aggregation %.3f s, %zu bytes)%s\n",
                 r.round, fed.rounds, r.sites.size(), 100 * r.test_accuracy, r.test_loss, r.seconds,
                 r.aggregation_seconds, r.bytes,
                 ckks ? fmt_error(ckks->last_check()).c_str() : "");
    std::fflush(log);
  });
  if (!a.output.empty()) nn::save_model(result.model, a.output, nn::WeightPrecision::kFloat64);
  const double acc = result.rounds.empty() ? 0 : result.rounds.back().test_accuracy;
  if (a.json) {
    nlohmann::json j;
    j["dataset"] = ds.location.name;
    j["architecture"] = a.arch;
    j["sites"] = fed.sites;
    j["site_sizes"] = result.site_sizes;
    j["dirichlet_alpha"] = fed.dirichlet_alpha;
    j["rounds"] = fed.rounds;
    j["local_epochs"] = fed.local_epochs;
    j["fraction"] = fed.fraction;
    j["secure_aggregation"] = a.secure;
    j["train_seconds"] = result.seconds;
    j["bytes"] = result.bytes;
    j["test_accuracy"] = acc;
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& r : result.rounds)
      curve.push_back({{"round", r.round}, {"test_accuracy", r.test_accuracy}, {"test_loss", r.test_loss},
                       {"seconds", r.seconds}, {"aggregation_seconds", r.aggregation_seconds}, {"bytes", r.bytes}});
    j["per_round"] = curve;
    if (fed.dp()) j["dp"] = {{"epsilon", result.dp_epsilon}, {"delta", result.dp_delta}, {"noise_multiplier", result.dp_noise}, {"clip", fed.dp_clip}};
    if (ckks) j["max_relative_error"] = ckks->worst_relative_error();
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("test accuracy %.2f%% after %d rounds; training %.2f s; %zu bytes uploaded\n", 100 * acc, fed.rounds,
                result.seconds, result.bytes);
    if (fed.dp())
      std::printf("privacy: (epsilon %.3f, delta %g)-DP per site (client level; noise multiplier %.4f, clip %g)\n",
                  result.dp_epsilon, result.dp_delta, result.dp_noise, fed.dp_clip);
    if (ckks) std::printf("secure aggregation: worst relative error of the decrypted sums %.3g\n", ckks->worst_relative_error());
  }
}

void setup_fl(CLI::App& root) {
  auto a = std::make_shared<FlArgs>();
  auto* cmd = root.add_subcommand("federated", "Federated averaging over simulated sites (docs/privacy.md)");
  cmd->add_option("--data", a->data, "data set name (mnist, fashion-mnist, brain-mri) or path")->required();
  cmd->add_option("--arch", a->arch, "built-in architecture: seed-cnn, mri-cnn")->capture_default_str();
  cmd->add_option("--sites", a->fed.sites, "number of sites K")->capture_default_str();
  cmd->add_option("--rounds", a->fed.rounds, "rounds R")->capture_default_str();
  cmd->add_option("--local-epochs", a->fed.local_epochs, "local epochs E per round")->capture_default_str();
  cmd->add_option("--fraction", a->fed.fraction, "fraction of sites per round")->capture_default_str();
  cmd->add_option("--alpha", a->fed.dirichlet_alpha, "Dirichlet label skew alpha (0 = IID)")->capture_default_str();
  cmd->add_option("--batch", a->batch, "local batch size")->capture_default_str();
  cmd->add_option("--lr", a->lr, "local Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", a->fed.seed, "seed for partition, sampling, training and noise")->capture_default_str();
  cmd->add_option("--dp-noise", a->fed.dp_noise, "client-level DP noise multiplier sigma");
  cmd->add_option("--dp-epsilon", a->fed.dp_epsilon, "client-level DP target epsilon (hemi picks sigma)");
  cmd->add_option("--dp-delta", a->fed.dp_delta, "client-level DP delta")->capture_default_str();
  cmd->add_option("--dp-clip", a->fed.dp_clip, "clip norm of each site's update")->capture_default_str();
  cmd->add_flag("--secure", a->secure, "sum the updates under CKKS (secure aggregation)");
  cmd->add_option("--threads", a->threads, "threads (0 = every core)")->capture_default_str();
  cmd->add_option("--limit", a->limit, "at most this many images per split (0 = all)")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "model file to write (optional)");
  cmd->add_flag("--json", a->json, "print one JSON object (progress goes to stderr)");
  cmd->callback([a] { run_fl(*a); });
}

}  // namespace

HEMI_REGISTER_COMMAND("federated", 42, setup_fl);

}  // namespace hemi::app
