// INTERNAL to the train layer (and its tests): the libtorch module built from an nn::Model.
// This header includes libtorch; nothing outside src/hemi/train and tests/train may include it.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "hemi/nn/model.h"

namespace hemi::train {

// A torch module with the same layers and weights as an nn::Model. Conv2d and Dense become
// torch::nn::Conv2d / Linear (trainable); pooling, flatten, square and polynomial are
// functional. forward() takes N x C x H x W and returns N x classes logits.
class TorchNetImpl : public torch::nn::Module {
 public:
  explicit TorchNetImpl(const nn::Model& model);
  torch::Tensor forward(torch::Tensor x);
  // forward() that also records, for every conv2d and dense layer in order, its input and its
  // output (the outputs stay in the autograd graph); for per-example gradients (dp_sgd.cpp).
  torch::Tensor forward_recording(torch::Tensor x, std::vector<torch::Tensor>* linear_inputs,
                                  std::vector<torch::Tensor>* linear_outputs);
  const nn::ModelSpec& spec() const { return spec_; }

  // The model with this module's current weights (structure, input and classes from the
  // model it was built from). Throws hemi::Error if training produced NaN/infinite weights.
  nn::Model to_model() const;

 private:
  nn::ModelSpec spec_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::Linear> denses_;
};
TORCH_MODULE(TorchNet);

// Logits for a batch of images (count x C x H x W floats) through libtorch, in double
// precision when `use_double`; count x classes values.
std::vector<double> torch_logits(const nn::Model& model, const float* pixels, std::size_t count,
                                 bool use_double);

}  // namespace hemi::train
