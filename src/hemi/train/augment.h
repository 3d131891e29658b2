// INTERNAL to the train layer (and its tests; includes libtorch): data augmentation of a
// training batch (recipe.h, Augmentation) and the gradient-norm clip.
#pragma once

#include <torch/torch.h>

#include "hemi/train/recipe.h"

namespace hemi::train {

// `x` (N x C x H x W) with each image transformed independently as `a` says, drawing from
// `gen` only: the same generator state gives the same batch. Shape, order (and so labels)
// are kept. Returns `x` itself when a.any() is false.
torch::Tensor augment(const torch::Tensor& x, const Augmentation& a, at::Generator& gen);

// Scales `grad` in place so that its L2 norm is at most `max_norm` (> 0), as
// torch.nn.utils.clip_grad_norm_ does for all parameters at once. Returns the norm before.
double clip_gradient_norm(torch::Tensor& grad, double max_norm);

}  // namespace hemi::train
