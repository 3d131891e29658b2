#include "hemi/train/torch_model.h"

namespace hemi::train {
namespace {

torch::Tensor to_tensor(const std::vector<double>& v, at::IntArrayRef shape) {
  return torch::tensor(at::ArrayRef<double>(v), torch::kDouble).reshape(shape).to(torch::kFloat);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto d = t.detach().to(torch::kDouble).contiguous();
  const double* p = d.data_ptr<double>();
  return std::vector<double>(p, p + d.numel());
}

// A batch norm's eval-mode statistics, for folding.
template <class BN>
nn::BatchNorm export_bn(const BN& bn) {
  nn::BatchNorm b;
  b.gamma = to_vector(bn->weight);
  b.beta = to_vector(bn->bias);
  b.running_mean = to_vector(bn->running_mean);
  b.running_var = to_vector(bn->running_var);
  b.eps = bn->options.eps();
  return b;
}

}  // namespace

TorchNetImpl::TorchNetImpl(const nn::Model& model, TorchNetOptions options)
    : spec_(model.spec()), train_polynomials_(options.train_polynomials) {
  torch::NoGradGuard no_grad;
  const auto& layers = spec_.layers;
  // Batch norm goes after a linear layer directly followed by an activation.
  auto bn_after = [&](std::size_t i) {
    return options.batch_norm && i + 1 < layers.size() && nn::is_activation(layers[i + 1]);
  };
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& layer = layers[i];
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      auto opts = torch::nn::Conv2dOptions(c->in_channels, c->out_channels, {c->kernel_h, c->kernel_w})
                      .stride({c->stride_h, c->stride_w})
                      .padding(std::vector<int64_t>{c->pad_h, c->pad_w})
                      .bias(!c->bias.empty());
      const std::string k = std::to_string(convs_.size() + 1);
      auto m = register_module("conv" + k, torch::nn::Conv2d(opts));
      m->weight.copy_(to_tensor(c->weight, {c->out_channels, c->in_channels, c->kernel_h, c->kernel_w}));
      if (!c->bias.empty()) m->bias.copy_(to_tensor(c->bias, {c->out_channels}));
      convs_.push_back(m);
      conv_bns_.push_back(bn_after(i) ? register_module("conv" + k + "_bn", torch::nn::BatchNorm2d(c->out_channels))
                                      : torch::nn::BatchNorm2d{nullptr});
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      auto opts = torch::nn::LinearOptions(d->in_features, d->out_features).bias(!d->bias.empty());
      const std::string k = std::to_string(denses_.size() + 1);
      auto m = register_module("dense" + k, torch::nn::Linear(opts));
      m->weight.copy_(to_tensor(d->weight, {d->out_features, d->in_features}));
      if (!d->bias.empty()) m->bias.copy_(to_tensor(d->bias, {d->out_features}));
      denses_.push_back(m);
      dense_bns_.push_back(bn_after(i) ? register_module("dense" + k + "_bn", torch::nn::BatchNorm1d(d->out_features))
                                       : torch::nn::BatchNorm1d{nullptr});
    } else if (auto* q = std::get_if<nn::Polynomial>(&layer)) {
      auto t = torch::tensor(at::ArrayRef<double>(q->coefficients), torch::kDouble).to(torch::kFloat);
      const std::string name = "poly" + std::to_string(polys_.size() + 1);
      polys_.push_back(options.train_polynomials ? register_parameter(name, t) : register_buffer(name, t));
    }
  }
}

torch::Tensor TorchNetImpl::forward(torch::Tensor x) { return forward_recording(std::move(x), nullptr, nullptr); }

torch::Tensor TorchNetImpl::forward_recording(torch::Tensor x, std::vector<torch::Tensor>* linear_inputs,
                                              std::vector<torch::Tensor>* linear_outputs) {
  auto record = [&](const torch::Tensor& in, const torch::Tensor& out) {
    if (linear_inputs) linear_inputs->push_back(in);
    if (linear_outputs) linear_outputs->push_back(out);
  };
  std::size_t conv = 0, dense = 0, poly = 0;
  for (const auto& layer : spec_.layers) {
    if (std::holds_alternative<nn::Conv2d>(layer)) {
      torch::Tensor in = x;
      x = convs_[conv]->forward(x);
      record(in, x);
      if (conv_bns_[conv]) x = conv_bns_[conv]->forward(x);
      ++conv;
    } else if (auto* p = std::get_if<nn::AvgPool2d>(&layer)) {
      x = torch::avg_pool2d(x, {p->kernel_h, p->kernel_w}, {p->stride_h, p->stride_w});
    } else if (std::holds_alternative<nn::Flatten>(layer)) {
      x = x.flatten(1);
    } else if (std::holds_alternative<nn::Dense>(layer)) {
      torch::Tensor in = x;
      x = denses_[dense]->forward(x);
      record(in, x);
      if (dense_bns_[dense]) x = dense_bns_[dense]->forward(x);
      ++dense;
    } else if (std::holds_alternative<nn::Square>(layer)) {
      x = x * x;
    } else if (std::holds_alternative<nn::Polynomial>(layer)) {
      if (poly_inputs_) poly_inputs_->push_back(x.detach());
      const torch::Tensor& c = polys_[poly++];
      if (relu_for_polynomials_) {
        x = torch::relu(x);
        continue;
      }
      // Horner's rule on the (possibly trainable) coefficient tensor.
      const int64_t n = c.size(0);
      torch::Tensor acc = torch::zeros_like(x) + c[n - 1];
      for (int64_t k = n - 1; k-- > 0;) acc = acc * x + c[k];
      x = acc;
    } else if (std::holds_alternative<nn::Relu>(layer)) {
      x = torch::relu(x);
    }
  }
  return x;
}

std::vector<torch::Tensor> TorchNetImpl::polynomial_inputs(torch::Tensor x) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  poly_inputs_ = &out;
  try {
    forward(std::move(x));
  } catch (...) {
    poly_inputs_ = nullptr;
    throw;
  }
  poly_inputs_ = nullptr;
  return out;
}

void TorchNetImpl::set_batch_norm_identity(torch::Tensor x) {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  // A linear layer's output depends only on the batch norms before it, so they are set in
  // layer order, each from a forward pass after the ones before it were set.
  std::size_t linear = 0;  // the conv/dense layer's index among them (forward_recording's order)
  auto set = [&](auto& bn, const std::vector<int64_t>& dims) {
    if (!bn) return;
    std::vector<torch::Tensor> outputs;  // every conv/dense output, in layer order
    forward_recording(x, nullptr, &outputs);
    const torch::Tensor& y = outputs[linear];
    const torch::Tensor mean = y.mean(dims), var = y.var(dims, /*unbiased=*/false);
    bn->running_mean.copy_(mean);
    bn->running_var.copy_(var);
    bn->weight.copy_((var + bn->options.eps()).sqrt());
    bn->bias.copy_(mean);
  };
  std::size_t conv = 0, dense = 0;
  for (const auto& layer : spec_.layers) {
    if (std::holds_alternative<nn::Conv2d>(layer)) set(conv_bns_[conv++], {0, 2, 3});
    else if (std::holds_alternative<nn::Dense>(layer)) set(dense_bns_[dense++], {0});
    else continue;
    ++linear;
  }
  train(was_training);
}

void TorchNetImpl::set_polynomial(std::size_t i, const std::vector<double>& coefficients) {
  if (i >= polys_.size() || static_cast<int64_t>(coefficients.size()) != polys_[i].size(0))
    throw Error("set_polynomial: layer " + std::to_string(i) + " of " + std::to_string(polys_.size()) + " with " +
                std::to_string(coefficients.size()) + " coefficients");
  torch::NoGradGuard no_grad;
  polys_[i].copy_(torch::tensor(at::ArrayRef<double>(coefficients), torch::kDouble).to(polys_[i].scalar_type()));
}

nn::Model TorchNetImpl::to_model() const {
  nn::ModelSpec spec = spec_;
  std::size_t conv = 0, dense = 0, poly = 0;
  for (auto& layer : spec.layers) {
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      const auto& m = convs_[conv];
      c->weight = to_vector(m->weight);
      if (!c->bias.empty()) c->bias = to_vector(m->bias);
      if (const auto& bn = conv_bns_[conv]) *c = nn::fold_batch_norm(*c, export_bn(bn));
      ++conv;
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      const auto& m = denses_[dense];
      d->weight = to_vector(m->weight);
      if (!d->bias.empty()) d->bias = to_vector(m->bias);
      if (const auto& bn = dense_bns_[dense]) *d = nn::fold_batch_norm(*d, export_bn(bn));
      ++dense;
    } else if (auto* q = std::get_if<nn::Polynomial>(&layer)) {
      // Fixed coefficients stay exactly the model's (the module holds them in float).
      if (train_polynomials_) q->coefficients = to_vector(polys_[poly]);
      ++poly;
    }
  }
  auto model = nn::Model::create(std::move(spec));
  if (!model) throw Error("export after training: " + model.error() + " (training diverged?)");
  return std::move(model).value();
}

std::vector<double> torch_logits(const nn::Model& model, const float* pixels, std::size_t count,
                                 bool use_double) {
  torch::NoGradGuard no_grad;
  TorchNet net(model);
  net->eval();
  auto shape = model.input_shape();
  auto x = torch::from_blob(const_cast<float*>(pixels),
                            {static_cast<int64_t>(count), shape.channels, shape.height, shape.width},
                            torch::kFloat);
  if (use_double) {
    net->to(torch::kDouble);
    x = x.to(torch::kDouble);
  }
  // Doubles' weights were set from floats; restore them exactly from the model in double.
  if (use_double) {
    std::size_t conv = 0, dense = 0, poly = 0;
    auto params = net->named_parameters();
    auto buffers = net->named_buffers();
    for (const auto& layer : model.layers()) {
      if (auto* q = std::get_if<nn::Polynomial>(&layer))
        buffers["poly" + std::to_string(++poly)].copy_(torch::tensor(at::ArrayRef<double>(q->coefficients), torch::kDouble));
      if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
        std::string n = "conv" + std::to_string(++conv);
        params[n + ".weight"].copy_(torch::tensor(at::ArrayRef<double>(c->weight), torch::kDouble).reshape(params[n + ".weight"].sizes()));
        if (!c->bias.empty()) params[n + ".bias"].copy_(torch::tensor(at::ArrayRef<double>(c->bias), torch::kDouble));
      } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
        std::string n = "dense" + std::to_string(++dense);
        params[n + ".weight"].copy_(torch::tensor(at::ArrayRef<double>(d->weight), torch::kDouble).reshape(params[n + ".weight"].sizes()));
        if (!d->bias.empty()) params[n + ".bias"].copy_(torch::tensor(at::ArrayRef<double>(d->bias), torch::kDouble));
      }
    }
  }
  auto y = net->forward(x).to(torch::kDouble).contiguous();
  return std::vector<double>(y.data_ptr<double>(), y.data_ptr<double>() + y.numel());
}

}  // namespace hemi::train
