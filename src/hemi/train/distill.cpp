#include "hemi/train/distill.h"

namespace hemi::train {

torch::Tensor distillation_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& labels,
                                const Distillation& d, const torch::nn::functional::CrossEntropyFuncOptions& ce) {
  const double t = d.temperature;
  torch::Tensor hard = torch::nn::functional::cross_entropy(student, labels, ce);
  torch::Tensor log_p_student = torch::log_softmax(student / t, 1);
  torch::Tensor log_p_teacher = torch::log_softmax(teacher.detach() / t, 1);
  torch::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1).mean();
  return (1 - d.alpha) * hard + d.alpha * t * t * kl;
}

}  // namespace hemi::train
