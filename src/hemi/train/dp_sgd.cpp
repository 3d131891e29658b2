#include "hemi/train/dp_sgd.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "hemi/base/clock.h"
#include "hemi/train/dp_accountant.h"
#include "hemi/train/per_example_grad.h"
#include "hemi/train/torch_model.h"

namespace hemi::train {
void validate(const DpOptions& o) {
  if (!(o.clip > 0) || !std::isfinite(o.clip)) throw Error("DP: clip norm must be positive, got " + std::to_string(o.clip));
  if (!(o.noise_multiplier >= 0) || !std::isfinite(o.noise_multiplier))
    throw Error("DP: noise multiplier must be >= 0, got " + std::to_string(o.noise_multiplier));
  if (!(o.target_epsilon >= 0) || !std::isfinite(o.target_epsilon))
    throw Error("DP: target epsilon must be >= 0, got " + std::to_string(o.target_epsilon));
  if ((o.noise_multiplier > 0) == (o.target_epsilon > 0))
    throw Error("DP: give either a noise multiplier or a target epsilon (got noise " + std::to_string(o.noise_multiplier) +
                ", epsilon " + std::to_string(o.target_epsilon) + ")");
  if (!(o.delta > 0 && o.delta < 1)) throw Error("DP: delta must be in (0, 1), got " + std::to_string(o.delta));
}

DpReport plan_dp(std::size_t n, const TrainOptions& options, const DpOptions& dp) {
  validate(options);
  validate(dp);
  if (n == 0) throw Error("DP: the training set is empty");
  if (options.noise.enabled) throw Error("DP: the encryption-noise simulation cannot be combined with DP-SGD");
  DpReport r;
  r.clip = dp.clip;
  r.delta = dp.delta;
  r.sampling_rate = std::min(1.0, static_cast<double>(options.batch_size) / static_cast<double>(n));
  const auto steps_per_epoch = std::max<std::int64_t>(1, std::llround(1 / r.sampling_rate));
  r.steps = steps_per_epoch * options.epochs;
  r.noise_multiplier = dp.noise_multiplier > 0 ? dp.noise_multiplier
                                               : dp_noise_for_epsilon(r.sampling_rate, r.steps, dp.target_epsilon, dp.delta);
  DpGuarantee g = dp_epsilon(r.sampling_rate, r.noise_multiplier, r.steps, dp.delta);
  r.epsilon = g.epsilon;
  r.order = g.order;
  return r;
}

DpTrainResult train_model_dp(const nn::Model& initial, const data::ImageSet& train, const TrainOptions& options,
                             const DpOptions& dp, const ProgressCallback& progress) {
  check_set(initial, train, "DP train");
  DpReport report = plan_dp(train.size(), options, dp);
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(options.seed);

  auto t_start = std::chrono::steady_clock::now();
  TorchNet net(initial);
  net->train();
  std::vector<torch::Tensor> params = net->parameters();
  torch::optim::Adam adam(params, torch::optim::AdamOptions(options.learning_rate));

  const auto n = static_cast<int64_t>(train.size());
  auto shape = initial.input_shape();
  torch::Tensor images = torch::from_blob(const_cast<float*>(train.pixels.data()),
                                          {n, shape.channels, shape.height, shape.width}, torch::kFloat);
  std::vector<int64_t> labels64(train.labels.begin(), train.labels.end());
  torch::Tensor labels = torch::from_blob(labels64.data(), {n}, torch::kLong);

  const double q = report.sampling_rate, sigma = report.noise_multiplier, clip = dp.clip;
  const double expected_batch = q * static_cast<double>(n);
  const int64_t steps_per_epoch = report.steps / std::max(1, options.epochs);
  int64_t drawn = 0, clipped = 0;

  DpTrainResult result{{initial, {}, 0, 0, 0, 0, 0, 0, {}, std::nullopt, std::nullopt}, report};
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t step = 0; step < steps_per_epoch; ++step) {
      // Poisson sampling: each example independently with probability q.
      torch::Tensor index = (torch::rand({n}) < q).nonzero().reshape({-1});
      const int64_t b = index.size(0);
      torch::Tensor sum;
      if (b > 0) {
        torch::Tensor x = images.index_select(0, index), y = labels.index_select(0, index);
        torch::Tensor logits, norms;
        sum = clipped_gradient_sum(*net, x, y, clip, &norms, &logits);
        torch::NoGradGuard no_grad;
        clipped += norms.gt(clip).sum().item<int64_t>();
        loss_sum += torch::nn::functional::cross_entropy(
                        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
        seen += b;
        drawn += b;
      } else {
        int64_t total = 0;
        for (const auto& p : params) total += p.numel();
        sum = torch::zeros({total});
      }
      torch::NoGradGuard no_grad;
      torch::Tensor noisy = (sum + torch::randn_like(sum) * (sigma * clip)) / expected_batch;
      int64_t off = 0;
      for (auto& p : params) {
        const int64_t k = p.numel();
        p.mutable_grad() = noisy.slice(0, off, off + k).view(p.sizes()).clone();
        off += k;
      }
      adam.step();
    }
    EpochReport r;
    r.epoch = epoch;
    r.epochs = options.epochs;
    r.loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0;
    if (!std::isfinite(r.loss))
      throw Error("DP train: the loss became " + std::to_string(r.loss) + " in epoch " + std::to_string(epoch) +
                  " (diverged; try a lower learning rate or a smaller clip norm)");
    r.train_accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0;
    r.seconds = seconds_since(t0);
    result.train.epochs.push_back(r);
    if (progress) progress(r);
  }
  result.train.model = net->to_model();
  result.train.seconds = seconds_since(t_start);
  if (report.steps > 0) {
    result.dp.mean_batch = static_cast<double>(drawn) / static_cast<double>(report.steps);
    result.dp.clipped_fraction = drawn > 0 ? static_cast<double>(clipped) / static_cast<double>(drawn) : 0;
  }
  return result;
}

}  // namespace hemi::train
