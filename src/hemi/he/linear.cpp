#include "hemi/he/linear.h"

#include <variant>

#include "hemi/base/error.h"

namespace hemi::he {

std::size_t SparseMatrix::nonzeros() const {
  std::size_t n = 0;
  for (auto& r : index) n += r.size();
  return n;
}

namespace {

SparseMatrix conv_matrix(const nn::Conv2d& c, const nn::TensorShape& in) {
  const int oh = (in.height + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1;
  const int ow = (in.width + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1;
  SparseMatrix m;
  m.rows = static_cast<std::size_t>(c.out_channels) * oh * ow;
  m.cols = in.size();
  m.index.resize(m.rows);
  m.weight.resize(m.rows);
  m.bias.assign(m.rows, 0.0);
  for (int o = 0; o < c.out_channels; ++o)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const std::size_t row = (static_cast<std::size_t>(o) * oh + y) * ow + x;
        if (!c.bias.empty()) m.bias[row] = c.bias[o];
        for (int ci = 0; ci < c.in_channels; ++ci)
          for (int u = 0; u < c.kernel_h; ++u)
            for (int v = 0; v < c.kernel_w; ++v) {
              const int iy = y * c.stride_h + u - c.pad_h, ix = x * c.stride_w + v - c.pad_w;
              if (iy < 0 || ix < 0 || iy >= in.height || ix >= in.width) continue;  // zero padding
              const double w = c.weight[((static_cast<std::size_t>(o) * c.in_channels + ci) * c.kernel_h + u) * c.kernel_w + v];
              if (w == 0) continue;
              m.index[row].push_back(static_cast<std::uint32_t>((static_cast<std::size_t>(ci) * in.height + iy) * in.width + ix));
              m.weight[row].push_back(w);
            }
      }
  return m;
}

SparseMatrix pool_matrix(const nn::AvgPool2d& p, const nn::TensorShape& in) {
  const int oh = (in.height - p.kernel_h) / p.stride_h + 1;
  const int ow = (in.width - p.kernel_w) / p.stride_w + 1;
  SparseMatrix m;
  m.rows = static_cast<std::size_t>(in.channels) * oh * ow;
  m.cols = in.size();
  m.index.resize(m.rows);
  m.weight.resize(m.rows);
  m.bias.assign(m.rows, 0.0);
  const double w = 1.0 / (p.kernel_h * p.kernel_w);
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const std::size_t row = (static_cast<std::size_t>(c) * oh + y) * ow + x;
        for (int u = 0; u < p.kernel_h; ++u)
          for (int v = 0; v < p.kernel_w; ++v) {
            m.index[row].push_back(static_cast<std::uint32_t>(
                (static_cast<std::size_t>(c) * in.height + y * p.stride_h + u) * in.width + x * p.stride_w + v));
            m.weight[row].push_back(w);
          }
      }
  return m;
}

SparseMatrix dense_matrix(const nn::Dense& d) {
  SparseMatrix m;
  m.rows = static_cast<std::size_t>(d.out_features);
  m.cols = static_cast<std::size_t>(d.in_features);
  m.index.resize(m.rows);
  m.weight.resize(m.rows);
  m.bias.assign(m.rows, 0.0);
  for (std::size_t o = 0; o < m.rows; ++o) {
    if (!d.bias.empty()) m.bias[o] = d.bias[o];
    for (std::size_t i = 0; i < m.cols; ++i) {
      const double w = d.weight[o * m.cols + i];
      if (w == 0) continue;
      m.index[o].push_back(static_cast<std::uint32_t>(i));
      m.weight[o].push_back(w);
    }
  }
  return m;
}

}  // namespace

ConvGeometry geometry_of(const nn::Conv2d& c) {
  return {c.in_channels, c.out_channels, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w};
}

std::vector<std::int64_t> im2col_gather(const ConvGeometry& c, const nn::TensorShape& in) {
  const int oh = (in.height + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1;
  const int ow = (in.width + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1;
  if (oh < 1 || ow < 1 || c.in_channels != in.channels) throw Error("im2col: convolution does not fit the input");
  const std::size_t positions = static_cast<std::size_t>(oh) * ow;
  const std::size_t offsets = static_cast<std::size_t>(c.in_channels) * c.kernel_h * c.kernel_w;
  std::vector<std::int64_t> gather(offsets * positions, -1);
  for (int ci = 0; ci < c.in_channels; ++ci)
    for (int u = 0; u < c.kernel_h; ++u)
      for (int v = 0; v < c.kernel_w; ++v) {
        const std::size_t k = (static_cast<std::size_t>(ci) * c.kernel_h + u) * c.kernel_w + v;
        for (int y = 0; y < oh; ++y)
          for (int x = 0; x < ow; ++x) {
            const int iy = y * c.stride_h + u - c.pad_h, ix = x * c.stride_w + v - c.pad_w;
            if (iy < 0 || ix < 0 || iy >= in.height || ix >= in.width) continue;
            gather[k * positions + static_cast<std::size_t>(y) * ow + x] =
                (static_cast<std::int64_t>(ci) * in.height + iy) * in.width + ix;
          }
      }
  return gather;
}

std::optional<Im2col> im2col_first_layer(const nn::Model& model, std::size_t max_values) {
  if (model.layers().empty()) return std::nullopt;
  const auto* c = std::get_if<nn::Conv2d>(&model.layers()[0]);
  if (!c) return std::nullopt;
  const nn::TensorShape in = model.input_shape();
  const int oh = (in.height + 2 * c->pad_h - c->kernel_h) / c->stride_h + 1;
  const int ow = (in.width + 2 * c->pad_w - c->kernel_w) / c->stride_w + 1;
  const std::size_t positions = static_cast<std::size_t>(oh) * ow;
  const std::size_t offsets = static_cast<std::size_t>(c->in_channels) * c->kernel_h * c->kernel_w;
  if (offsets * positions > max_values) return std::nullopt;
  Im2col r;
  r.gather = im2col_gather(geometry_of(*c), in);
  SparseMatrix& m = r.matrix;
  m.rows = static_cast<std::size_t>(c->out_channels) * positions;
  m.cols = offsets * positions;
  m.index.resize(m.rows);
  m.weight.resize(m.rows);
  m.bias.assign(m.rows, 0.0);
  for (int o = 0; o < c->out_channels; ++o)
    for (std::size_t p = 0; p < positions; ++p) {
      const std::size_t row = static_cast<std::size_t>(o) * positions + p;
      if (!c->bias.empty()) m.bias[row] = c->bias[o];
      for (std::size_t k = 0; k < offsets; ++k) {
        const double w = c->weight[static_cast<std::size_t>(o) * offsets + k];
        if (w == 0 || r.gather[k * positions + p] < 0) continue;
        m.index[row].push_back(static_cast<std::uint32_t>(k * positions + p));
        m.weight[row].push_back(w);
      }
    }
  return r;
}

SparseMatrix linear_matrix(const nn::Layer& layer, const nn::TensorShape& in) {
  if (auto* c = std::get_if<nn::Conv2d>(&layer)) return conv_matrix(*c, in);
  if (auto* p = std::get_if<nn::AvgPool2d>(&layer)) return pool_matrix(*p, in);
  if (auto* d = std::get_if<nn::Dense>(&layer)) return dense_matrix(*d);
  throw Error(std::string("linear_matrix: ") + nn::layer_kind(layer) + " is not a linear layer");
}

}  // namespace hemi::he
