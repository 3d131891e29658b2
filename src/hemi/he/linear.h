// Linear layers (Conv2d, AvgPool2d, Dense) as sparse matrices over the flattened C × H × W
// activations: row o lists the inputs output o reads and their weights. Both packings compile
// from this one form, so a convolution with any channels, kernel, stride and padding, at any
// position, is just a matrix.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::he {

struct SparseMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<std::vector<std::uint32_t>> index;  // per row: input indices, ascending
  std::vector<std::vector<double>> weight;        // per row: the weights
  std::vector<double> bias;                       // per row (zero if the layer has none)

  std::size_t nonzeros() const;
};

// The matrix of a linear layer applied to an input of shape `in`; throws hemi::Error for a
// layer that is not linear.
SparseMatrix linear_matrix(const nn::Layer& layer, const nn::TensorShape& in);

// Client-side im2col for a first convolution (latency packing): the client encrypts the
// expanded input e[k * P + p] = x[input value under kernel offset k at output position p]
// (P output positions, K = in_channels * kh * kw offsets; zero where the kernel meets padding),
// and the convolution becomes `matrix` over e, whose entries lie on only K + out_channels - 1
// generalized diagonals (column - row = (k - o) * P) instead of hundreds.
// The shape of a convolution, without weights: all the client needs to expand its input.
struct ConvGeometry {
  int in_channels = 1, out_channels = 1, kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};
ConvGeometry geometry_of(const nn::Conv2d& c);
// expanded index k * P + p -> input index, or -1 where the kernel meets zero padding.
std::vector<std::int64_t> im2col_gather(const ConvGeometry& g, const nn::TensorShape& in);

struct Im2col {
  SparseMatrix matrix;                // the first convolution over the expanded input
  std::vector<std::int64_t> gather;   // expanded index -> input index, or -1 (zero padding)
};
// nullopt unless layer 0 is a convolution whose expanded input has at most max_values values.
std::optional<Im2col> im2col_first_layer(const nn::Model& model, std::size_t max_values);

}  // namespace hemi::he
