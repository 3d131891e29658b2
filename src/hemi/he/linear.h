// Linear layers (Conv2d, AvgPool2d, Dense) as sparse matrices over the flattened C × H × W
// activations: row o lists the inputs output o reads and their weights. Both packings compile
// from this one form, so a convolution with any channels, kernel, stride and padding, at any
// position, is just a matrix.
#pragma once

#include <cstdint>
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

}  // namespace hemi::he
