// Integer quantization of an HE-friendly model (conv, dense, average pooling, flatten, x²) for
// exact evaluation under BFV, and the proof that no intermediate value wraps modulo the
// plaintext modulus.
//
// The quantized network works on integers only:
//  - inputs are integers p in [0, L], L = 2^input_bits - 1: with 8 bits the image's pixel
//    bytes (recovered exactly from the normalized pixels of data::ImageSet, so the input
//    quantization is exact), with fewer bits the bytes rounded to L levels; the input
//    normalization (p/L - mean) / std is folded into the first linear layer;
//  - each linear layer's weights are scaled by s_w = (2^(weight_bits-1) - 1) / max |w| and
//    rounded; its bias is rounded at the layer's output scale s_in * s_w, so the layer is
//    exact in integers; no rescaling happens anywhere (BFV cannot divide);
//  - average pooling is a sum (the 1/(kh kw) goes into the scale), x² squares the scale.
// Every value therefore carries a scale: value_real ~ value_int / scale. Per neuron, the
// bound |value_int| <= sum_k |w_k| B_k + |b| (linear) and B^2 (square) holds for every input
// in [0, L]; its maximum over the network is what the plaintext modulus (or the product of
// several, recombined by the CRT) must exceed twice over. The bounds use the actual weights.
// Immutable after quantize(); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/nn/model.h"

namespace hemi::quant {

using i128 = __int128;

struct QuantOptions {
  int weight_bits = 8;  // |w_int| <= 2^(weight_bits-1) - 1, per layer; in [2, 24]
  int input_bits = 8;   // inputs in [0, 2^input_bits - 1]; 8 = the pixel bytes; in [1, 8]
};

// One output neuron of a linear op: sum of weight * input[index], plus bias.
struct Row {
  std::vector<std::uint32_t> index;
  std::vector<std::int64_t> weight;
  i128 bias = 0;
};

struct QOp {
  enum class Kind { kLinear, kSquare } kind = Kind::kLinear;
  std::string name;          // "conv2d 1", "square 2", "avgpool2d 3", "dense 4"
  std::vector<Row> rows;     // linear ops
  std::size_t inputs = 0, outputs = 0;
  long double scale = 1;     // value_int / value_real at the output
  long double bound = 0;     // max |value_int| over outputs and all inputs in [0, L]
  long double l1_max = 0;    // max_row sum |w| (linear ops): the noise growth of the row
};

struct QuantizedModel {
  std::vector<QOp> ops;
  std::size_t input_size = 0;
  int classes = 0;
  int weight_bits = 0;
  int input_levels = 255;  // L: inputs are integers in [0, L]
  long double max_bound() const;  // over the inputs and every op's outputs
  long double output_scale() const { return ops.back().scale; }
};

// Refuses polynomial activations, a padded first layer under a nonzero mean, and networks
// whose bound exceeds 2^125 (the integer interpreter's __int128), with the reason.
Result<QuantizedModel> quantize(const nn::Model& model, const QuantOptions& options = {});

// The integer input of one normalized image (data::ImageSet layout): its pixel bytes, rounded
// to the nearest of the L + 1 levels.
std::vector<std::int64_t> to_inputs(const QuantizedModel& qm, const nn::Model& model, const float* image);

// The exact integer forward pass (the oracle for the BFV evaluation): logits as integers.
std::vector<i128> forward_int(const QuantizedModel& qm, const std::vector<std::int64_t>& input);

}  // namespace hemi::quant
