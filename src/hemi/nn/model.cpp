#include "hemi/nn/model.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <type_traits>

namespace hemi::nn {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string str(int v) { return std::to_string(v); }

// Output extent of a sliding window, or -1 if the window does not fit.
int window_out(int in, int kernel, int stride, int pad) {
  long long span = static_cast<long long>(in) + 2LL * pad - kernel;
  if (span < 0) return -1;
  return static_cast<int>(span / stride + 1);
}

std::string check_finite(const std::vector<double>& v, const char* what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      return std::string(what) + "[" + std::to_string(i) + "] is not finite (" +
             (std::isnan(v[i]) ? "NaN" : "infinite") + ")";
  return {};
}

bool in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

}  // namespace

std::string TensorShape::to_string() const {
  if (flat) return std::to_string(channels);
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

const char* to_string(ColorMode mode) { return mode == ColorMode::kRgb ? "rgb" : "gray"; }

const char* layer_kind(const Layer& layer) {
  return std::visit(Overloaded{[](const Conv2d&) { return "conv2d"; },
                               [](const AvgPool2d&) { return "avgpool2d"; },
                               [](const Flatten&) { return "flatten"; },
                               [](const Dense&) { return "dense"; },
                               [](const Square&) { return "square"; },
                               [](const Polynomial&) { return "polynomial"; },
                               [](const Relu&) { return "relu"; }},
                    layer);
}

std::size_t parameter_count(const Layer& layer) {
  if (auto* c = std::get_if<Conv2d>(&layer)) return c->weight.size() + c->bias.size();
  if (auto* d = std::get_if<Dense>(&layer)) return d->weight.size() + d->bias.size();
  return 0;
}

bool is_linear(const Layer& layer) {
  return std::holds_alternative<Conv2d>(layer) || std::holds_alternative<Dense>(layer);
}

bool is_activation(const Layer& layer) {
  return std::holds_alternative<Square>(layer) || std::holds_alternative<Polynomial>(layer) ||
         std::holds_alternative<Relu>(layer);
}

std::string plaintext_only_layer(const std::vector<Layer>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (std::holds_alternative<Relu>(layers[i])) return "layer " + std::to_string(i + 1) + " (relu)";
  return {};
}

std::string plaintext_only_reason(const std::vector<Layer>& layers) {
  std::string at = plaintext_only_layer(layers);
  if (at.empty()) return {};
  return at + " is not a polynomial: ReLU models are plaintext only (the accuracy reference); train with "
              "--activation square or poly for encrypted inference";
}

int pure_power_squarings(const Polynomial& p) {
  const int d = p.degree();
  if (d < 1 || (d & (d - 1)) != 0 || p.coefficients[static_cast<std::size_t>(d)] != 1.0) return -1;
  for (int i = 1; i < d; ++i)
    if (p.coefficients[static_cast<std::size_t>(i)] != 0.0) return -1;
  return std::countr_zero(static_cast<unsigned>(d));
}

int layer_depth(const Layer& layer) {
  return std::visit(Overloaded{[](const Conv2d&) { return 1; },
                               [](const AvgPool2d&) { return 1; },
                               [](const Flatten&) { return 0; },
                               [](const Dense&) { return 1; },
                               [](const Square&) { return 1; },
                               [](const Polynomial& p) {
                                 if (int j = pure_power_squarings(p); j >= 0) return j;
                                 int d = p.degree();
                                 if (d <= 0) return 0;
                                 int log = 0;
                                 while ((1 << log) < d) ++log;
                                 return log + 1;
                               },
                               [](const Relu&) { return 0; }},
                    layer);
}

Result<TensorShape> infer_shape(const Layer& layer, const TensorShape& in) {
  using R = Result<TensorShape>;
  return std::visit(
      Overloaded{
          [&](const Conv2d& c) -> R {
            if (in.flat) return R::failure("needs a C x H x W input, previous layer gives a flat " + in.to_string());
            if (!in_range(c.in_channels, 1, kMaxDimension) || !in_range(c.out_channels, 1, kMaxDimension))
              return R::failure("channels " + str(c.in_channels) + " -> " + str(c.out_channels) + " out of range [1, " + str(kMaxDimension) + "]");
            if (!in_range(c.kernel_h, 1, kMaxKernel) || !in_range(c.kernel_w, 1, kMaxKernel) ||
                !in_range(c.stride_h, 1, kMaxKernel) || !in_range(c.stride_w, 1, kMaxKernel) ||
                !in_range(c.pad_h, 0, kMaxKernel) || !in_range(c.pad_w, 0, kMaxKernel))
              return R::failure("kernel " + str(c.kernel_h) + "x" + str(c.kernel_w) + ", stride " + str(c.stride_h) + "x" + str(c.stride_w) + ", padding " + str(c.pad_h) + "x" + str(c.pad_w) + " out of range");
            if (c.in_channels != in.channels)
              return R::failure("expects " + str(c.in_channels) + " input channels, previous layer gives " + str(in.channels) + " (" + in.to_string() + ")");
            int oh = window_out(in.height, c.kernel_h, c.stride_h, c.pad_h);
            int ow = window_out(in.width, c.kernel_w, c.stride_w, c.pad_w);
            if (oh < 1 || ow < 1)
              return R::failure("kernel " + str(c.kernel_h) + "x" + str(c.kernel_w) + " does not fit the input " + in.to_string() + " with padding " + str(c.pad_h) + "x" + str(c.pad_w));
            return TensorShape{c.out_channels, oh, ow, false};
          },
          [&](const AvgPool2d& p) -> R {
            if (in.flat) return R::failure("needs a C x H x W input, previous layer gives a flat " + in.to_string());
            if (!in_range(p.kernel_h, 1, kMaxKernel) || !in_range(p.kernel_w, 1, kMaxKernel) ||
                !in_range(p.stride_h, 1, kMaxKernel) || !in_range(p.stride_w, 1, kMaxKernel))
              return R::failure("kernel " + str(p.kernel_h) + "x" + str(p.kernel_w) + ", stride " + str(p.stride_h) + "x" + str(p.stride_w) + " out of range");
            int oh = window_out(in.height, p.kernel_h, p.stride_h, 0);
            int ow = window_out(in.width, p.kernel_w, p.stride_w, 0);
            if (oh < 1 || ow < 1)
              return R::failure("kernel " + str(p.kernel_h) + "x" + str(p.kernel_w) + " does not fit the input " + in.to_string());
            return TensorShape{in.channels, oh, ow, false};
          },
          [&](const Flatten&) -> R {
            if (in.size() > static_cast<std::size_t>(kMaxDimension) * kMaxDimension)
              return R::failure("input " + in.to_string() + " is too large");
            return TensorShape{static_cast<int>(in.size()), 1, 1, true};
          },
          [&](const Dense& d) -> R {
            if (!in_range(d.in_features, 1, kMaxDimension * kMaxDimension) || !in_range(d.out_features, 1, kMaxDimension))
              return R::failure("features " + str(d.in_features) + " -> " + str(d.out_features) + " out of range");
            if (!in.flat) return R::failure("needs a flat input (add a flatten layer), previous layer gives " + in.to_string());
            if (static_cast<std::size_t>(d.in_features) != in.size())
              return R::failure("expects " + str(d.in_features) + " inputs, previous layer gives " + std::to_string(in.size()));
            return TensorShape{d.out_features, 1, 1, true};
          },
          [&](const Square&) -> R { return in; },
          [&](const Relu&) -> R { return in; },
          [&](const Polynomial& p) -> R {
            if (p.coefficients.empty()) return R::failure("has no coefficients");
            if (p.degree() > kMaxPolynomialDegree)
              return R::failure("degree " + str(p.degree()) + " exceeds " + str(kMaxPolynomialDegree));
            return in;
          }},
      layer);
}

namespace {

// Weight sizes and values; shapes were checked by infer_shape.
std::string check_weights(const Layer& layer) {
  if (auto* c = std::get_if<Conv2d>(&layer)) {
    std::size_t want = static_cast<std::size_t>(c->out_channels) * c->in_channels * c->kernel_h * c->kernel_w;
    if (want > kMaxParameters) return "has too many weights (" + std::to_string(want) + ")";
    if (c->weight.size() != want)
      return "weight has " + std::to_string(c->weight.size()) + " values, expected " + std::to_string(want) +
             " (" + str(c->out_channels) + "x" + str(c->in_channels) + "x" + str(c->kernel_h) + "x" + str(c->kernel_w) + ")";
    if (!c->bias.empty() && c->bias.size() != static_cast<std::size_t>(c->out_channels))
      return "bias has " + std::to_string(c->bias.size()) + " values, expected " + str(c->out_channels);
    if (auto e = check_finite(c->weight, "weight"); !e.empty()) return e;
    return check_finite(c->bias, "bias");
  }
  if (auto* d = std::get_if<Dense>(&layer)) {
    std::size_t want = static_cast<std::size_t>(d->out_features) * d->in_features;
    if (want > kMaxParameters) return "has too many weights (" + std::to_string(want) + ")";
    if (d->weight.size() != want)
      return "weight has " + std::to_string(d->weight.size()) + " values, expected " + std::to_string(want) +
             " (" + str(d->out_features) + "x" + str(d->in_features) + ")";
    if (!d->bias.empty() && d->bias.size() != static_cast<std::size_t>(d->out_features))
      return "bias has " + std::to_string(d->bias.size()) + " values, expected " + str(d->out_features);
    if (auto e = check_finite(d->weight, "weight"); !e.empty()) return e;
    return check_finite(d->bias, "bias");
  }
  if (auto* p = std::get_if<Polynomial>(&layer)) {
    if (auto e = check_finite(p->coefficients, "coefficient"); !e.empty()) return e;
    if (p->coefficients.size() > 1 && p->coefficients.back() == 0.0)
      return "leading coefficient is zero (degree " + str(p->degree()) + " declared)";
  }
  return {};
}

}  // namespace

Result<Model> Model::create(ModelSpec spec) {
  using R = Result<Model>;
  const InputSpec& in = spec.input;
  if (in.color != ColorMode::kGray && in.color != ColorMode::kRgb)
    return R::failure("model: input color mode " + std::to_string(static_cast<int>(in.color)) + " is neither gray (1) nor rgb (3)");
  if (!in_range(in.height, 1, kMaxDimension) || !in_range(in.width, 1, kMaxDimension))
    return R::failure("model: input size " + str(in.height) + "x" + str(in.width) + " out of range [1, " + str(kMaxDimension) + "]");
  auto channels = static_cast<std::size_t>(in.channels());
  if (in.mean.size() != channels || in.std.size() != channels)
    return R::failure("model: input normalization needs " + std::to_string(channels) + " mean and std values (" +
                      to_string(in.color) + "), got " + std::to_string(in.mean.size()) + " and " + std::to_string(in.std.size()));
  if (auto e = check_finite(in.mean, "input mean"); !e.empty()) return R::failure("model: " + e);
  if (auto e = check_finite(in.std, "input std"); !e.empty()) return R::failure("model: " + e);
  for (double s : in.std)
    if (!(s > 0)) return R::failure("model: input std must be positive, got " + std::to_string(s));
  if (spec.layers.empty()) return R::failure("model: has no layers");
  if (spec.layers.size() > static_cast<std::size_t>(kMaxLayers))
    return R::failure("model: too many layers (" + std::to_string(spec.layers.size()) + ")");
  if (spec.class_names.empty() || spec.class_names.size() > static_cast<std::size_t>(kMaxClasses))
    return R::failure("model: needs between 1 and " + str(kMaxClasses) + " class names, got " + std::to_string(spec.class_names.size()));

  std::vector<TensorShape> shapes;
  shapes.reserve(spec.layers.size());
  TensorShape shape = in.shape();
  std::size_t total = 0;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const Layer& layer = spec.layers[i];
    std::string prefix = "model: layer " + std::to_string(i + 1) + " (" + layer_kind(layer) + "): ";
    auto next = infer_shape(layer, shape);
    if (!next) return R::failure(prefix + next.error());
    if (auto e = check_weights(layer); !e.empty()) return R::failure(prefix + e);
    total += nn::parameter_count(layer);
    if (total > kMaxParameters) return R::failure("model: too many parameters (" + std::to_string(total) + ")");
    shape = next.value();
    shapes.push_back(shape);
  }
  if (!shape.flat)
    return R::failure("model: the last layer gives " + shape.to_string() + "; the output must be flat (end with flatten or dense)");
  if (shape.size() != spec.class_names.size())
    return R::failure("model: the network gives " + std::to_string(shape.size()) + " outputs but there are " +
                      std::to_string(spec.class_names.size()) + " class names");
  return Model(std::move(spec), std::move(shapes));
}

std::size_t Model::parameter_count() const {
  std::size_t n = 0;
  for (const auto& l : spec_.layers) n += nn::parameter_count(l);
  return n;
}

int Model::multiplicative_depth() const {
  int d = 0;
  for (const auto& l : spec_.layers) d += layer_depth(l);
  return d;
}

std::string Model::describe() const {
  std::ostringstream os;
  const InputSpec& in = spec_.input;
  os << "architecture: " << (spec_.architecture.empty() ? "(unnamed)" : spec_.architecture) << "\n";
  os << "input: " << to_string(in.color) << " " << in.height << "x" << in.width << " (" << input_shape().to_string()
     << "), normalize mean [";
  for (std::size_t c = 0; c < in.mean.size(); ++c) os << (c ? ", " : "") << in.mean[c];
  os << "] std [";
  for (std::size_t c = 0; c < in.std.size(); ++c) os << (c ? ", " : "") << in.std[c];
  os << "]\n";
  os << "classes (" << classes() << "):";
  for (std::size_t i = 0; i < spec_.class_names.size() && i < 20; ++i) os << " " << spec_.class_names[i];
  if (spec_.class_names.size() > 20) os << " ...";
  os << "\nlayers:\n";
  // Columns as wide as their longest entry (a polynomial's coefficients can be long).
  std::vector<std::string> whats, outs;
  std::size_t what_w = 10, out_w = 6;
  for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
    const Layer& l = spec_.layers[i];
    std::string what = layer_kind(l);
    if (auto* c = std::get_if<Conv2d>(&l))
      what += " " + str(c->in_channels) + "->" + str(c->out_channels) + " k" + str(c->kernel_h) + "x" + str(c->kernel_w) +
              " s" + str(c->stride_h) + "x" + str(c->stride_w) + " p" + str(c->pad_h) + "x" + str(c->pad_w);
    else if (auto* p = std::get_if<AvgPool2d>(&l))
      what += " k" + str(p->kernel_h) + "x" + str(p->kernel_w) + " s" + str(p->stride_h) + "x" + str(p->stride_w);
    else if (auto* d = std::get_if<Dense>(&l))
      what += " " + str(d->in_features) + "->" + str(d->out_features);
    else if (auto* q = std::get_if<Polynomial>(&l)) {
      std::ostringstream cs;
      cs << " degree " << q->degree() << " [";
      for (std::size_t k = 0; k < q->coefficients.size(); ++k) cs << (k ? ", " : "") << q->coefficients[k];
      cs << "]";
      what += cs.str();
    }
    whats.push_back(what);
    outs.push_back(shapes_[i].to_string());
    what_w = std::max(what_w, what.size());
    out_w = std::max(out_w, outs.back().size());
  }
  for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
    const Layer& l = spec_.layers[i];
    os << "  " << std::setw(2) << i + 1 << "  " << std::left << std::setw(static_cast<int>(what_w)) << whats[i]
       << " -> " << std::setw(static_cast<int>(out_w)) << outs[i] << " params " << std::setw(8)
       << nn::parameter_count(l) << " depth " << layer_depth(l) << std::right << "\n";
  }
  os << "parameters: " << parameter_count() << "\n";
  os << "multiplicative depth: " << multiplicative_depth() << "\n";
  if (!spec_.data) {
    os << "trained on: not recorded (a format-1 file, or not trained by hemi): no split record\n";
  } else {
    const DataRecord& d = *spec_.data;
    os << "trained on: " << d.dataset << " (" << d.identity.substr(0, 23) << "...)\n";
    if (d.split_mode == "named")
      os << "split: train on '" << d.train_split << "', held out '" << d.test_split << "'";
    else
      os << "split: fraction " << d.train_fraction << " of "
         << (d.train_split.empty() ? std::string("every image") : "'" + d.train_split + "'") << ", seed " << d.seed;
    os << "; " << d.train_images << " training, " << d.test_images << " held-out images"
       << (d.train_limit ? " (training images sampled to " + std::to_string(d.train_limit) + ")" : std::string())
       << "; duplicates " << (d.kept_cross_duplicates ? "kept" : "dropped") << "\n";
  }
  return os.str();
}

namespace {

std::vector<double> bn_scale(const BatchNorm& bn, std::size_t outputs, const char* what) {
  if (bn.gamma.size() != outputs || bn.beta.size() != outputs || bn.running_mean.size() != outputs ||
      bn.running_var.size() != outputs)
    throw Error(std::string("fold_batch_norm: batch norm has ") + std::to_string(bn.gamma.size()) + " gamma, " +
                std::to_string(bn.beta.size()) + " beta, " + std::to_string(bn.running_mean.size()) + " mean, " +
                std::to_string(bn.running_var.size()) + " var values; the " + what + " has " +
                std::to_string(outputs) + " outputs");
  std::vector<double> s(outputs);
  for (std::size_t o = 0; o < outputs; ++o) {
    double v = bn.running_var[o] + bn.eps;
    if (!(v > 0) || !std::isfinite(v))
      throw Error("fold_batch_norm: running_var + eps must be positive, got " + std::to_string(v) + " for output " +
                  std::to_string(o));
    s[o] = bn.gamma[o] / std::sqrt(v);
  }
  return s;
}

template <class L>
void fold_into(L& layer, std::size_t outputs, const BatchNorm& bn, const char* what) {
  auto s = bn_scale(bn, outputs, what);
  if (layer.weight.size() % outputs != 0) throw Error(std::string("fold_batch_norm: ") + what + " weight size is not a multiple of its outputs");
  std::size_t per = layer.weight.size() / outputs;
  for (std::size_t o = 0; o < outputs; ++o)
    for (std::size_t k = 0; k < per; ++k) layer.weight[o * per + k] *= s[o];
  if (layer.bias.empty()) layer.bias.assign(outputs, 0.0);
  if (layer.bias.size() != outputs) throw Error(std::string("fold_batch_norm: ") + what + " bias size does not match its outputs");
  for (std::size_t o = 0; o < outputs; ++o)
    layer.bias[o] = (layer.bias[o] - bn.running_mean[o]) * s[o] + bn.beta[o];
}

}  // namespace

Conv2d fold_batch_norm(const Conv2d& conv, const BatchNorm& bn) {
  Conv2d out = conv;
  fold_into(out, static_cast<std::size_t>(conv.out_channels), bn, "conv2d");
  return out;
}

Dense fold_batch_norm(const Dense& dense, const BatchNorm& bn) {
  Dense out = dense;
  fold_into(out, static_cast<std::size_t>(dense.out_features), bn, "dense");
  return out;
}

}  // namespace hemi::nn
