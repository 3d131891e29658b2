#include "hemi/nn/interpreter.h"

#include <algorithm>
#include <cmath>

#include "hemi/base/thread_pool.h"

namespace hemi::nn {
namespace {

using Vec = std::vector<double>;

Vec apply_conv(const Conv2d& c, const Vec& x, const TensorShape& in, const TensorShape& out) {
  Vec y(out.size());
  const int H = in.height, W = in.width;
  for (int o = 0; o < c.out_channels; ++o) {
    double b = c.bias.empty() ? 0.0 : c.bias[o];
    for (int i = 0; i < out.height; ++i)
      for (int j = 0; j < out.width; ++j) {
        double acc = b;
        for (int ci = 0; ci < c.in_channels; ++ci)
          for (int u = 0; u < c.kernel_h; ++u) {
            int r = i * c.stride_h + u - c.pad_h;
            if (r < 0 || r >= H) continue;
            for (int v = 0; v < c.kernel_w; ++v) {
              int s = j * c.stride_w + v - c.pad_w;
              if (s < 0 || s >= W) continue;
              acc += c.weight[((static_cast<std::size_t>(o) * c.in_channels + ci) * c.kernel_h + u) * c.kernel_w + v] *
                     x[(static_cast<std::size_t>(ci) * H + r) * W + s];
            }
          }
        y[(static_cast<std::size_t>(o) * out.height + i) * out.width + j] = acc;
      }
  }
  return y;
}

Vec apply_pool(const AvgPool2d& p, const Vec& x, const TensorShape& in, const TensorShape& out) {
  Vec y(out.size());
  const double scale = 1.0 / (p.kernel_h * p.kernel_w);
  for (int c = 0; c < in.channels; ++c)
    for (int i = 0; i < out.height; ++i)
      for (int j = 0; j < out.width; ++j) {
        double acc = 0;
        for (int u = 0; u < p.kernel_h; ++u)
          for (int v = 0; v < p.kernel_w; ++v)
            acc += x[(static_cast<std::size_t>(c) * in.height + i * p.stride_h + u) * in.width + j * p.stride_w + v];
        y[(static_cast<std::size_t>(c) * out.height + i) * out.width + j] = acc * scale;
      }
  return y;
}

Vec apply_dense(const Dense& d, const Vec& x) {
  Vec y(static_cast<std::size_t>(d.out_features));
  for (int o = 0; o < d.out_features; ++o) {
    double acc = d.bias.empty() ? 0.0 : d.bias[o];
    const double* w = d.weight.data() + static_cast<std::size_t>(o) * d.in_features;
    for (int i = 0; i < d.in_features; ++i) acc += w[i] * x[i];
    y[o] = acc;
  }
  return y;
}

Vec apply(const Layer& layer, Vec x, const TensorShape& in, const TensorShape& out) {
  if (auto* c = std::get_if<Conv2d>(&layer)) return apply_conv(*c, x, in, out);
  if (auto* p = std::get_if<AvgPool2d>(&layer)) return apply_pool(*p, x, in, out);
  if (auto* d = std::get_if<Dense>(&layer)) return apply_dense(*d, x);
  if (std::holds_alternative<Square>(layer)) {
    for (double& v : x) v *= v;
    return x;
  }
  if (std::holds_alternative<Relu>(layer)) {
    for (double& v : x) v = v > 0 ? v : 0.0;
    return x;
  }
  if (auto* q = std::get_if<Polynomial>(&layer)) {
    const auto& c = q->coefficients;
    for (double& v : x) {
      double acc = c.back();
      for (std::size_t k = c.size() - 1; k-- > 0;) acc = acc * v + c[k];
      v = acc;
    }
    return x;
  }
  return x;  // flatten: same values, same order
}

template <class T>
Vec run(const Model& model, const T* image, std::vector<Vec>* trace) {
  TensorShape shape = model.input_shape();
  Vec x(image, image + shape.size());
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const TensorShape& out = model.shapes()[i];
    x = apply(model.layers()[i], std::move(x), shape, out);
    HEMI_ASSERT(x.size() == out.size());
    if (trace) trace->push_back(x);
    shape = out;
  }
  return x;
}

}  // namespace

std::vector<double> forward(const Model& model, const float* image) { return run(model, image, nullptr); }
std::vector<double> forward(const Model& model, const double* image) { return run(model, image, nullptr); }

std::vector<std::vector<double>> forward_trace(const Model& model, const double* image) {
  std::vector<Vec> trace;
  run(model, image, &trace);
  return trace;
}

std::vector<double> softmax(const std::vector<double>& logits) {
  if (logits.empty()) return {};
  double m = *std::max_element(logits.begin(), logits.end());
  Vec p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - m);
  for (double& v : p) v /= sum;
  return p;
}

std::vector<double> BatchOutput::probabilities() const {
  Vec out;
  out.reserve(logits.size());
  for (std::size_t i = 0; classes > 0 && i < logits.size(); i += static_cast<std::size_t>(classes)) {
    auto p = softmax(Vec(logits.begin() + static_cast<std::ptrdiff_t>(i),
                         logits.begin() + static_cast<std::ptrdiff_t>(i) + classes));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

BatchOutput forward_batch(const Model& model, const ImageBatch& batch, ThreadPool* pool) {
  TensorShape want = model.input_shape();
  if (batch.shape.channels != want.channels || batch.shape.height != want.height || batch.shape.width != want.width)
    throw Error("forward_batch: images are " + batch.shape.to_string() + ", the model expects " + want.to_string());
  if (batch.count > 0 && batch.pixels == nullptr) throw Error("forward_batch: no pixels");
  BatchOutput out;
  out.classes = model.classes();
  const auto k = static_cast<std::size_t>(out.classes);
  out.logits.assign(batch.count * k, 0.0);
  out.predicted.assign(batch.count, 0);
  auto one = [&](std::size_t i) {
    Vec y = forward(model, batch.pixels + i * want.size());
    std::copy(y.begin(), y.end(), out.logits.begin() + static_cast<std::ptrdiff_t>(i * k));
    out.predicted[i] = static_cast<int>(std::max_element(y.begin(), y.end()) - y.begin());
  };
  if (pool)
    pool->parallel_for(0, batch.count, one);
  else
    for (std::size_t i = 0; i < batch.count; ++i) one(i);
  return out;
}

double accuracy(const BatchOutput& out, const std::vector<int>& labels) {
  if (labels.size() != out.predicted.size())
    throw Error("accuracy: " + std::to_string(labels.size()) + " labels for " + std::to_string(out.predicted.size()) +
                " predictions");
  if (labels.empty()) return 0.0;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) hits += out.predicted[i] == labels[i];
  return static_cast<double>(hits) / static_cast<double>(labels.size());
}

}  // namespace hemi::nn
