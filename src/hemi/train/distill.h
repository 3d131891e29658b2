// INTERNAL to the train layer (and its tests; includes libtorch): the knowledge-distillation
// loss (recipe.h, Distillation).
#pragma once

#include <torch/torch.h>

#include "hemi/train/recipe.h"

namespace hemi::train {

// (1 − alpha) · cross_entropy(student, labels, ce) + alpha · T² · KL(softmax(teacher/T) ‖
// softmax(student/T)), the KL summed over classes and averaged over the batch. The teacher's
// logits carry no gradient. d.enabled is not consulted.
torch::Tensor distillation_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& labels,
                                const Distillation& d,
                                const torch::nn::functional::CrossEntropyFuncOptions& ce = {});

}  // namespace hemi::train
