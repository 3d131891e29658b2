// Folding quadratic activations into their neighbouring linear layers: a model-to-model
// rewrite with the same function (up to rounding) that saves one CKKS level per activation.
//
// A quadratic p(y) = a y² + b y + c with a ≠ 0 equals a·((y + s)² + k), with s = b / (2a) and
// k = (c − b² / (4a)) / a. The rewrite moves each part into a neighbour:
//  - the shift s is added to every bias of the conv2d or dense layer before the activation
//    (average poolings and flattens in between keep a constant a constant). Exact, also at a
//    zero-padded convolution's borders: the bias is added after the convolution;
//  - the factor a multiplies the weights of the conv2d or dense layer after it (poolings and a
//    flatten in between are linear; zero padding stays zero);
//  - the constant k: when the next linear layer reads no padding (a dense layer, or a
//    convolution without padding) every output sums all its weights times k, so k·Σ weights is
//    added to its bias and the activation becomes a plain square. A padded convolution's
//    border outputs read padding instead of k, so there the sum would depend on the position:
//    the activation becomes the polynomial k + y², a square and the addition of a constant.
// Under CKKS the original costs two levels (y², then a plaintext coefficient); the rewritten
// one costs one (nn::layer_depth of k + y² is 1).
//
// An activation is kept as it is, with the reason, when
//  - it is not a polynomial of degree 2 (x², higher degrees, relu);
//  - no conv2d or dense layer precedes it, or none follows it, with only average poolings and
//    flattens in between (e.g. the first layer, two activations in a row, the last layer);
//  - the rewrite would cost precision: on the pre-activation range |y| <= input_range, the
//    values handed to the next layer, (y + s)² (+ k), would be more than 2^max_lost_bits times
//    larger than the original's p(y). This happens for a tiny |a| (hence a large shift): the
//    next layer's weights, now a times smaller, are encoded with the same absolute precision,
//    so the product loses those bits. The range is an assumption (pre-activations after batch
//    norm are near a standard normal), not a measurement.
//
// Pure function of the model; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::nn {

struct ActivationFoldOptions {
  double input_range = 4.0;    // |y| <= this before each activation (an assumption)
  double max_lost_bits = 8.0;  // refuse a rewrite that magnifies the carried values more
};

// What happened to one polynomial activation.
struct ActivationFoldNote {
  std::size_t layer = 0;  // the activation's index (the rewritten model has the same layers)
  bool folded = false;
  double shift = 0, factor = 1, constant = 0;  // s, a, k (folded, or computed before refusing)
  bool constant_kept = false;                  // folded, the activation is k + y² (k ≠ 0)
  double lost_bits = 0;                        // log2 of the magnification (0 if none)
  std::string text;  // "folded: (y + 1.28)² − 0.7, ..." or "kept (two levels): <reason>"
};

struct ActivationFold {
  Model model;  // the rewritten model (the input model when nothing is folded)
  std::vector<ActivationFoldNote> notes;  // one per polynomial activation, in layer order
  std::size_t folded() const;             // how many were folded
};

// Throws hemi::Error only for options out of range (input_range <= 0, max_lost_bits < 0).
ActivationFold fold_quadratic_activations(const Model& model, const ActivationFoldOptions& options = {});

}  // namespace hemi::nn
