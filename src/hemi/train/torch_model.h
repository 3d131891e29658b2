// INTERNAL to the train layer (and its tests): the libtorch module built from an nn::Model.
// This header includes libtorch; nothing outside src/hemi/train and tests/train may include it.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "hemi/nn/model.h"

namespace hemi::train {

// How the module is built beyond the model's own layers.
struct TorchNetOptions {
  // A BatchNorm2d (after conv2d) or BatchNorm1d (after dense) between every linear layer and
  // the activation that follows it (square, polynomial or relu); starts at gamma 1, beta 0.
  // to_model() folds each one (eval-mode running statistics) into its linear layer, so the
  // exported model has no batch norm and computes what the module computes in eval mode.
  bool batch_norm = false;
  // Polynomial coefficients become trainable parameters (else fixed constants).
  bool train_polynomials = false;
};

// A torch module with the same layers and weights as an nn::Model. Conv2d and Dense become
// torch::nn::Conv2d / Linear (trainable); pooling, flatten, square, polynomial and relu are
// functional. forward() takes N x C x H x W and returns N x classes logits.
class TorchNetImpl : public torch::nn::Module {
 public:
  explicit TorchNetImpl(const nn::Model& model, TorchNetOptions options = {});
  torch::Tensor forward(torch::Tensor x);
  // forward() that also records, for every conv2d and dense layer in order, its input and its
  // output (the outputs stay in the autograd graph); for per-example gradients (dp_sgd.cpp).
  torch::Tensor forward_recording(torch::Tensor x, std::vector<torch::Tensor>* linear_inputs,
                                  std::vector<torch::Tensor>* linear_outputs);
  const nn::ModelSpec& spec() const { return spec_; }

  // Warm start (TrainOptions::warm_start_epochs): while set, every polynomial layer computes
  // ReLU instead (its coefficients unused), so the module trains as the ReLU network.
  void set_relu_for_polynomials(bool on) { relu_for_polynomials_ = on; }
  bool relu_for_polynomials() const { return relu_for_polynomials_; }
  std::size_t polynomial_count() const { return polys_.size(); }
  // The input of every polynomial layer, in order, for the batch `x` (no gradient; the
  // module's mode, train or eval, as it is).
  std::vector<torch::Tensor> polynomial_inputs(torch::Tensor x);
  // Sets every batch norm to the identity on the batch `x`: running mean and variance to its
  // input's per-channel mean and (biased) variance over `x`, gamma to sqrt(variance + eps),
  // beta to the mean. Eval-mode batch norm is then exactly the identity and train mode nearly
  // so (for batches like `x`). Layers are set in order, each after the ones before it.
  void set_batch_norm_identity(torch::Tensor x);
  // Overwrites polynomial layer i's coefficients (c0 first; as many as it has).
  void set_polynomial(std::size_t i, const std::vector<double>& coefficients);

  // The model with this module's current weights (structure, input and classes from the
  // model it was built from), batch norm folded in with its running statistics. Throws
  // hemi::Error if training produced NaN/infinite weights.
  nn::Model to_model() const;

 private:
  nn::ModelSpec spec_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::Linear> denses_;
  // Per conv / dense (same index): its batch norm, or an empty holder.
  std::vector<torch::nn::BatchNorm2d> conv_bns_;
  std::vector<torch::nn::BatchNorm1d> dense_bns_;
  std::vector<torch::Tensor> polys_;  // per polynomial layer: its coefficients, c0 first
  bool train_polynomials_ = false;
  bool relu_for_polynomials_ = false;
  std::vector<torch::Tensor>* poly_inputs_ = nullptr;  // set by polynomial_inputs()
};
TORCH_MODULE(TorchNet);

// Logits for a batch of images (count x C x H x W floats) through libtorch, in double
// precision when `use_double`; count x classes values.
std::vector<double> torch_logits(const nn::Model& model, const float* pixels, std::size_t count,
                                 bool use_double);

}  // namespace hemi::train
