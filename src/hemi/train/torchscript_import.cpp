#include "hemi/train/torchscript_import.h"

#include <torch/script.h>

#include <filesystem>

namespace hemi::train {
namespace {

std::string first_line(const char* s) {
  std::string t(s);
  auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(0, nl);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto d = t.detach().to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

class Importer {
 public:
  Importer(std::string what, const ImportOptions& options) : what_(std::move(what)), shape_(options.input.shape()) {}

  void add(const std::string& name, const torch::jit::Module& m) {
    name_ = name;
    type_ = m.type()->name() ? m.type()->name()->name() : std::string("?");
    if (type_ == "Conv2d") return conv(m);
    if (type_ == "Linear") return linear(m);
    if (type_ == "AvgPool2d") return pool(m);
    if (type_ == "Flatten") return flatten(m);
    if (type_ == "BatchNorm2d" || type_ == "BatchNorm1d") return batch_norm(m);
    if (type_ == "Dropout" || type_ == "Dropout2d" || type_ == "Identity") return;
    elementwise(m);
  }

  std::vector<nn::Layer> take() { return std::move(layers_); }
  const nn::TensorShape& shape() const { return shape_; }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": layer '" + name_ + "' (" + type_ + "): " + why);
  }
  [[noreturn]] void unsupported(const std::string& why) const {
    throw Error(what_ + ": unsupported layer '" + name_ + "' (" + type_ + ")" + (why.empty() ? "" : ": " + why));
  }

  c10::IValue attr(const torch::jit::Module& m, const char* field) const {
    if (!m.hasattr(field)) fail(std::string("has no attribute '") + field + "'");
    return m.attr(field);
  }

  // An int or a pair of ints (PyTorch's _pair), as (h, w).
  std::pair<int, int> pair(const c10::IValue& v, const char* field) const {
    if (v.isInt()) return {static_cast<int>(v.toInt()), static_cast<int>(v.toInt())};
    std::vector<int64_t> xs;
    if (v.isIntList()) {
      xs = v.toIntVector();
    } else if (v.isTuple()) {
      for (const auto& e : v.toTupleRef().elements()) {
        if (!e.isInt()) fail(std::string(field) + " is not a tuple of ints");
        xs.push_back(e.toInt());
      }
    } else {
      fail(std::string(field) + " is neither an int nor a pair of ints");
    }
    if (xs.size() == 1) return {static_cast<int>(xs[0]), static_cast<int>(xs[0])};
    if (xs.size() != 2) fail(std::string(field) + " has " + std::to_string(xs.size()) + " values, expected 2");
    return {static_cast<int>(xs[0]), static_cast<int>(xs[1])};
  }

  void push(nn::Layer layer) {
    auto next = nn::infer_shape(layer, shape_);
    if (!next) fail(next.error());
    shape_ = next.value();
    layers_.push_back(std::move(layer));
  }

  void conv(const torch::jit::Module& m) {
    nn::Conv2d c;
    auto w = attr(m, "weight").toTensor();
    if (w.dim() != 4) fail("weight is not 4-dimensional");
    c.out_channels = static_cast<int>(w.size(0));
    c.in_channels = static_cast<int>(w.size(1));
    c.kernel_h = static_cast<int>(w.size(2));
    c.kernel_w = static_cast<int>(w.size(3));
    if (m.hasattr("groups") && m.attr("groups").toInt() != 1) unsupported("groups != 1");
    if (m.hasattr("dilation") && pair(m.attr("dilation"), "dilation") != std::pair<int, int>{1, 1})
      unsupported("dilation != 1");
    if (m.hasattr("padding_mode") && m.attr("padding_mode").toStringRef() != "zeros")
      unsupported("padding_mode '" + m.attr("padding_mode").toStringRef() + "'");
    std::tie(c.stride_h, c.stride_w) = pair(attr(m, "stride"), "stride");
    auto pad = attr(m, "padding");
    if (pad.isString()) {
      if (pad.toStringRef() == "valid") {
        c.pad_h = c.pad_w = 0;
      } else if (pad.toStringRef() == "same" && c.stride_h == 1 && c.stride_w == 1 && c.kernel_h % 2 == 1 &&
                 c.kernel_w % 2 == 1) {
        c.pad_h = c.kernel_h / 2;
        c.pad_w = c.kernel_w / 2;
      } else {
        unsupported("padding '" + pad.toStringRef() + "'");
      }
    } else {
      std::tie(c.pad_h, c.pad_w) = pair(pad, "padding");
    }
    c.weight = to_vector(w);
    auto b = attr(m, "bias");
    if (!b.isNone()) c.bias = to_vector(b.toTensor());
    push(std::move(c));
  }

  void linear(const torch::jit::Module& m) {
    if (!shape_.flat) push(nn::Flatten{});  // the module flattened in forward()
    nn::Dense d;
    auto w = attr(m, "weight").toTensor();
    if (w.dim() != 2) fail("weight is not 2-dimensional");
    d.out_features = static_cast<int>(w.size(0));
    d.in_features = static_cast<int>(w.size(1));
    d.weight = to_vector(w);
    auto b = attr(m, "bias");
    if (!b.isNone()) d.bias = to_vector(b.toTensor());
    push(std::move(d));
  }

  void pool(const torch::jit::Module& m) {
    nn::AvgPool2d p;
    std::tie(p.kernel_h, p.kernel_w) = pair(attr(m, "kernel_size"), "kernel_size");
    auto stride = attr(m, "stride");
    bool no_stride = stride.isNone() || (stride.isIntList() && stride.toIntVector().empty()) ||
                     (stride.isTuple() && stride.toTupleRef().elements().empty());
    if (no_stride) {
      p.stride_h = p.kernel_h;
      p.stride_w = p.kernel_w;
    } else {
      std::tie(p.stride_h, p.stride_w) = pair(stride, "stride");
    }
    if (m.hasattr("padding") && pair(m.attr("padding"), "padding") != std::pair<int, int>{0, 0})
      unsupported("padding != 0");
    if (m.hasattr("ceil_mode") && m.attr("ceil_mode").toBool()) unsupported("ceil_mode");
    if (m.hasattr("divisor_override") && !m.attr("divisor_override").isNone()) unsupported("divisor_override");
    push(p);
  }

  void flatten(const torch::jit::Module& m) {
    if (m.hasattr("start_dim") && m.attr("start_dim").toInt() != 1) unsupported("start_dim != 1");
    if (m.hasattr("end_dim") && m.attr("end_dim").toInt() != -1) unsupported("end_dim != -1");
    if (!shape_.flat) push(nn::Flatten{});
  }

  void batch_norm(const torch::jit::Module& m) {
    if (layers_.empty() || !nn::is_linear(layers_.back()))
      fail("does not directly follow a conv2d or linear layer, so it cannot be folded");
    auto mean = attr(m, "running_mean");
    auto var = attr(m, "running_var");
    if (mean.isNone() || var.isNone()) unsupported("no running statistics (track_running_stats=False)");
    nn::BatchNorm bn;
    bn.running_mean = to_vector(mean.toTensor());
    bn.running_var = to_vector(var.toTensor());
    auto n = bn.running_mean.size();
    auto g = m.hasattr("weight") ? m.attr("weight") : c10::IValue();
    auto b = m.hasattr("bias") ? m.attr("bias") : c10::IValue();
    bn.gamma = g.isNone() ? std::vector<double>(n, 1.0) : to_vector(g.toTensor());
    bn.beta = b.isNone() ? std::vector<double>(n, 0.0) : to_vector(b.toTensor());
    bn.eps = attr(m, "eps").toDouble();
    try {
      if (auto* c = std::get_if<nn::Conv2d>(&layers_.back()))
        *c = nn::fold_batch_norm(*c, bn);
      else
        std::get<nn::Dense>(layers_.back()) = nn::fold_batch_norm(std::get<nn::Dense>(layers_.back()), bn);
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  // Parameter-free element-wise modules, recognized by what their forward computes.
  void elementwise(const torch::jit::Module& m) {
    if (m.parameters().size() != 0 || !m.find_method("forward")) unsupported("");
    std::vector<int64_t> dims = {1, shape_.channels};
    if (!shape_.flat) {
      dims.push_back(shape_.height);
      dims.push_back(shape_.width);
    }
    auto x = torch::linspace(-2.5, 2.5, static_cast<int64_t>(shape_.size()), torch::kFloat).reshape(dims);
    torch::Tensor y;
    try {
      y = const_cast<torch::jit::Module&>(m).forward({x}).toTensor();
    } catch (const std::exception&) {
      unsupported("its forward() fails on a " + shape_.to_string() + " input");
    }
    if (y.sizes() != x.sizes()) unsupported("");
    nn::Layer layer = nn::Square{};
    torch::Tensor want = x * x;
    if (m.hasattr("coefficients")) {
      auto cv = m.attr("coefficients");
      nn::Polynomial p;
      if (cv.isTensor())
        p.coefficients = to_vector(cv.toTensor());
      else if (cv.isDoubleList())
        p.coefficients = cv.toDoubleVector();
      else
        fail("coefficients is neither a tensor nor a list of floats");
      if (p.coefficients.empty()) fail("has no coefficients");
      want = torch::full_like(x, p.coefficients.back());
      for (std::size_t k = p.coefficients.size() - 1; k-- > 0;) want = want * x + p.coefficients[k];
      layer = p;
    }
    if (!torch::allclose(y.to(torch::kFloat), want, 1e-4, 1e-5))
      unsupported(std::holds_alternative<nn::Square>(layer) ? "" : "its forward() is not the polynomial of its coefficients");
    push(std::move(layer));
  }

  std::string what_;
  nn::TensorShape shape_;
  std::vector<nn::Layer> layers_;
  std::string name_, type_;
};

}  // namespace

nn::Model import_torchscript(const std::string& path, const ImportOptions& options) {
  const std::string what = "torchscript '" + path + "'";
  if (!std::filesystem::is_regular_file(path)) throw Error(what + ": no such file");
  torch::jit::Module root;
  try {
    root = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw Error(what + ": cannot load (" + first_line(e.what()) + ")");
  }
  root.eval();
  torch::NoGradGuard no_grad;
  Importer importer(what, options);
  try {
    for (const auto& item : root.named_modules()) {
      if (item.name.empty() || item.value.children().size() != 0) continue;  // the root, containers
      importer.add(item.name, item.value);
    }
  } catch (const c10::Error& e) {
    throw Error(what + ": " + first_line(e.what()));
  }
  nn::ModelSpec spec;
  spec.architecture = options.architecture.empty()
                          ? "torchscript:" + std::filesystem::path(path).filename().string()
                          : options.architecture;
  spec.input = options.input;
  spec.layers = importer.take();
  if (spec.layers.empty()) throw Error(what + ": has no layers that hemi knows");
  spec.class_names = options.class_names;
  if (spec.class_names.empty())
    for (std::size_t i = 0; i < importer.shape().size(); ++i) spec.class_names.push_back(std::to_string(i));
  auto model = nn::Model::create(std::move(spec));
  if (!model) throw Error(what + ": " + model.error());
  return std::move(model).value();
}

}  // namespace hemi::train
