#include "hemi/train/trainer.h"

#include <chrono>
#include <optional>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "hemi/base/clock.h"
#include "hemi/base/thread_pool.h"
#include "hemi/data/split.h"
#include "hemi/nn/interpreter.h"
#include "hemi/train/augment.h"
#include "hemi/train/distill.h"
#include "hemi/train/torch_model.h"

namespace hemi::train {
namespace {

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
  void set_lr(double lr) { lr_ = lr; }
  torch::Tensor& grad() { return grad_; }

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
  if (!(o.clip_norm >= 0) || !std::isfinite(o.clip_norm))
    throw Error("train: gradient clip norm must be >= 0 (0 = off), got " + std::to_string(o.clip_norm));
  if (o.schedule.step_epochs < 1)
    throw Error("train: step schedule needs step epochs >= 1, got " + std::to_string(o.schedule.step_epochs));
  if (!(o.schedule.step_gamma > 0 && o.schedule.step_gamma <= 1))
    throw Error("train: step schedule gamma must be in (0, 1], got " + std::to_string(o.schedule.step_gamma));
  if (!(o.augment.rotate_degrees >= 0 && o.augment.rotate_degrees <= 180))
    throw Error("train: rotation must be in [0, 180] degrees, got " + std::to_string(o.augment.rotate_degrees));
  if (o.augment.shift_pixels < 0 || o.augment.shift_pixels > 1024)
    throw Error("train: shift must be in [0, 1024] pixels, got " + std::to_string(o.augment.shift_pixels));
  if (!(o.validation_fraction >= 0 && o.validation_fraction < 1))
    throw Error("train: validation fraction must be in [0, 1), got " + std::to_string(o.validation_fraction));
  if (o.warm_start_epochs < 0 || (o.warm_start_epochs > 0 && o.warm_start_epochs >= o.epochs))
    throw Error("train: warm-start epochs must be in [0, epochs) = [0, " + std::to_string(o.epochs) + "), got " +
                std::to_string(o.warm_start_epochs));
  if (o.warm_start_epochs > 0 && !o.train_polynomials)
    throw Error("train: a warm start needs trained polynomial activations (--activation poly)");
  if (o.distill.enabled) {
    if (!(o.distill.temperature > 0 && o.distill.temperature <= 1000))
      throw Error("train: distillation temperature must be in (0, 1000], got " + std::to_string(o.distill.temperature));
    if (!(o.distill.alpha >= 0 && o.distill.alpha <= 1))
      throw Error("train: distillation alpha must be in [0, 1], got " + std::to_string(o.distill.alpha));
  }
  if (!(o.distill.student_learning_rate >= 0) || !std::isfinite(o.distill.student_learning_rate))
    throw Error("train: the student's learning rate must be positive (or 0: the learning rate), got " +
                std::to_string(o.distill.student_learning_rate));
  if (o.distill.student_learning_rate > 0 && !o.distill.enabled)
    throw Error("train: a student learning rate needs distillation (--distill): without a teacher there is no student");
  if (o.distill.start_from_teacher) {
    if (!o.distill.enabled) throw Error("train: starting from the teacher needs distillation (--distill)");
    if (!o.train_polynomials)
      throw Error("train: starting from the teacher needs trained polynomial activations (--activation poly)");
    if (o.warm_start_epochs > 0)
      throw Error("train: starting from the teacher replaces the warm start; give one of them, not both");
  }
}

TrainOptions teacher_options(const TrainOptions& options) {
  TrainOptions to = options;
  to.distill = {};
  to.warm_start_epochs = 0;
  to.train_polynomials = false;
  return to;
}

nn::Model relu_version(const nn::Model& model) {
  nn::ModelSpec spec = model.spec();
  for (auto& layer : spec.layers)
    if (std::holds_alternative<nn::Square>(layer) || std::holds_alternative<nn::Polynomial>(layer)) layer = nn::Relu{};
  auto m = nn::Model::create(std::move(spec));
  if (!m) throw Error("relu version: " + m.error());
  return std::move(m).value();
}

nn::Model with_weights_of(const nn::Model& model, const nn::Model& source) {
  nn::ModelSpec spec = model.spec();
  const auto& from = source.spec().layers;
  if (from.size() != spec.layers.size())
    throw Error("with_weights_of: " + std::to_string(from.size()) + " layers for " + std::to_string(spec.layers.size()));
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    auto& layer = spec.layers[i];
    const bool linear = std::holds_alternative<nn::Conv2d>(layer) || std::holds_alternative<nn::Dense>(layer);
    if (!linear) continue;
    if (from[i].index() != layer.index())
      throw Error("with_weights_of: layer " + std::to_string(i + 1) + " is " + nn::layer_kind(layer) + " here and " +
                  nn::layer_kind(from[i]) + " in the source");
    layer = from[i];
  }
  auto m = nn::Model::create(std::move(spec));
  if (!m) throw Error("with_weights_of: " + m.error());
  return std::move(m).value();
}

ValidationSplit validation_split(const std::vector<int>& labels, double fraction, std::uint64_t seed,
                                 const std::vector<std::string>* groups) {
  auto s = data::stratified_split(labels, 1 - fraction, seed);
  if (!groups || groups->empty()) return {std::move(s.train), std::move(s.test)};
  if (groups->size() != labels.size())
    throw Error("validation split: " + std::to_string(groups->size()) + " group keys for " +
                std::to_string(labels.size()) + " images");
  std::vector<char> validates(labels.size(), 0);
  for (std::size_t i : s.test) validates[i] = 1;
  std::unordered_map<std::string, char> side;  // key -> the side of its first copy
  ValidationSplit out;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto [it, first] = side.emplace((*groups)[i], validates[i]);
    (it->second ? out.validation : out.train).push_back(i);
  }
  return out;
}

TrainOptions study_options(const std::string& dataset) {
  TrainOptions o;
  if (dataset == "brain-mri") {
    o.epochs = 20;
    o.batch_size = 32;
  }
  return o;
}

TrainResult train_model(const nn::Model& initial, const data::ImageSet& all_train, const TrainOptions& options,
                        const ProgressCallback& progress) {
  validate(options);
  check_set(initial, all_train, "train");
  if (all_train.size() == 0) throw Error("train: the training set is empty");
  const bool warm = options.warm_start_epochs > 0;
  bool has_poly = false, has_poly_or_square = false;
  for (const auto& layer : initial.layers()) {
    has_poly = has_poly || std::holds_alternative<nn::Polynomial>(layer);
    has_poly_or_square = has_poly_or_square || has_poly || std::holds_alternative<nn::Square>(layer);
  }
  if (options.distill.start_from_teacher && !has_poly)
    throw Error("train: starting from the teacher needs a polynomial activation layer; the model has none");
  if (warm && !has_poly) throw Error("train: a warm start needs a polynomial activation layer; the model has none");
  if (options.distill.enabled && !has_poly_or_square)
    throw Error("train: distillation from a ReLU teacher needs square or polynomial activations; the model has none");

  // The distillation teacher: the same network with ReLU, trained first on the same images
  // (validation_split is deterministic, so the same validation images are held out).
  std::optional<TrainResult> teacher;
  if (options.distill.enabled) {
    teacher = train_model(relu_version(initial), all_train, teacher_options(options), [&](const EpochReport& r) {
      EpochReport t = r;
      t.teacher = true;
      if (progress) progress(t);
    });
  }
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(options.seed);
  // Augmentation draws from its own stream, so turning it on leaves shuffling and noise as they were.
  at::Generator aug_gen = at::detail::createCPUGenerator(options.seed ^ 0x6175676d656e74ULL);

  // The validation images are held out of training altogether.
  data::ImageSet held_train, held_val;
  const bool validating = options.validation_fraction > 0;
  if (validating) {
    auto vs = validation_split(all_train.labels, options.validation_fraction, options.seed, &all_train.content);
    if (vs.validation.empty() || vs.train.empty())
      throw Error("train: a validation fraction of " + std::to_string(options.validation_fraction) + " of " +
                  std::to_string(all_train.size()) + " images leaves " + std::to_string(vs.train.size()) +
                  " to train and " + std::to_string(vs.validation.size()) + " to validate; both must be non-empty");
    held_train = data::subset(all_train, vs.train);
    held_val = data::subset(all_train, vs.validation);
  }
  const data::ImageSet& train = validating ? held_train : all_train;

  auto t_start = std::chrono::steady_clock::now();
  // With start_from_teacher the student's linear layers are the teacher's (its activations stay the student's).
  const nn::Model start = options.distill.start_from_teacher ? with_weights_of(initial, teacher->model) : initial;
  TorchNet net(start, TorchNetOptions{options.batch_norm, options.train_polynomials});
  net->train();
  net->set_relu_for_polynomials(warm);
  TorchNet teacher_net{nullptr};
  if (options.distill.enabled) {
    teacher_net = TorchNet(teacher->model);
    teacher_net->eval();
  }
  // The teacher above was trained at options.learning_rate; the student may have its own.
  const double base_lr = options.distill.enabled && options.distill.student_learning_rate > 0
                             ? options.distill.student_learning_rate
                             : options.learning_rate;
  FlatAdam adam(net->parameters(), base_lr);

  const auto n = static_cast<int64_t>(train.size());
  auto shape = initial.input_shape();
  auto as_tensor = [&](const data::ImageSet& set) {
    return torch::from_blob(const_cast<float*>(set.pixels.data()),
                            {static_cast<int64_t>(set.size()), shape.channels, shape.height, shape.width}, torch::kFloat);
  };
  // Views of the caller's data; only read (each epoch's shuffled copy is made by index_select).
  torch::Tensor images = as_tensor(train);
  std::vector<int64_t> labels64(train.labels.begin(), train.labels.end());
  torch::Tensor labels = torch::from_blob(labels64.data(), {n}, torch::kLong);
  std::vector<int64_t> val_labels64(held_val.labels.begin(), held_val.labels.end());
  torch::Tensor val_images = validating ? as_tensor(held_val) : torch::Tensor();
  torch::Tensor val_labels =
      validating ? torch::from_blob(val_labels64.data(), {static_cast<int64_t>(val_labels64.size())}, torch::kLong)
                 : torch::Tensor();
  torch::Tensor noise_values;
  if (options.noise.enabled) {
    std::vector<float> v;
    for (int e : options.noise.values) v.push_back(static_cast<float>(e / options.noise.factor));
    noise_values = torch::tensor(v);
  }
  const float factor = static_cast<float>(options.noise.factor);
  auto ce_options = torch::nn::functional::CrossEntropyFuncOptions();
  if (options.class_weights) {
    auto w = balanced_class_weights(train.labels, initial.classes());
    ce_options.weight(torch::tensor(at::ArrayRef<double>(w), torch::kDouble).to(torch::kFloat));
  }

  TrainResult result{initial, {}, 0, 0, train.size(), held_val.size(), 0, 0, {}, std::nullopt, std::nullopt};
  if (teacher) {
    result.teacher = teacher->model;
    result.teacher_best_epoch = teacher->best_epoch;
    result.teacher_seconds = teacher->seconds;
    if (teacher->best_epoch > 0)
      result.teacher_validation_accuracy =
          teacher->epochs[static_cast<std::size_t>(teacher->best_epoch - 1)].validation_accuracy;
  }
  // The images the swap fits on, and batch norm is set to the identity on: the first 512.
  const torch::Tensor fit_images = images.slice(0, 0, std::min<int64_t>(n, 512));
  // The swap from ReLU to the polynomials: each starts at ReLU's least-squares fit on what it
  // now sees (eval mode, at most ~2^18 values per layer).
  auto swap_to_polynomials = [&] {
    net->eval();
    auto inputs = net->polynomial_inputs(fit_images);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      torch::Tensor v = inputs[i].flatten();
      const int64_t stride = std::max<int64_t>(1, v.numel() / 262144);
      v = v.slice(0, 0, v.numel(), stride).to(torch::kDouble).contiguous();
      std::vector<double> xs(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
      auto fit = relu_least_squares_quadratic(xs);
      net->set_polynomial(i, fit);
      result.warm_start_fits.push_back(fit);
    }
    net->set_relu_for_polynomials(false);
    result.at_swap = net->to_model();
  };
  if (options.distill.start_from_teacher) {
    // The teacher's weights, batch norm as the identity on its pre-activations, then the swap.
    net->set_relu_for_polynomials(true);
    net->set_batch_norm_identity(fit_images);
    swap_to_polynomials();
  }
  std::vector<double> val_acc, val_loss;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    if (warm && epoch == options.warm_start_epochs + 1) swap_to_polynomials();
    const bool relu_epoch = net->relu_for_polynomials();
    const double lr = learning_rate_at(options.schedule, base_lr, epoch - 1, options.epochs);
    adam.set_lr(lr);
    net->train();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    torch::Tensor shuffled = images.index_select(0, order);
    torch::Tensor shuffled_labels = labels.index_select(0, order);
    torch::Tensor loss_sum = torch::zeros({}, torch::kDouble);
    torch::Tensor correct = torch::zeros({}, torch::kLong);
    double max_norm = 0;
    for (int64_t begin = 0; begin < n; begin += options.batch_size) {
      int64_t end = std::min<int64_t>(n, begin + options.batch_size);
      // Batch norm cannot normalize a batch of one image in training mode; skip such a tail.
      if (options.batch_norm && end - begin < 2) continue;
      torch::Tensor x = augment(shuffled.slice(0, begin, end), options.augment, aug_gen);
      torch::Tensor y = shuffled_labels.slice(0, begin, end);
      if (options.noise.enabled) {
        torch::Tensor pick = torch::randint(0, noise_values.size(0), {x.numel()}, torch::kLong);
        x = torch::round(x * factor) / factor + noise_values.index_select(0, pick).view_as(x);
      }
      adam.zero_grad();
      torch::Tensor logits = net->forward(x);
      torch::Tensor loss;
      if (options.distill.enabled) {
        torch::Tensor teacher_logits;
        {
          torch::NoGradGuard no_grad;
          teacher_logits = teacher_net->forward(x);
        }
        loss = distillation_loss(logits, teacher_logits, y, options.distill, ce_options);
      } else {
        loss = torch::nn::functional::cross_entropy(logits, y, ce_options);
      }
      loss.backward();
      if (options.clip_norm > 0) max_norm = std::max(max_norm, clip_gradient_norm(adam.grad(), options.clip_norm));
      adam.step();
      torch::NoGradGuard no_grad;
      loss_sum += loss.detach().to(torch::kDouble) * static_cast<double>(end - begin);
      correct += logits.argmax(1).eq(y).sum();
    }
    EpochReport r;
    r.epoch = epoch;
    r.epochs = options.epochs;
    r.learning_rate = lr;
    r.max_gradient_norm = max_norm;
    r.relu = relu_epoch;
    r.loss = loss_sum.item<double>() / static_cast<double>(n);
    if (!std::isfinite(r.loss))
      throw Error("train: the loss became " + std::to_string(r.loss) + " in epoch " + std::to_string(epoch) +
                  " (diverged; try a lower learning rate)");
    r.train_accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n);
    if (validating) {
      torch::NoGradGuard no_grad;
      net->eval();
      torch::Tensor logits = net->forward(val_images);
      r.validated = true;
      r.validation_loss = torch::nn::functional::cross_entropy(logits, val_labels).item<double>();
      r.validation_accuracy = logits.argmax(1).eq(val_labels).to(torch::kDouble).mean().item<double>();
    }
    if (validating && !relu_epoch) {  // a warm-start epoch is not the polynomial network: never the best
      val_acc.push_back(r.validation_accuracy);
      val_loss.push_back(r.validation_loss);
      if (best_epoch(val_acc, val_loss) == val_acc.size() - 1) {  // this epoch is the best so far
        result.model = net->to_model();
        result.best_epoch = epoch;
      }
    }
    r.seconds = seconds_since(t0);
    result.epochs.push_back(r);
    if (progress) progress(r);
  }
  if (!validating || options.epochs == 0) {
    result.model = net->to_model();
    result.best_epoch = options.epochs;
  }
  result.seconds = seconds_since(t_start);
  return result;
}

Evaluation evaluate(const nn::Model& model, const data::ImageSet& set, int threads) {
  check_set(model, set, "evaluate");
  if (set.size() == 0) return Evaluation{};  // no test set (e.g. train fraction 1)
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
