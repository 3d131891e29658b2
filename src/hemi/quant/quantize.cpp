#include "hemi/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <variant>

namespace hemi::quant {

namespace {

constexpr long double kMaxBound = 0x1p125L;

// A linear layer as rows over the flat input (channel-major), in real weights.
struct RealRows {
  std::vector<std::vector<std::uint32_t>> index;
  std::vector<std::vector<double>> weight;
  std::vector<double> bias;
};

RealRows conv_rows(const nn::Conv2d& c, const nn::TensorShape& in, const nn::TensorShape& out) {
  RealRows r;
  for (int o = 0; o < c.out_channels; ++o)
    for (int i = 0; i < out.height; ++i)
      for (int j = 0; j < out.width; ++j) {
        std::vector<std::uint32_t> idx;
        std::vector<double> w;
        for (int ch = 0; ch < c.in_channels; ++ch)
          for (int u = 0; u < c.kernel_h; ++u)
            for (int v = 0; v < c.kernel_w; ++v) {
              const int y = i * c.stride_h + u - c.pad_h, x = j * c.stride_w + v - c.pad_w;
              if (y < 0 || x < 0 || y >= in.height || x >= in.width) continue;  // zero padding
              idx.push_back(static_cast<std::uint32_t>((ch * in.height + y) * in.width + x));
              w.push_back(c.weight[((static_cast<std::size_t>(o) * c.in_channels + ch) * c.kernel_h + u) * c.kernel_w + v]);
            }
        r.index.push_back(std::move(idx));
        r.weight.push_back(std::move(w));
        r.bias.push_back(c.bias.empty() ? 0.0 : c.bias[o]);
      }
  return r;
}

RealRows dense_rows(const nn::Dense& d) {
  RealRows r;
  for (int o = 0; o < d.out_features; ++o) {
    std::vector<std::uint32_t> idx(d.in_features);
    std::vector<double> w(d.in_features);
    for (int i = 0; i < d.in_features; ++i) {
      idx[i] = static_cast<std::uint32_t>(i);
      w[i] = d.weight[static_cast<std::size_t>(o) * d.in_features + i];
    }
    r.index.push_back(std::move(idx));
    r.weight.push_back(std::move(w));
    r.bias.push_back(d.bias.empty() ? 0.0 : d.bias[o]);
  }
  return r;
}

std::vector<Row> pool_rows(const nn::AvgPool2d& p, const nn::TensorShape& in, const nn::TensorShape& out) {
  std::vector<Row> rows;
  for (int ch = 0; ch < out.channels; ++ch)
    for (int i = 0; i < out.height; ++i)
      for (int j = 0; j < out.width; ++j) {
        Row r;
        for (int u = 0; u < p.kernel_h; ++u)
          for (int v = 0; v < p.kernel_w; ++v) {
            r.index.push_back(static_cast<std::uint32_t>((ch * in.height + i * p.stride_h + u) * in.width + j * p.stride_w + v));
            r.weight.push_back(1);
          }
        rows.push_back(std::move(r));
      }
  return rows;
}

// round(x) for |x| < 2^125 (llroundl stops at 2^63): the two 64-bit halves of |round(x)|.
i128 round_i128(long double x) {
  const long double r = std::fabs(std::roundl(x));
  const long double two64 = 0x1p64L;
  const auto hi = static_cast<std::uint64_t>(std::floor(r / two64));
  const auto lo = static_cast<std::uint64_t>(r - static_cast<long double>(hi) * two64);
  const i128 v = (static_cast<i128>(hi) << 64) | lo;
  return x < 0 ? -v : v;
}

}  // namespace

long double QuantizedModel::max_bound() const {
  long double m = input_levels;
  for (const auto& op : ops) m = std::max(m, op.bound);
  return m;
}

Result<QuantizedModel> quantize(const nn::Model& model, const QuantOptions& options) {
  using R = Result<QuantizedModel>;
  if (auto why = nn::plaintext_only_reason(model.layers()); !why.empty()) return R::failure(why);
  if (options.weight_bits < 2 || options.weight_bits > 24)
    return R::failure("weight bits " + std::to_string(options.weight_bits) + " outside [2, 24]");
  if (options.input_bits < 1 || options.input_bits > 8)
    return R::failure("input bits " + std::to_string(options.input_bits) + " outside [1, 8]");
  const long double w_max_int = std::ldexp(1.0L, options.weight_bits - 1) - 1;
  QuantizedModel qm;
  qm.weight_bits = options.weight_bits;
  qm.input_levels = (1 << options.input_bits) - 1;
  const double levels = qm.input_levels;
  qm.input_size = model.input_shape().size();
  qm.classes = model.classes();
  const nn::InputSpec& spec = model.input();
  const int in_h = spec.height, in_w = spec.width;
  // The scale and per-neuron bound of the current activations.
  long double scale = 1;
  std::vector<long double> bound(qm.input_size, static_cast<long double>(levels));
  bool first_linear = true;
  nn::TensorShape shape = model.input_shape();
  for (std::size_t li = 0; li < model.layers().size(); ++li) {
    const nn::Layer& layer = model.layers()[li];
    const nn::TensorShape out = model.shapes()[li];
    const std::string name = std::string(nn::layer_kind(layer)) + " " + std::to_string(li + 1);
    QOp op;
    op.name = name;
    op.inputs = shape.size();
    op.outputs = out.size();
    if (std::holds_alternative<nn::Flatten>(layer)) {
      shape = out;
      continue;
    }
    if (std::holds_alternative<nn::Polynomial>(layer))
      return R::failure(name + ": polynomial activations are not supported under BFV (use x², as seed-cnn and lenet-1 do)");
    if (std::holds_alternative<nn::Square>(layer)) {
      op.kind = QOp::Kind::kSquare;
      op.scale = scale * scale;
      for (auto& b : bound) b = b * b;
    } else if (auto* p = std::get_if<nn::AvgPool2d>(&layer)) {
      op.rows = pool_rows(*p, shape, out);
      // The sum of the window is the mean times kh kw: the scale grows by kh kw.
      op.scale = scale * p->kernel_h * p->kernel_w;
      op.l1_max = static_cast<long double>(p->kernel_h) * p->kernel_w;
    } else {
      RealRows rr = std::holds_alternative<nn::Conv2d>(layer) ? conv_rows(std::get<nn::Conv2d>(layer), shape, out)
                                                               : dense_rows(std::get<nn::Dense>(layer));
      if (first_linear) {
        // Fold (p/L - mean_c) / std_c into the weights: w' = w / (L std_c) on the integer
        // input p, bias' = b - sum w mean_c / std_c.
        const std::size_t plane = static_cast<std::size_t>(in_h) * in_w;
        if (auto* c = std::get_if<nn::Conv2d>(&layer); c && (c->pad_h || c->pad_w)) {
          for (double m : spec.mean)
            if (m != 0) return R::failure(name + ": a padded first layer cannot absorb a nonzero input mean exactly");
        }
        for (std::size_t o = 0; o < rr.weight.size(); ++o)
          for (std::size_t k = 0; k < rr.weight[o].size(); ++k) {
            const std::size_t ch = rr.index[o][k] / plane;
            const double sd = spec.std[ch], mean = spec.mean[ch];
            rr.bias[o] -= rr.weight[o][k] * mean / sd;
            rr.weight[o][k] /= levels * sd;
          }
        first_linear = false;
      }
      double max_w = 0;
      for (auto& ws : rr.weight)
        for (double w : ws) max_w = std::max(max_w, std::fabs(w));
      if (max_w == 0) max_w = 1;
      const long double s_w = w_max_int / max_w;
      op.scale = scale * s_w;
      for (std::size_t o = 0; o < rr.weight.size(); ++o) {
        Row row;
        row.index = rr.index[o];
        long double l1 = 0;
        for (double w : rr.weight[o]) {
          const std::int64_t wi = std::llroundl(static_cast<long double>(w) * s_w);
          row.weight.push_back(wi);
          l1 += std::fabs(static_cast<long double>(wi));
        }
        const long double b = static_cast<long double>(rr.bias[o]) * op.scale;
        if (std::fabs(b) >= kMaxBound) return R::failure(name + ": bias exceeds 2^125 at scale 2^" + std::to_string(static_cast<double>(std::log2(op.scale))));
        row.bias = round_i128(b);
        op.l1_max = std::max(op.l1_max, l1);
        op.rows.push_back(std::move(row));
      }
    }
    if (op.kind == QOp::Kind::kLinear) {
      std::vector<long double> next(op.rows.size());
      for (std::size_t o = 0; o < op.rows.size(); ++o) {
        const Row& row = op.rows[o];
        long double s = std::fabs(static_cast<long double>(row.bias));
        for (std::size_t k = 0; k < row.index.size(); ++k) s += std::fabs(static_cast<long double>(row.weight[k])) * bound[row.index[k]];
        next[o] = s;
      }
      bound = std::move(next);
    }
    for (long double b : bound) op.bound = std::max(op.bound, b);
    // A margin of one part in 2^40 over long double rounding keeps the bound a bound.
    op.bound = op.bound * (1 + 0x1p-40L) + 1;
    if (op.bound >= kMaxBound)
      return R::failure(name + ": intermediate values reach 2^" + std::to_string(static_cast<double>(std::log2(op.bound))) +
                        ", beyond the 2^125 the integer evaluation holds: use fewer weight bits (now " +
                        std::to_string(options.weight_bits) + ")");
    scale = op.scale;
    shape = out;
    qm.ops.push_back(std::move(op));
  }
  if (qm.ops.empty() || qm.ops.back().kind != QOp::Kind::kLinear)
    return R::failure("the model must end with a linear layer");
  return qm;
}

std::vector<std::int64_t> to_inputs(const QuantizedModel& qm, const nn::Model& model, const float* image) {
  const nn::InputSpec& spec = model.input();
  const std::size_t plane = static_cast<std::size_t>(spec.height) * spec.width, size = model.input_shape().size();
  if (size != qm.input_size) throw Error("to_inputs: the model and its quantized form differ in input size");
  std::vector<std::int64_t> out(size);
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t ch = i / plane;
    // The pixel byte first (exact for 8-bit images), then the L + 1 levels.
    const double byte = std::nearbyint((static_cast<double>(image[i]) * spec.std[ch] + spec.mean[ch]) * 255.0);
    out[i] = std::clamp<std::int64_t>(std::llround(byte * qm.input_levels / 255.0), 0, qm.input_levels);
  }
  return out;
}

std::vector<i128> forward_int(const QuantizedModel& qm, const std::vector<std::int64_t>& input) {
  if (input.size() != qm.input_size)
    throw Error("forward_int: " + std::to_string(input.size()) + " inputs, the model takes " + std::to_string(qm.input_size));
  std::vector<i128> x(input.begin(), input.end());
  for (const QOp& op : qm.ops) {
    if (op.kind == QOp::Kind::kSquare) {
      for (auto& v : x) v *= v;
      continue;
    }
    std::vector<i128> y(op.rows.size());
    for (std::size_t o = 0; o < op.rows.size(); ++o) {
      i128 s = op.rows[o].bias;
      for (std::size_t k = 0; k < op.rows[o].index.size(); ++k) s += static_cast<i128>(op.rows[o].weight[k]) * x[op.rows[o].index[k]];
      y[o] = s;
    }
    x = std::move(y);
  }
  return x;
}

}  // namespace hemi::quant
