// The plaintext reference interpreter: runs a Model in double precision, one image at a time,
// exactly as the layer definitions in model.h say (no fusion, no reordering). It is the
// oracle for the encrypted evaluation and for the libtorch forward pass.
// Cost: O(multiply-adds of the network) per image. Thread-safety: pure functions; a batch may
// be spread over a ThreadPool.
#pragma once

#include <cstddef>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi {
class ThreadPool;
}

namespace hemi::nn {

// Logits for one image of model.input_shape().size() values (C × H × W, already normalized).
std::vector<double> forward(const Model& model, const float* image);
std::vector<double> forward(const Model& model, const double* image);

// The output of every layer for one image: trace[i] is layer i's output, trace.back() the
// logits. For range analysis (e.g. the interval a polynomial activation must cover).
std::vector<std::vector<double>> forward_trace(const Model& model, const double* image);

// Numerically stable softmax.
std::vector<double> softmax(const std::vector<double>& logits);

// A batch of images laid out like data::ImageSet: count images of shape.size() floats each.
struct ImageBatch {
  const float* pixels = nullptr;
  std::size_t count = 0;
  TensorShape shape;
};

struct BatchOutput {
  int classes = 0;
  std::vector<double> logits;     // count × classes
  std::vector<int> predicted;     // argmax per image
  std::vector<double> probabilities() const;  // softmax per image, count × classes
};

// Throws hemi::Error if the batch's image shape is not the model's input shape.
BatchOutput forward_batch(const Model& model, const ImageBatch& batch, ThreadPool* pool = nullptr);

// Fraction of predictions equal to labels (sizes must match).
double accuracy(const BatchOutput& out, const std::vector<int>& labels);

}  // namespace hemi::nn
