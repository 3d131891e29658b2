#include "hemi/train/federated.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "hemi/base/clock.h"
#include "hemi/train/dp_accountant.h"

namespace hemi::train {
namespace {

data::ImageSet subset(const data::ImageSet& set, const std::vector<std::size_t>& index) {
  data::ImageSet s;
  s.channels = set.channels;
  s.height = set.height;
  s.width = set.width;
  s.class_names = set.class_names;
  const std::size_t v = set.image_values();
  s.pixels.reserve(index.size() * v);
  for (std::size_t i : index) {
    s.pixels.insert(s.pixels.end(), set.image(i), set.image(i) + v);
    s.labels.push_back(set.labels[i]);
  }
  return s;
}

}  // namespace

void validate(const FederatedOptions& o) {
  if (o.sites < 1 || o.sites > 10000) throw Error("federated: sites must be in [1, 10000], got " + std::to_string(o.sites));
  if (o.rounds < 0 || o.rounds > 100000) throw Error("federated: rounds must be in [0, 100000], got " + std::to_string(o.rounds));
  if (o.local_epochs < 1 || o.local_epochs > 1000)
    throw Error("federated: local epochs must be in [1, 1000], got " + std::to_string(o.local_epochs));
  if (!(o.fraction > 0 && o.fraction <= 1))
    throw Error("federated: fraction of sites per round must be in (0, 1], got " + std::to_string(o.fraction));
  if (!(o.dirichlet_alpha >= 0) || !std::isfinite(o.dirichlet_alpha))
    throw Error("federated: Dirichlet alpha must be >= 0 (0 = IID), got " + std::to_string(o.dirichlet_alpha));
  if (!(o.dp_clip > 0) || !std::isfinite(o.dp_clip))
    throw Error("federated: DP clip norm must be positive, got " + std::to_string(o.dp_clip));
  if (!(o.dp_noise >= 0) || !std::isfinite(o.dp_noise) || !(o.dp_epsilon >= 0) || !std::isfinite(o.dp_epsilon))
    throw Error("federated: DP noise and epsilon must be >= 0");
  if (o.dp_noise > 0 && o.dp_epsilon > 0) throw Error("federated: give either a DP noise multiplier or a DP epsilon, not both");
  if (o.dp() && !(o.dp_delta > 0 && o.dp_delta < 1))
    throw Error("federated: DP delta must be in (0, 1), got " + std::to_string(o.dp_delta));
}

std::vector<std::vector<std::size_t>> partition_sites(const std::vector<int>& labels, int classes, int sites,
                                                     double alpha, std::uint64_t seed) {
  if (sites < 1) throw Error("partition: sites must be >= 1, got " + std::to_string(sites));
  if (labels.size() < static_cast<std::size_t>(sites))
    throw Error("partition: " + std::to_string(labels.size()) + " examples cannot fill " + std::to_string(sites) + " sites");
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::size_t>> parts(static_cast<std::size_t>(sites));
  if (alpha == 0) {
    std::vector<std::size_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < order.size(); ++i) parts[i % parts.size()].push_back(order[i]);
  } else {
    std::gamma_distribution<double> gamma(alpha, 1.0);
    for (int c = 0; c < classes; ++c) {
      std::vector<std::size_t> members;
      for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == c) members.push_back(i);
      std::shuffle(members.begin(), members.end(), rng);
      std::vector<double> share(parts.size());
      double total = 0;
      for (auto& s : share) total += (s = gamma(rng));
      // Cut points at the cumulative shares (a Dirichlet draw is normalized Gamma(α) draws).
      double cum = 0;
      std::size_t begin = 0;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        cum += share[k] / total;
        std::size_t end = k + 1 == parts.size() ? members.size()
                                                : std::min(members.size(), static_cast<std::size_t>(std::llround(cum * static_cast<double>(members.size()))));
        for (std::size_t i = begin; i < end; ++i) parts[k].push_back(members[i]);
        begin = std::max(begin, end);
      }
    }
    for (auto& p : parts) std::sort(p.begin(), p.end());
  }
  for (std::size_t k = 0; k < parts.size(); ++k)
    if (parts[k].empty())
      throw Error("partition: site " + std::to_string(k + 1) + " received no examples (Dirichlet alpha " +
                  std::to_string(alpha) + " too small for " + std::to_string(sites) + " sites; try another seed)");
  return parts;
}

std::vector<double> model_weights(const nn::Model& model) {
  std::vector<double> w;
  for (const auto& layer : model.layers()) {
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      w.insert(w.end(), c->weight.begin(), c->weight.end());
      w.insert(w.end(), c->bias.begin(), c->bias.end());
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      w.insert(w.end(), d->weight.begin(), d->weight.end());
      w.insert(w.end(), d->bias.begin(), d->bias.end());
    }
  }
  return w;
}

nn::Model with_weights(const nn::Model& model, const std::vector<double>& weights) {
  nn::ModelSpec spec = model.spec();
  std::size_t off = 0;
  auto take = [&](std::vector<double>& v) {
    if (off + v.size() > weights.size())
      throw Error("with_weights: " + std::to_string(weights.size()) + " weights for a model with more");
    std::copy(weights.begin() + static_cast<std::ptrdiff_t>(off), weights.begin() + static_cast<std::ptrdiff_t>(off + v.size()), v.begin());
    off += v.size();
  };
  for (auto& layer : spec.layers) {
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      take(c->weight);
      take(c->bias);
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      take(d->weight);
      take(d->bias);
    }
  }
  if (off != weights.size())
    throw Error("with_weights: " + std::to_string(weights.size()) + " weights for a model with " + std::to_string(off));
  return nn::Model::create(std::move(spec)).value();
}

AggregateResult plain_sum(const std::vector<std::vector<double>>& updates) {
  auto t0 = std::chrono::steady_clock::now();
  AggregateResult r;
  if (updates.empty()) return r;
  r.sum.assign(updates[0].size(), 0.0);
  for (const auto& u : updates) {
    if (u.size() != r.sum.size())
      throw Error("aggregate: updates of " + std::to_string(u.size()) + " and " + std::to_string(r.sum.size()) + " values");
    for (std::size_t i = 0; i < u.size(); ++i) r.sum[i] += u[i];
    r.bytes_up += u.size() * sizeof(double);
  }
  r.server_seconds = seconds_since(t0);
  return r;
}

FederatedResult federated_train(const nn::Model& initial, const data::ImageSet& train, const data::ImageSet& test,
                                const TrainOptions& local, const FederatedOptions& options,
                                const Aggregator& aggregate, const RoundCallback& progress) {
  validate(options);
  validate(local);
  check_set(initial, train, "federated train");
  check_set(initial, test, "federated test");
  if (local.noise.enabled) throw Error("federated: the encryption-noise simulation is not supported here");
  auto parts = partition_sites(train.labels, initial.classes(), options.sites, options.dirichlet_alpha, options.seed);
  std::vector<data::ImageSet> site_sets;
  FederatedResult result{initial, {}, 0, 0, {}, 0, 0, 0};
  for (const auto& p : parts) {
    site_sets.push_back(subset(train, p));
    result.site_sizes.push_back(p.size());
  }
  std::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  const auto k_sites = static_cast<std::size_t>(options.sites);

  double sigma = 0;
  if (options.dp()) {
    sigma = options.dp_noise > 0 ? options.dp_noise
                                 : dp_noise_for_epsilon(options.fraction, options.rounds, options.dp_epsilon, options.dp_delta);
    result.dp_noise = sigma;
    result.dp_delta = options.dp_delta;
    result.dp_epsilon = dp_epsilon(options.fraction, sigma, options.rounds, options.dp_delta).epsilon;
  }
  const double clip = options.dp_clip;

  std::vector<double> global = model_weights(initial);
  nn::Model model = initial;
  auto t_start = std::chrono::steady_clock::now();
  double eval_seconds = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    RoundReport rep;
    rep.round = round;
    if (options.dp()) {  // Poisson sampling of sites
      std::bernoulli_distribution pick(options.fraction);
      for (std::size_t k = 0; k < k_sites; ++k)
        if (pick(rng)) rep.sites.push_back(static_cast<int>(k));
    } else {
      std::vector<int> all(k_sites);
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      auto m = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(options.fraction * static_cast<double>(k_sites))));
      rep.sites.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m));
      std::sort(rep.sites.begin(), rep.sites.end());
    }
    std::vector<std::vector<double>> uploads;
    for (int k : rep.sites) {
      TrainOptions o = local;
      o.epochs = options.local_epochs;
      o.seed = options.seed + static_cast<std::uint64_t>(round) * 1000003ULL + static_cast<std::uint64_t>(k);
      std::vector<double> w = model_weights(train_model(model, site_sets[static_cast<std::size_t>(k)], o).model);
      for (std::size_t i = 0; i < w.size(); ++i) w[i] -= global[i];  // Δ_k
      if (options.dp()) {
        double norm = 0;
        for (double v : w) norm += v * v;
        norm = std::sqrt(norm);
        const double s = norm > clip ? clip / norm : 1.0;
        std::normal_distribution<double> noise(0.0, sigma * clip / std::sqrt(static_cast<double>(rep.sites.size())));
        for (double& v : w) v = v * s + noise(rng);
      } else {
        const double n_k = static_cast<double>(site_sets[static_cast<std::size_t>(k)].size());
        for (double& v : w) v *= n_k;
        w.push_back(n_k);
      }
      uploads.push_back(std::move(w));
    }
    if (!uploads.empty()) {
      AggregateResult agg = aggregate(uploads);
      if (agg.sum.size() != uploads[0].size())
        throw Error("federated: the aggregator returned " + std::to_string(agg.sum.size()) + " values for updates of " +
                    std::to_string(uploads[0].size()));
      const double denom = options.dp() ? options.fraction * static_cast<double>(k_sites) : agg.sum.back();
      for (std::size_t i = 0; i < global.size(); ++i) global[i] += agg.sum[i] / denom;
      rep.bytes = agg.bytes_up;
      rep.aggregation_seconds = agg.site_seconds + agg.server_seconds;
      model = with_weights(initial, global);
    } else if (options.dp()) {
      // No site sampled: the mechanism still releases its noise (the server draws it), so the
      // output has the distribution the accountant analyses.
      std::normal_distribution<double> noise(0.0, sigma * clip);
      const double denom = options.fraction * static_cast<double>(k_sites);
      for (double& w : global) w += noise(rng) / denom;
      model = with_weights(initial, global);
    }
    rep.seconds = seconds_since(t0);
    auto t_eval = std::chrono::steady_clock::now();
    Evaluation ev = evaluate(model, test, local.threads);
    eval_seconds += seconds_since(t_eval);
    rep.test_accuracy = ev.accuracy;
    rep.test_loss = ev.loss;
    result.bytes += rep.bytes;
    result.rounds.push_back(rep);
    if (progress) progress(rep);
  }
  result.model = model;
  result.seconds = seconds_since(t_start) - eval_seconds;
  return result;
}

}  // namespace hemi::train
