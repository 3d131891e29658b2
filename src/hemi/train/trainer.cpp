#include "hemi/train/trainer.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "hemi/base/thread_pool.h"
#include "hemi/nn/interpreter.h"
#include "hemi/train/torch_model.h"

namespace hemi::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Adam (Kingma & Ba; PyTorch's defaults: betas 0.9/0.999, eps 1e-8, no weight decay) over
// all parameters at once: the parameters and their gradients are re-seated as views of two
// flat buffers, so one step is a handful of vector operations instead of a dozen per tensor.
// Autograd accumulates into the existing (flat) gradients in place.
class FlatAdam {
 public:
  FlatAdam(std::vector<torch::Tensor> params, double lr) : lr_(lr) {
    int64_t total = 0;
    for (const auto& p : params) total += p.numel();
    torch::NoGradGuard no_grad;
    flat_ = torch::empty({total}, torch::kFloat);
    grad_ = torch::zeros({total}, torch::kFloat);
    int64_t off = 0;
    for (auto& p : params) {
      int64_t k = p.numel();
      flat_.slice(0, off, off + k).copy_(p.detach().reshape({k}));
      p.set_data(flat_.slice(0, off, off + k).view(p.sizes()));
      p.mutable_grad() = grad_.slice(0, off, off + k).view(p.sizes());
      off += k;
    }
    m_ = torch::zeros_like(flat_);
    v_ = torch::zeros_like(flat_);
  }

  void zero_grad() { grad_.zero_(); }

  void step() {
    torch::NoGradGuard no_grad;
    ++t_;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    m_.mul_(b1).add_(grad_, 1 - b1);
    v_.mul_(b2).addcmul_(grad_, grad_, 1 - b2);
    const double c1 = 1 - std::pow(b1, t_), c2 = 1 - std::pow(b2, t_);
    torch::Tensor denom = (v_.sqrt() / std::sqrt(c2)).add_(eps);
    flat_.addcdiv_(m_, denom, -lr_ / c1);
  }

 private:
  double lr_;
  int64_t t_ = 0;
  torch::Tensor flat_, grad_, m_, v_;
};

}  // namespace

void check_set(const nn::Model& model, const data::ImageSet& set, const char* what) {
  auto want = model.input_shape();
  if (set.channels != want.channels || set.height != want.height || set.width != want.width)
    throw Error(std::string(what) + ": images are " + std::to_string(set.channels) + "x" + std::to_string(set.height) +
                "x" + std::to_string(set.width) + ", the model expects " + want.to_string());
  if (set.pixels.size() != set.size() * set.image_values())
    throw Error(std::string(what) + ": " + std::to_string(set.pixels.size()) + " pixel values for " +
                std::to_string(set.size()) + " images");
  for (std::size_t i = 0; i < set.size(); ++i)
    if (set.labels[i] < 0 || set.labels[i] >= model.classes())
      throw Error(std::string(what) + ": image " + std::to_string(i) + " has label " + std::to_string(set.labels[i]) +
                  ", the model has " + std::to_string(model.classes()) + " classes");
}

void validate(const TrainOptions& o) {
  if (o.epochs < 0 || o.epochs > 100000) throw Error("train: epochs must be in [0, 100000], got " + std::to_string(o.epochs));
  if (o.batch_size < 1 || o.batch_size > 1 << 20) throw Error("train: batch size must be in [1, 1048576], got " + std::to_string(o.batch_size));
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate))
    throw Error("train: learning rate must be positive, got " + std::to_string(o.learning_rate));
  if (o.threads < 0 || o.threads > 1024) throw Error("train: threads must be in [0, 1024], got " + std::to_string(o.threads));
  if (o.noise.enabled) {
    if (!(o.noise.factor > 0) || !std::isfinite(o.noise.factor))
      throw Error("train: noise factor must be positive, got " + std::to_string(o.noise.factor));
    if (o.noise.values.empty()) throw Error("train: noise simulation needs at least one noise value");
  }
}

TrainOptions study_options(const std::string& dataset) {
  TrainOptions o;
  if (dataset == "brain-mri") {
    o.epochs = 20;
    o.batch_size = 32;
  }
  return o;
}

TrainResult train_model(const nn::Model& initial, const data::ImageSet& train, const TrainOptions& options,
                        const ProgressCallback& progress) {
  validate(options);
  check_set(initial, train, "train");
  if (train.size() == 0) throw Error("train: the training set is empty");
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(options.seed);

  auto t_start = std::chrono::steady_clock::now();
  TorchNet net(initial);
  net->train();
  FlatAdam adam(net->parameters(), options.learning_rate);

  const auto n = static_cast<int64_t>(train.size());
  auto shape = initial.input_shape();
  // Views of the caller's data; only read (each epoch's shuffled copy is made by index_select).
  torch::Tensor images = torch::from_blob(const_cast<float*>(train.pixels.data()),
                                          {n, shape.channels, shape.height, shape.width}, torch::kFloat);
  std::vector<int64_t> labels64(train.labels.begin(), train.labels.end());
  torch::Tensor labels = torch::from_blob(labels64.data(), {n}, torch::kLong);
  torch::Tensor noise_values;
  if (options.noise.enabled) {
    std::vector<float> v;
    for (int e : options.noise.values) v.push_back(static_cast<float>(e / options.noise.factor));
    noise_values = torch::tensor(v);
  }
  const float factor = static_cast<float>(options.noise.factor);

  TrainResult result{initial, {}, 0};
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    torch::Tensor shuffled = images.index_select(0, order);
    torch::Tensor shuffled_labels = labels.index_select(0, order);
    torch::Tensor loss_sum = torch::zeros({}, torch::kDouble);
    torch::Tensor correct = torch::zeros({}, torch::kLong);
    for (int64_t begin = 0; begin < n; begin += options.batch_size) {
      int64_t end = std::min<int64_t>(n, begin + options.batch_size);
      torch::Tensor x = shuffled.slice(0, begin, end);
      torch::Tensor y = shuffled_labels.slice(0, begin, end);
      if (options.noise.enabled) {
        torch::Tensor pick = torch::randint(0, noise_values.size(0), {x.numel()}, torch::kLong);
        x = torch::round(x * factor) / factor + noise_values.index_select(0, pick).view_as(x);
      }
      adam.zero_grad();
      torch::Tensor logits = net->forward(x);
      torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      adam.step();
      torch::NoGradGuard no_grad;
      loss_sum += loss.detach().to(torch::kDouble) * static_cast<double>(end - begin);
      correct += logits.argmax(1).eq(y).sum();
    }
    EpochReport r;
    r.epoch = epoch;
    r.epochs = options.epochs;
    r.loss = loss_sum.item<double>() / static_cast<double>(n);
    if (!std::isfinite(r.loss))
      throw Error("train: the loss became " + std::to_string(r.loss) + " in epoch " + std::to_string(epoch) +
                  " (diverged; try a lower learning rate)");
    r.train_accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n);
    r.seconds = seconds_since(t0);
    result.epochs.push_back(r);
    if (progress) progress(r);
  }
  result.model = net->to_model();
  result.seconds = seconds_since(t_start);
  return result;
}

Evaluation evaluate(const nn::Model& model, const data::ImageSet& set, int threads) {
  check_set(model, set, "evaluate");
  ThreadPool pool(threads > 0 ? static_cast<std::size_t>(threads) : 0);
  auto out = nn::forward_batch(model, {set.pixels.data(), set.size(), model.input_shape()}, &pool);
  Evaluation e;
  e.count = set.size();
  e.predicted = out.predicted;
  if (e.count == 0) return e;
  e.accuracy = nn::accuracy(out, set.labels);
  const auto k = static_cast<std::size_t>(out.classes);
  double loss = 0;
  for (std::size_t i = 0; i < e.count; ++i) {
    const double* z = out.logits.data() + i * k;
    double m = z[0];
    for (std::size_t c = 1; c < k; ++c) m = std::max(m, z[c]);
    double s = 0;
    for (std::size_t c = 0; c < k; ++c) s += std::exp(z[c] - m);
    loss += (m + std::log(s)) - z[set.labels[i]];
  }
  e.loss = loss / static_cast<double>(e.count);
  return e;
}

}  // namespace hemi::train
